#!/usr/bin/env python3
"""Throughput, AWS calls and CPU of the relay against a plain Python poller (issue 19), run by
`make bench-throughput` inside tests/local/with-stack.sh (moto is up, its env exported).

  throughput.py pull [--events 100000] [--relay-only] [--rounds 1]
      One release simulator (1 000 events per page, its System Log bucket raised far above
      Okta's so that the relay's own speed shows), and the latency stub of AWS
      (tests/bench/aws_stub.py: DynamoDB 10 ms, EventBridge 25 ms, the stream's state in moto).
      Then, in the same run and against the same two: the relay's poller code path
      (`okta-relay-ctl run`, release) and tests/bench/python_poller.py, each under
      /usr/bin/time -v. Reports events/s, CPU-s per 100 000 events, peak RSS, and the AWS calls
      per 1 000 events by operation, counted by the stub on the wire. --rounds N runs the
      pair N times, each on a fresh simulator, stub and table, and reports the median ratio.

  throughput.py push [--events 1000] [--batch 100]
      The release events function under a stand-in for the Lambda Runtime API, given the
      events as SQS batches of --batch messages (what the push queue's event source mapping
      delivers at a busy org's rate), against the same stub. Reports invocations and AWS calls
      per 1 000 pushed events, by operation.

Nothing here asserts a speed: the figures go to BENCHMARKS.md by hand, with this command.
"""
import argparse
import datetime
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import poller_run  # noqa: E402

RELEASE = poller_run.RELEASE
SOURCE = "aws.partner/okta.com/bench/okta-relay"
# Far above any org's System Log limit: the bucket never binds, the relay's own pace shows.
RAISED_LIMIT = "/api/v1/logs=100000"


def start_stub(put_events_latency=None):
    latency = [] if put_events_latency is None else ["--put-events-latency", str(put_events_latency)]
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "aws_stub.py"), "--moto", os.environ["AWS_ENDPOINT_URL"], *latency],
        stdout=subprocess.PIPE, text=True,
    )
    m = re.search(r"listening on (\S+)", proc.stdout.readline())
    if not m:
        proc.kill()
        raise SystemExit("the AWS stub did not start")
    return proc, m.group(1)


def stub_calls(url, reset=False):
    req = urllib.request.Request(url + ("/__stub/reset" if reset else "/__stub/calls"),
                                 data=b"" if reset else None, method="POST" if reset else "GET")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def timed(cmd, env, work, name):
    """Runs cmd under /usr/bin/time -v; returns (stdout, cpu seconds, peak RSS MiB, wall, minor
    page faults: memory the process touched afresh, which the allocator's settings trade against RSS)."""
    time_out = os.path.join(work, f"{name}.time")
    started = time.monotonic()
    out = subprocess.run(["/usr/bin/time", "-v", "-o", time_out, *cmd], env=env, stdout=subprocess.PIPE,
                         stderr=open(os.path.join(work, f"{name}.log"), "w"), text=True, check=True)
    wall = time.monotonic() - started
    fields = dict(line.strip().rpartition(": ")[::2] for line in open(time_out))
    cpu = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
    return (out.stdout, cpu, int(fields["Maximum resident set size (kbytes)"]) / 1024, wall,
            int(fields["Minor (reclaiming a frame) page faults"]))


def per_thousand(calls, events):
    return {op.split(".")[-1]: round(n * 1000 / max(events, 1), 1) for op, n in sorted(calls.items())}


def report(name, events, cpu, rss, wall, faults, calls):
    total = sum(calls.values()) * 1000 / max(events, 1)
    print(f"  {name:22} {events:7} events  {events / wall:6.0f} events/s  "
          f"CPU {cpu * 100_000 / max(events, 1):6.2f} s per 100 000  peak RSS {rss:5.1f} MiB  "
          f"minor page faults per 1 000 events {faults * 1000 / max(events, 1):.0f}")
    print(f"  {'':22} AWS calls per 1 000 events: {total:.1f}  {per_thousand(calls, events)}")


def pull(args, work):
    """--rounds runs of the pair, each on a fresh simulator, stub and table; one run's CPU
    figures vary by up to 10 % on a 2-core machine, so the median ratio is the figure."""
    ratios = []
    for n in range(1, args.rounds + 1):
        relay, meanwhile, baseline = pull_round(args, work)
        print(f"\npull{f' (round {n} of {args.rounds})' if args.rounds > 1 else ''}: {args.events} backlog "
              "events, 1 000 per page, simulator bucket raised, AWS latency stub (DynamoDB 10 ms, EventBridge 25 ms)")
        report("relay (okta-relay-ctl)", *relay)
        print(f"  {'':22} meanwhile: stub CPU {meanwhile[0]:.1f} s, simulator CPU {meanwhile[1]:.1f} s")
        if baseline is None:
            continue
        report("python poller", *baseline)
        ratio = (baseline[1] / max(baseline[0], 1)) / max(relay[1] / max(relay[0], 1), 1e-9)
        ratios.append(ratio)
        print(f"  CPU per event: the Python poller spends {ratio:.1f}x the relay's")
        sys.stdout.flush()
    if len(ratios) > 1:
        ordered = sorted(ratios)
        print(f"\nCPU per event over {len(ratios)} rounds: the Python poller spends "
              f"{ordered[len(ordered) // 2]:.1f}x the relay's (median; rounds: "
              f"{', '.join(f'{r:.2f}x' for r in ratios)})")


