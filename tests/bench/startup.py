#!/usr/bin/env python3
"""Start-up time of each release function binary (issue 9), run by `make bench-startup`.

Measures what a cold start adds on our side: from exec to the binary's first Runtime API
request (`GET /2018-06-01/runtime/invocation/next`), against a local stand-in for the Lambda
Runtime API, the same interface `cargo lambda watch` serves. Configuration parsing, the AWS SDK
clients and the service wiring all happen before that request. Median and max of --runs starts.
No AWS call is made before the first request, so no stack is needed.
"""
import argparse
import http.server
import json
import os
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


def one_start(binary, port):
    RuntimeApi.arrived.clear()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": binary,
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
    proc = subprocess.Popen([os.path.join(RELEASE, binary)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not RuntimeApi.arrived.wait(10):
            raise SystemExit(f"{binary} made no Runtime API request within 10 s")
        return RuntimeApi.first_next - started
    finally:
        proc.kill()
        proc.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    for binary in ("okta-relay-events", "okta-relay-poller"):
        times = [one_start(binary, port) * 1000 for _ in range(args.runs)]
        size = os.path.getsize(os.path.join(RELEASE, binary)) / 1e6
        print(f"{binary:20} {size:5.1f} MB  exec → first Runtime API request: "
              f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms ({args.runs} starts)")


if __name__ == "__main__":
    main()
