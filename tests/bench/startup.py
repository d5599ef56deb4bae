#!/usr/bin/env python3
"""Start-up time of each release function binary (issue 9), run by `make bench-startup`.

Measures what a cold start adds on our side: from exec to the binary's first Runtime API
request (`GET /2018-06-01/runtime/invocation/next`), against a local stand-in for the Lambda
Runtime API, the same interface `cargo lambda watch` serves. Configuration parsing, the AWS SDK
clients and the service wiring all happen before that request. Median and max of --runs starts.
No AWS call is made before the first request, so no stack is needed.

Also the process's peak RSS (`VmHWM`) when that request arrives, and the binary's size.
`--dir` names the binaries' directory (default target/release); `--wrap` runs them under a
command, for example the arm64 build of `make package` under qemu-user:

    python3 tests/bench/startup.py --arm64

(`--arm64` is `--dir target/aarch64-unknown-linux-gnu/release --wrap "qemu-aarch64 -L
/usr/aarch64-linux-gnu"`, the binaries `make package` zips; emulated, so its times and RSS are
qemu's, not a Graviton's.)
"""
import argparse
import http.server
import json
import os
import shlex
import statistics
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RELEASE = os.path.join(ROOT, "target", "release")
CONFIG = {
    "orgs": [
        {
            "name": "bench",
            "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-AbCdEf",
            "partner_event_source": "aws.partner/okta.com/bench/okta-relay",
        }
    ]
}


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """Records when the first `next` request arrives, then holds it (no invocation follows)."""

    first_next = None
    arrived = threading.Event()

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next") and not RuntimeApi.arrived.is_set():
            RuntimeApi.first_next = time.monotonic()
            RuntimeApi.arrived.set()
        time.sleep(5)

    def log_message(self, *args):
        pass


def peak_rss_mib(pid):
    """VmHWM of `pid` (its peak resident set), in MiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def one_start(path, name, wrap, port):
    RuntimeApi.arrived.clear()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "OKTA_RELAY_STATE_TABLE": "bench-state",
        "OKTA_RELAY_DELIVERY_BUS": "bench-delivery",
        "OKTA_RELAY_CONFIG": json.dumps(CONFIG),
    }
    started = time.monotonic()
    proc = subprocess.Popen(wrap + [path], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not RuntimeApi.arrived.wait(30):
            raise SystemExit(f"{name} made no Runtime API request within 30 s")
        return RuntimeApi.first_next - started, peak_rss_mib(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--dir", default=RELEASE, help="the binaries' directory")
    p.add_argument("--wrap", default="", help="a command to run each binary under")
    p.add_argument("--arm64", action="store_true",
                   help="make package's arm64 bootstraps under qemu-aarch64")
    args = p.parse_args()
    wrap = shlex.split(args.wrap)
    paths = {b: os.path.join(args.dir, b) for b in ("okta-relay-events", "okta-relay-poller")}
    if args.arm64:
        wrap = ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]
        arm = os.path.join(ROOT, "target", "aarch64-unknown-linux-gnu", "release")
        paths = {b: os.path.join(arm, b) for b in paths}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    for binary, path in paths.items():
        starts = [one_start(path, binary, wrap, port) for _ in range(args.runs)]
        times = [t * 1000 for t, _ in starts]
        rss = [r for _, r in starts]
        size = os.path.getsize(path) / 1e6
        zipped = os.path.join(ROOT, "target", "lambda", binary, "bootstrap.zip")
        zip_note = (f", zip {os.path.getsize(zipped) / 1e6:.1f} MB"
                    if args.arm64 and os.path.exists(zipped) else "")
        print(f"{binary:20} {size:5.1f} MB{zip_note}  exec → first Runtime API request: "
              f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms; "
              f"peak RSS median {statistics.median(rss):.1f} MiB ({args.runs} starts)")


if __name__ == "__main__":
    main()
