#!/usr/bin/env python3
"""Orgs per deployment and cost per org per month (issue 20), run by `make bench-orgs` inside
tests/local/with-stack.sh (moto is up, its env exported).

  orgs.py [--orgs 10] [--events-per-day 60000] [--interval 300]

Measures the release poller binary as Lambda runs it: each of --orgs release simulators holds
one interval's worth of a typical org's System Log (events-per-day x interval / 86 400, spread
over the last hour); one poller process per org serves invocations `{"org": <name>}` from a local
stand-in of the Lambda Runtime API (as each org's EventBridge Scheduler schedule sends them, all
at once) against moto. Two invocations per org: the interval's events, then a run with nothing
new. Reports each run's duration, the poller's CPU and peak RSS, the custom metrics the EMF
lines create per org, and from those and AWS list prices the monthly cost per org and how many
orgs one deployment serves at the default intervals.

Nothing here asserts a speed or a price: the figures go to BENCHMARKS.md by hand, with this
command.
"""
import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "local"))
sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))
import stack  # noqa: E402
import poller_run  # noqa: E402

RELEASE = os.path.join(ROOT, "target", "release")
POLLER_MEMORY_GB = 0.5  # infra/contract.json functions.poller.memory_mb
DAYS_PER_MONTH = 30

# AWS list prices, us-east-1, 2026 (BENCHMARKS.md, "Cost per million events", has the sources).
PRICE = {
    "lambda_gb_s": 0.0000133334,      # arm64
    "lambda_request": 0.20 / 1e6,
    "scheduler_invocation": 1.00 / 1e6,
    "put_events_entry": 1.00 / 1e6,
    "api_destination_invocation": 0.20 / 1e6,
    "ddb_write_unit": 0.625 / 1e6,
    "ddb_read_unit": 0.125 / 1e6,
    "secret_month": 0.40,
    "secret_api_call": 0.05 / 1e4,
    "custom_metric_month": 0.30,      # first 10 000 metrics
    "alarm_month": 0.10,              # standard resolution, one metric
    "log_ingest_gb": 0.50,
}
# Per record on the pull path (BENCHMARKS.md): mark read + write, PutEvents, API destination.
PULL_PER_EVENT = PRICE["ddb_read_unit"] + PRICE["ddb_write_unit"] + PRICE["put_events_entry"] \
    + PRICE["api_destination_invocation"]
# Per run besides the records: lease acquire, renewals, cursor commit, health (UpdateItem).
STATE_WRITES_PER_RUN = 5
# Secrets Manager reads: the poller caches credentials for 5 minutes (OrgClients), so about one
# read per run at a 5-minute interval.
SECRET_READS_PER_RUN = 1
# Alarms per org (CDK and Terraform): lag, stream errors, quarantined, overdue.
ALARMS_PER_ORG = 4
# The API destination's default rate (records per second): the deployment-wide ceiling.
API_DESTINATION_RATE = 100
# The poller reserves one concurrent execution per org (CDK, Terraform). AWS Lambda's default
# account concurrency is 1 000, of which 100 must stay unreserved; the events function
# reserves 20 by default.
RESERVABLE_CONCURRENCY = 1000 - 100 - 20


class RuntimeApi(http.server.ThreadingHTTPServer):
    """A stand-in for the Lambda Runtime API serving a list of payloads to one function."""

    def __init__(self, payloads):
        super().__init__(("127.0.0.1", 0), Handler)
        self.payloads = list(payloads)
        self.served = []  # (request id, started, finished, response)
        self.done = threading.Event()
        self.lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        api = self.server
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        with api.lock:
            if not api.payloads:
                api.done.set()
                payload = None
            else:
                payload = api.payloads.pop(0)
                request_id = f"req-{len(api.served)}"
                api.served.append([request_id, time.monotonic(), None, None])
        if payload is None:
            time.sleep(3600)  # hold the poller until it is stopped
            return
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 300_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:okta-relay-poller")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        api = self.server
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        request_id = self.path.split("/")[-2]
        with api.lock:
            for entry in api.served:
                if entry[0] == request_id:
                    entry[2] = time.monotonic()
                    entry[3] = (self.path.rsplit("/", 1)[-1], json.loads(body or b"null"))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_org(name, res, config, work, results):
    api = RuntimeApi([{"org": name}, {"org": name}])
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update(poller_run.deployed_allocator())
    env.update(
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}",
        AWS_LAMBDA_FUNCTION_NAME="okta-relay-poller",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        OKTA_RELAY_STATE_TABLE=res["state_table"],
        OKTA_RELAY_DELIVERY_BUS=res["delivery_bus"],
        OKTA_RELAY_CONFIG=json.dumps(config),
        AWS_LAMBDA_LOG_LEVEL="warn",
    )
    out_path = os.path.join(work, f"{name}.out")
    with open(out_path, "w") as out:
        proc = subprocess.Popen([os.path.join(RELEASE, "okta-relay-poller")], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
        api.done.wait(timeout=600)
        cpu = poller_run.cpu_seconds(proc.pid)
        rss = peak_rss_mib(proc.pid)
        proc.kill()
        proc.wait()
    api.shutdown()
    emf = []
    with open(out_path) as f:
        for line in f:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict) and "_aws" in doc:
                emf.append(doc)
    results[name] = {"runs": api.served, "cpu": cpu, "rss": rss, "emf": emf}