def pull_round(args, work):
    """One round: the relay, then (unless --relay-only) the Python poller, against one simulator
    and stub. Returns the relay's figures, the stub's and simulator's CPU meanwhile, and the
    Python poller's figures (or None)."""
    stub, stub_url = start_stub()
    setup = poller_run.Setup(work, "tput", args.events, ["--limit", RAISED_LIMIT, "--late-share", "0"],
                             {"logs": {"page_size": 1000}})
    baseline = None
    try:
        env = dict(setup.env, AWS_ENDPOINT_URL=stub_url, RUST_LOG=os.environ.get("BENCH_RUST_LOG", "warn"))
        env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
        stub_calls(stub_url, reset=True)
        stub0, sim0 = poller_run.cpu_seconds(stub.pid), poller_run.cpu_seconds(setup.sim.pid)
        # BENCH_WRAP="perf record -g -o .local/bench-perf.data --" profiles the relay (with
        # BENCH_CTL naming a build that keeps its symbols).
        out, cpu, rss, wall, faults = timed([*os.environ.get("BENCH_WRAP", "").split(),
                                     os.environ.get("BENCH_CTL", os.path.join(RELEASE, "okta-relay-ctl")), "run", "--seconds", "900",
                                     "--owner", "bench-runner"], env, work, "relay")
        relay_calls = stub_calls(stub_url)
        meanwhile = (poller_run.cpu_seconds(stub.pid) - stub0, poller_run.cpu_seconds(setup.sim.pid) - sim0)
        log = poller_run.log_outcome(json.loads(out))
        print(json.dumps(log, indent=2), file=sys.stderr)
        relay = (log.get("forwarded", 0), cpu, rss, wall, faults, relay_calls)
        if not args.relay_only:
            stub_calls(stub_url, reset=True)
            since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z")
            out, cpu, rss, wall, faults = timed([sys.executable, os.path.join(HERE, "python_poller.py"),
                                         "--secret", setup.res["org_secrets"]["bench"],
                                         "--bus", setup.res["delivery_bus"], "--table", setup.res["state_table"],
                                         "--org", "bench", "--since", since], env, work, "python")
            baseline = (json.loads(out)["forwarded"], cpu, rss, wall, faults, stub_calls(stub_url))
    finally:
        setup.close()
        stub.kill()
    return relay, meanwhile, baseline


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """A stand-in for the Lambda Runtime API: hands out the queued invocations, one per `next`,
    and collects the answers."""

    protocol_version = "HTTP/1.1"
    queue = []
    answers = []
    lock = threading.Lock()
    done = threading.Event()

    def log_message(self, *args):
        pass

    def do_GET(self):
        with RuntimeApi.lock:
            payload = RuntimeApi.queue.pop(0) if RuntimeApi.queue else None
        if payload is None:
            RuntimeApi.done.set()
            time.sleep(3600)
            return
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int((time.time() + 60) * 1000)))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:okta-relay-events")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        with RuntimeApi.lock:
            RuntimeApi.answers.append((self.path, json.loads(body or b"null")))
        self.send_response(202)
        self.send_header("content-length", "0")
        self.end_headers()


def sqs_batches(events, batch):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = []
    for detail in events:
        partner = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "SystemLog", "source": SOURCE,
                   "account": "123456789012", "time": now, "region": "us-east-1", "resources": [],
                   "detail": detail}
        records.append({"messageId": str(uuid.uuid4()), "eventSource": "aws:sqs", "body": json.dumps(partner)})
    return [{"Records": records[i:i + batch]} for i in range(0, len(records), batch)]


