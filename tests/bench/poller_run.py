#!/usr/bin/env python3
"""Whole-process benchmarks of the poller (issue 9), run by `make bench-process` and
`make bench-budget` inside tests/local/with-stack.sh (moto is up, its env exported).

  poller_run.py process [--events 100000]
      The poller's code path as a release process (`okta-relay-ctl run`) collects a backlog from
      the release simulator into moto, under /usr/bin/time -v. Reports the poller's CPU
      seconds, peak RSS and wall time, and the CPU the simulator and moto spent meanwhile
      (what the poller's wall time was waiting on).

  poller_run.py budget [--events 500000] [--seconds 120] [--time-scale 2] [--page-size 10]
                       [--other N]
      The same runner against a simulator whose System Log bucket allows 120 requests per
      (simulated) minute, time-scaled, with the default 10 % reserve, optionally while another
      integration with its own token reads the System Log N times per window. Reports the
      relay's requests per window against the ceiling (120 × 0.9) and the 429s by client.

Nothing here asserts a speed: the figures go to BENCHMARKS.md by hand, with this command.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import shutil
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "local"))
import stack  # noqa: E402

# The binaries measured: the release build (`make bench-build`); BENCH_TARGET_DIR names another
# (the slow-bus figure is latency-bound, so a debug build gives the same counts).
RELEASE = os.environ.get("BENCH_TARGET_DIR") or os.path.join(ROOT, "target", "release")
LOG_BUCKET = "/api/v1/logs"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """user + sys CPU of a process and its reaped children, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def start_sim(token_file, events, extra):
    cmd = [
        os.path.join(RELEASE, "okta-sim"),
        "--token-file", token_file,
        "--backlog-events", str(events),
        "--backlog-hours", "20",
        "--users", "50",
        *extra,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on (\S+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"okta-sim did not start: {line!r}")
    return proc, m.group(1)


def sim_get(url, path):
    with urllib.request.urlopen(url + "/__sim" + path, timeout=30) as r:
        return json.load(r)


def sim_post(url, path, body):
    req = urllib.request.Request(
        url + "/__sim" + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req, timeout=30).close()


def moto_pid():
    with open(os.path.join(ROOT, ".local", "moto.pid")) as f:
        return int(f.read().strip())


def provision(endpoint, sim_url, work, prefix):
    """An isolated table and delivery bus. The capture rule is removed: the run measures the
    relay's PutEvents, not moto's fan-out to SQS (the SIEM side is an API destination)."""
    res = stack.provision(endpoint, prefix, orgs=[f"bench={sim_url}"], token_dir=work)
    events = stack.clients(endpoint)["events"]
    events.remove_targets(Rule=f"{prefix}-to-siem", EventBusName=res["delivery_bus"], Ids=["capture"])
    return res


def deployed_allocator():
    """The allocator settings every deployment path gives the functions (infra/contract.json)."""
    with open(os.path.join(ROOT, "infra", "contract.json")) as f:
        return json.load(f)["allocator_environment"]


def poller_env(res, org_extra):
    org = {"name": "bench", "secret_arn": res["org_secrets"]["bench"], **(org_extra or {})}
    # A short deadline margin: the run's length is what is measured, not a Lambda's wind-down.
    config = {"allow_loopback_http": True, "max_run_seconds": 900, "deadline_margin_seconds": 2, "orgs": [org]}
    env = dict(os.environ)
    env.update({k: os.environ.get(k, v) for k, v in deployed_allocator().items()})
    env.update(
        OKTA_RELAY_STATE_TABLE=res["state_table"],
        OKTA_RELAY_DELIVERY_BUS=res["delivery_bus"],
        OKTA_RELAY_CONFIG=json.dumps(config),
        RUST_LOG="warn",
    )
    return env


def run_poller(env, seconds, work):
    """Runs `okta-relay-ctl run` (the poller's code path) under /usr/bin/time -v; returns
    (outcomes, time fields, wall)."""
    time_out = os.path.join(work, "time.txt")
    started = time.monotonic()
    out = subprocess.run(
        # BENCH_WRAP="perf record -g -o .local/bench/perf.data --" profiles the poller.
        ["/usr/bin/time", "-v", "-o", time_out, *os.environ.get("BENCH_WRAP", "").split(),
         os.path.join(RELEASE, "okta-relay-ctl"),
         "run", "--seconds", str(seconds), "--owner", "bench-runner"],
        env=env, stdout=subprocess.PIPE, stderr=open(os.path.join(work, "poller.log"), "w"),
        text=True, check=True,
    )
    wall = time.monotonic() - started
    fields = {}
    for line in open(time_out):
        key, _, value = line.strip().rpartition(": ")
        fields[key] = value
    return json.loads(out.stdout), fields, wall


def log_outcome(outcomes):
    return next(o for o in outcomes if o["stream"] == "logs")


class Setup:
    """A release simulator with the backlog, an isolated moto table and bus, and the org's
    token (generated by provision, written 0600, handed to the simulator): nothing printed."""

    def __init__(self, work, prefix, events, sim_args, config=None):
        self.sim = None
        bootstrap = os.path.join(work, "bootstrap.token")
        with open(bootstrap, "w") as f:
            f.write("bootstrap-token-unused")
        self.sim, self.url = start_sim(bootstrap, events, sim_args)
        prefix = f"{prefix}{int(time.time())}"
        self.res = provision(os.environ["AWS_ENDPOINT_URL"], self.url, work, prefix)
        with open(os.path.join(work, f"{prefix}-bench.token")) as f:
            sim_post(self.url, "/tokens", {"add": [f.read().strip()]})
        self.env = poller_env(self.res, config)

    def close(self):
        if self.sim:
            self.sim.kill()
            self.sim.wait()


def process(args, work):
    setup = Setup(work, "bench", args.events, [])
    try:
        moto, sim_pid = moto_pid(), setup.sim.pid
        moto0, sim0 = cpu_seconds(moto), cpu_seconds(sim_pid)
        outcomes, t, wall = run_poller(setup.env, 900, work)
        moto_cpu, sim_cpu = cpu_seconds(moto) - moto0, cpu_seconds(sim_pid) - sim0
    finally:
        setup.close()
    log = log_outcome(outcomes)
    user, system = float(t["User time (seconds)"]), float(t["System time (seconds)"])
    rss_mib = int(t["Maximum resident set size (kbytes)"]) / 1024
    forwarded = log.get("forwarded", 0)
    scale = 100_000 / max(forwarded, 1)
    print(json.dumps(log, indent=2), file=sys.stderr)
    print(f"""
whole-process run: {args.events} backlog events, page size 1000, release okta-relay-ctl run (the poller's code path)
  forwarded                 {forwarded}  (error: {log.get('error')})
  wall                      {wall:.1f} s  ({forwarded / wall:.0f} events/s)
  poller CPU user + sys     {user:.2f} + {system:.2f} s = {(user + system) * scale:.2f} s per 100 000 events
  poller peak RSS           {rss_mib:.1f} MiB
  simulator CPU meanwhile   {sim_cpu:.1f} s
  moto CPU meanwhile        {moto_cpu:.1f} s  (DynamoDB + EventBridge, one Python process)
  poller waiting (wall − poller CPU)  {wall - user - system:.1f} s = {100 * (wall - user - system) / wall:.0f} % of wall
""")


class OtherIntegration:
    """A second client of the org (its own token) reading the System Log at a steady pace:
    `per_window` real requests per rate-limit window, spread evenly. Counts its own 429s, so
    the simulator's total tells which 429s were the relay's."""

    def __init__(self, url, token, per_window, window):
        self.url, self.token, self.every = url, token, window / per_window
        self.ok = self.throttled = 0
        self.stop = threading.Event()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        req = urllib.request.Request(
            self.url + LOG_BUCKET + "?limit=1", headers={"Authorization": f"SSWS {self.token}"}
        )
        while not self.stop.wait(self.every):
            try:
                urllib.request.urlopen(req, timeout=10).close()
                self.ok += 1
            except urllib.error.HTTPError as e:
                self.throttled += e.code == 429


def budget(args, work):
    sim_args = ["--limit", f"{LOG_BUCKET}=120", "--time-scale", str(args.time_scale), "--late-share", "0"]
    setup = Setup(work, "budget", args.events, sim_args, {"logs": {"page_size": args.page_size}})
    window = 60 / args.time_scale
    other = None
    try:
        if args.other:
            sim_post(setup.url, "/tokens", {"add": ["other-integration-token"]})
            other = OtherIntegration(setup.url, "other-integration-token", args.other, window)
        outcomes, t, wall = run_poller(setup.env, args.seconds, work)
        counters = sim_get(setup.url, "/counters")["buckets"].get(LOG_BUCKET, {})
    finally:
        if other:
            other.stop.set()
        setup.close()
    log = log_outcome(outcomes)
    forwarded = log.get("forwarded", 0)
    # The run stops when the next wait would pass its deadline: count every window it touched.
    windows = math.ceil(wall / window)
    throttled = counters.get("throttled", 0)
    theirs_ok, theirs_429 = (other.ok, other.throttled) if other else (0, 0)
    ours = counters.get("requests", 0) - theirs_ok - theirs_429
    ours_429 = throttled - theirs_429
    ceiling = 120 * 0.9
    print(json.dumps(log, indent=2), file=sys.stderr)
    print(f"""
rate-budget run: {args.events} backlog events, page size {args.page_size}, log bucket 120/min,
time scale {args.time_scale} (one window = {window:.0f} s), reserve 10 %, other integration: {args.other}/window
  run                       {wall:.1f} s, {windows} windows touched (stopped: deadline {log.get('stopped_for_deadline')}, rate limit {log.get('stopped_for_rate_limit')})
  relay's requests          {ours} = {ours / windows:.1f} per window; ceiling {ceiling:.0f} (120 × 0.9)
  forwarded                 {forwarded} = {forwarded / windows:.0f} events per window
  relay's 429s              {ours_429}
  other integration         {theirs_ok} admitted, {theirs_429} refused with 429
""")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("process")
    a.add_argument("--events", type=int, default=100_000)
    b = sub.add_parser("budget")
    b.add_argument("--events", type=int, default=500_000)
    b.add_argument("--seconds", type=int, default=120)
    # Small pages so that Okta's request budget, not moto's ~250 events/s, sets the pace.
    b.add_argument("--page-size", type=int, default=10)
    b.add_argument("--time-scale", type=float, default=2.0)
    b.add_argument("--other", type=int, default=0, help="the other integration's requests per window")
    args = p.parse_args()
    in_work_dir({"process": process, "budget": budget}[args.cmd], args)


def in_work_dir(bench, args):
    """Runs `bench(args, work)` in a fresh .local/bench. The directory is kept after the run
    (the processes' logs are there); the tokens in it (0600) are removed first."""
    work = os.path.join(ROOT, ".local", "bench")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        bench(args, work)
    finally:
        for name in os.listdir(work):
            if name.endswith(".token"):
                os.remove(os.path.join(work, name))


if __name__ == "__main__":
    main()