def custom_metrics(emf_lines):
    """The distinct CloudWatch metrics (name and dimension values) the EMF lines create."""
    metrics = set()
    for doc in emf_lines:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for dims in directive["Dimensions"]:
                key = tuple((d, doc[d]) for d in dims)
                for m in directive["Metrics"]:
                    metrics.add((m["Name"], key))
    return metrics


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--orgs", type=int, default=10)
    p.add_argument("--events-per-day", type=int, default=60_000)
    p.add_argument("--interval", type=int, default=300)
    args = p.parse_args()
    per_run = round(args.events_per_day * args.interval / 86_400)
    runs_per_month = DAYS_PER_MONTH * 86_400 / args.interval
    work = tempfile.mkdtemp(prefix="okta-relay-orgs-")
    bootstrap = os.path.join(work, "bootstrap.token")
    with open(bootstrap, "w") as f:
        f.write("bootstrap-token-unused")
    names = [f"org-{i:02d}" for i in range(args.orgs)]
    sims = {}
    try:
        for name in names:
            sims[name] = poller_run.start_sim(bootstrap, per_run, ["--late-share", "0"])
        prefix = f"orgs{int(time.time())}"
        res = stack.provision(os.environ["AWS_ENDPOINT_URL"], prefix,
                              orgs=[f"{n}={sims[n][1]}" for n in names], token_dir=work)
        events = stack.clients(os.environ["AWS_ENDPOINT_URL"])["events"]
        events.remove_targets(Rule=f"{prefix}-to-siem", EventBusName=res["delivery_bus"], Ids=["capture"])
        for name in names:
            with open(os.path.join(work, f"{prefix}-{name}.token")) as f:
                poller_run.sim_post(sims[name][1], "/tokens", {"add": [f.read().strip()]})
        config = {"allow_loopback_http": True, "orgs": [
            {"name": n, "secret_arn": res["org_secrets"][n], "logs": {"initial_lookback_hours": 24}}
            for n in names]}
        results = {}
        threads = [threading.Thread(target=run_org, args=(n, res, config, work, results)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for proc, _ in sims.values():
            proc.kill()
            proc.wait()

    busy, idle, cpus, rss, metric_counts, forwarded = [], [], [], [], [], []
    for name in names:
        r = results[name]
        (_, s1, f1, (kind1, out1)), (_, s2, f2, (kind2, out2)) = r["runs"]
        assert kind1 == kind2 == "response", (name, out1, out2)
        forwarded.append(out1[0]["forwarded"])
        busy.append(f1 - s1)
        idle.append(f2 - s2)
        cpus.append(r["cpu"])
        rss.append(r["rss"])
        metric_counts.append(len(custom_metrics(r["emf"])))
    run_s = statistics.median(busy)
    metrics_per_org = max(metric_counts)
    events_month = args.events_per_day * DAYS_PER_MONTH
    cost = {
        "records (marks, PutEvents, API destination)": events_month * PULL_PER_EVENT,
        "Lambda (512 MB arm64) and requests": runs_per_month * (run_s * POLLER_MEMORY_GB * PRICE["lambda_gb_s"] + PRICE["lambda_request"]),
        "EventBridge Scheduler": runs_per_month * PRICE["scheduler_invocation"],
        "DynamoDB per run (lease, cursor, health)": runs_per_month * STATE_WRITES_PER_RUN * PRICE["ddb_write_unit"],
        "Secrets Manager (secret + reads)": PRICE["secret_month"] + runs_per_month * SECRET_READS_PER_RUN * PRICE["secret_api_call"],
        f"CloudWatch custom metrics ({metrics_per_org})": metrics_per_org * PRICE["custom_metric_month"],
        f"CloudWatch alarms ({ALARMS_PER_ORG})": ALARMS_PER_ORG * PRICE["alarm_month"],
    }
    total = sum(cost.values())
    by_rate = API_DESTINATION_RATE * 86_400 // args.events_per_day
    busy_share = run_s / args.interval
    print(f"orgs: {args.orgs} at once, each {args.events_per_day} events/day = {per_run} per {args.interval} s run")
    print(f"forwarded per org, first run: {sorted(set(forwarded))}")
    print(f"invocation, the interval's events: median {statistics.median(busy):.2f} s, max {max(busy):.2f} s")
    print(f"invocation, nothing new:           median {statistics.median(idle):.2f} s, max {max(idle):.2f} s")
    print(f"poller CPU for both invocations:   median {statistics.median(cpus):.3f} s; peak RSS median {statistics.median(rss):.1f} MiB")
    print(f"custom metrics per org (logs stream): {metrics_per_org}")
    print("\ncost per org per month (USD):")
    for k, v in cost.items():
        print(f"  {k:48s} {v:8.3f}")
    print(f"  {'total':48s} {total:8.3f}")
    print(f"\norgs per deployment at these figures:")
    print(f"  API destination at {API_DESTINATION_RATE}/s: {by_rate} orgs ({API_DESTINATION_RATE * 86_400:,} records/day)")
    print(f"  poller reserved concurrency, one per org: {RESERVABLE_CONCURRENCY} orgs at the account's default 1 000 "
          f"(each org's poller is busy {busy_share:.1%} of its interval)")


if __name__ == "__main__":
    main()