def push(args, work):
    stub, stub_url = start_stub()
    setup = poller_run.Setup(work, "tpush", args.events, [])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proc = None
    try:
        since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z")
        events = []
        url = f"{setup.url}/api/v1/logs?since={since}&limit=1000"
        token = open(os.path.join(work, next(n for n in os.listdir(work) if n.endswith("-bench.token")))).read()
        while len(events) < args.events:
            req = urllib.request.Request(url, headers={"Authorization": f"SSWS {token.strip()}"})
            with urllib.request.urlopen(req, timeout=30) as r:
                page = json.load(r)
                links = re.search(r'<([^>]+)>; rel="next"', ", ".join(r.headers.get_all("link") or []))
            if not page or not links:
                events.extend(page)
                break
            url = links.group(1)
            events.extend(page)
        RuntimeApi.queue = sqs_batches(events[: args.events], args.batch)
        invocations = len(RuntimeApi.queue)
        config = {"orgs": [{"name": "bench", "secret_arn": setup.res["org_secrets"]["bench"],
                            "partner_event_source": SOURCE}]}
        env = dict(setup.env, AWS_ENDPOINT_URL=stub_url, OKTA_RELAY_CONFIG=json.dumps(config),
                   AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
                   AWS_LAMBDA_FUNCTION_NAME="okta-relay-events", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
                   AWS_LAMBDA_FUNCTION_VERSION="$LATEST")
        stub_calls(stub_url, reset=True)
        started = time.monotonic()
        proc = subprocess.Popen([os.path.join(RELEASE, "okta-relay-events")], env=env,
                                stdout=open(os.path.join(work, "events.log"), "w"), stderr=subprocess.STDOUT)
        if not RuntimeApi.done.wait(300):
            raise SystemExit("the events function did not finish the batches")
        wall = time.monotonic() - started
        calls = stub_calls(stub_url)
    finally:
        if proc:
            proc.kill()
            proc.wait()
        setup.close()
        stub.kill()
    failures = sum(len(a.get("batchItemFailures", [])) for _, a in RuntimeApi.answers if isinstance(a, dict))
    errors = sum(1 for path, _ in RuntimeApi.answers if path.endswith("/error"))
    pushed = args.events
    print(f"\npush: {pushed} partner events as SQS batches of {args.batch}, release events function, "
          "AWS latency stub")
    print(f"  invocations per 1 000 events: {invocations * 1000 / pushed:.1f}  "
          f"({len(RuntimeApi.answers)} answered, {errors} errors, {failures} batch item failures, {wall:.1f} s)")
    print(f"  AWS calls per 1 000 events: {sum(calls.values()) * 1000 / pushed:.1f}  {per_thousand(calls, pushed)}")


def slow_bus(args, work):
    """The relay against a bus that answers every PutEvents in `--latency` seconds, with the
    former PutEvents attempt timeout (3 s, the baseline) and the current one, each for a run
    of `--seconds`: records sent, duplicates, and the run's wall time against its budget."""
    rows = []
    for label, settings in (("baseline: PutEvents attempt 3 s", {"put_events_attempt_timeout_seconds": 3}),
                            ("okta-relay: PutEvents attempt 10 s", {})):
        stub, stub_url = start_stub(args.latency)
        setup = poller_run.Setup(work, "slow", args.events, ["--limit", RAISED_LIMIT, "--late-share", "0"],
                                 {"logs": {"page_size": 1000}})
        try:
            config = json.loads(setup.env["OKTA_RELAY_CONFIG"])
            config.update(settings)
            env = dict(setup.env, AWS_ENDPOINT_URL=stub_url, OKTA_RELAY_CONFIG=json.dumps(config),
                       RUST_LOG=os.environ.get("BENCH_RUST_LOG", "warn"))
            env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
            started = time.monotonic()
            # Not checked: a run that failed is part of the figure (its outcome says why).
            out = subprocess.run([os.path.join(RELEASE, "okta-relay-ctl"), "run", "--seconds", str(args.seconds),
                                  "--owner", "bench-runner"], env=env, stdout=subprocess.PIPE,
                                 stderr=open(os.path.join(work, "relay.log"), "w"), text=True).stdout
            wall = time.monotonic() - started
            req = urllib.request.Request(stub_url + "/__stub/deliveries")
            with urllib.request.urlopen(req, timeout=10) as r:
                sent = json.load(r)
            log = poller_run.log_outcome(json.loads(out))
        finally:
            setup.close()
            stub.kill()
        entries, dups = sent.get("entries", 0), sent.get("duplicate_entries", 0)
        rows.append((label, log.get("forwarded", 0), entries, dups, wall, log.get("error")))
    print(f"\nslow bus: every PutEvents answered after {args.latency:g} s, {args.events} backlog events, "
          f"page size 1000, `okta-relay-ctl run --seconds {args.seconds}` ({os.path.basename(RELEASE)} build)")
    print(f"  {'':36} {'forwarded':>9} {'entries sent':>12} {'duplicates':>10} {'wall':>8}  error")
    for label, forwarded, entries, dups, wall, error in rows:
        share = 100 * dups / max(entries, 1)
        print(f"  {label:36} {forwarded:>9} {entries:>12} {dups:>5} ({share:4.1f} %) {wall:>6.0f} s  {error or '-'}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pull")
    a.add_argument("--events", type=int, default=100_000)
    a.add_argument("--relay-only", action="store_true", help="skip the Python poller")
    a.add_argument("--rounds", type=int, default=1, help="pairs to run, each on a fresh stack; "
                   "the median ratio is reported")
    b = sub.add_parser("push")
    b.add_argument("--events", type=int, default=1000)
    b.add_argument("--batch", type=int, default=100)
    c = sub.add_parser("slow-bus")
    c.add_argument("--events", type=int, default=1500)
    c.add_argument("--latency", type=float, default=5.0)
    c.add_argument("--seconds", type=int, default=300)
    args = p.parse_args()
    poller_run.in_work_dir({"pull": pull, "push": push, "slow-bus": slow_bus}[args.cmd], args)


if __name__ == "__main__":
    main()
