#!/usr/bin/env python3
"""Draws the operations dashboard as the synthesized CDK template defines it: each widget at its
grid position, with its title and the series it plots. The README shows the result, so what it
shows is what deploys.

  dashboard_picture.py TEMPLATE OUT.svg           write the picture
  dashboard_picture.py TEMPLATE OUT.svg --check   exit 1 if OUT.svg is not what TEMPLATE draws
"""
import html
import json
import sys

CELL = 48  # pixels per dashboard grid unit (the grid is 24 units wide)
LINE = 17
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def body(template):
    dash = next(r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard")
    raw = dash["Properties"]["DashboardBody"]
    parts = [raw] if isinstance(raw, str) else raw["Fn::Join"][1]
    names = {"DeliveryDlq": "<delivery DLQ>", "EventsDlq": "<events DLQ>", "PushQueue": "<push queue>"}
    def text(part):
        if isinstance(part, str):
            return part
        ref = json.dumps(part)
        return next((v for k, v in names.items() if k in ref), "<token>")
    return json.loads("".join(text(p) for p in parts))


def series(metric):
    """A widget series' legend: its label, else its expression or metric name."""
    options = metric[-1] if isinstance(metric[-1], dict) else {}
    if options.get("label"):
        return options["label"]
    if "expression" in options:
        expr = options["expression"]
        name = expr.split('MetricName="')[1].split('"')[0] if 'MetricName="' in expr else expr
        return f"{name}, one line per stream"
    return metric[1]


def draw(dashboard):
    widgets = dashboard["widgets"]
    width = 24 * CELL
    height = max(w["y"] + w["height"] for w in widgets) * CELL
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
           f'<rect width="{width}" height="{height}" fill="#f2f3f3"/>']
    for w in widgets:
        x, y = w["x"] * CELL + 4, w["y"] * CELL + 4
        wd, ht = w["width"] * CELL - 8, w["height"] * CELL - 8
        p = w["properties"]
        out.append(f'<rect x="{x}" y="{y}" width="{wd}" height="{ht}" rx="4" fill="#ffffff" stroke="#d5dbdb"/>')
        out.append(f'<text x="{x + 10}" y="{y + 22}" font-size="13" font-weight="bold" fill="#16191f">'
                   f'{html.escape(p["title"])}</text>')
        out.append(f'<text x="{x + 10}" y="{y + 40}" font-size="11" fill="#687078">'
                   f'{html.escape(p.get("stat", ""))} per {p.get("period", 300)} s</text>')
        # The plot area, with its axis; the legend lists the series the widget plots.
        px, py, pw, ph = x + 10, y + 50, wd - 20, ht - 60 - LINE * len(p["metrics"])
        out.append(f'<line x1="{px}" y1="{py + ph}" x2="{px + pw}" y2="{py + ph}" stroke="#aab7b8"/>')
        out.append(f'<line x1="{px}" y1="{py}" x2="{px}" y2="{py + ph}" stroke="#aab7b8"/>')
        for i, metric in enumerate(p["metrics"]):
            colour = PALETTE[i % len(PALETTE)]
            ly = py + ph + 14 + i * LINE
            out.append(f'<rect x="{px}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>')
            out.append(f'<text x="{px + 16}" y="{ly}" font-size="11" fill="#16191f">'
                       f'{html.escape(series(metric))}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    template_path, out_path = sys.argv[1], sys.argv[2]
    with open(template_path) as f:
        picture = draw(body(json.load(f)))
    if "--check" in sys.argv:
        with open(out_path) as f:
            if f.read() != picture:
                print(f"{out_path} is not what the template draws: run make dashboard-picture")
                sys.exit(1)
        print(f"{out_path}: drawn from the synthesized dashboard")
        return
    with open(out_path, "w") as f:
        f.write(picture)
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
