#!/usr/bin/env python3
"""Local AWS for okta-relay: moto in server mode, and the resources the functions use.

  stack.py up        start moto on a free loopback port, provision the default resources,
                     write .local/stack.env (source it) and .local/stack.json
  stack.py down      stop moto (by the PID recorded at start)
  stack.py capture --queue-url URL
                     drain the capture queue and print the envelopes as a JSON list
  stack.py provision --endpoint URL --prefix P [--org NAME=ORG_URL ...]
                     create one isolated set of resources and print it as JSON
                     (tests call this so each test has its own table, buses and queue)

Resources: exactly the definitions of the synthesized CDK template, from
tests/local/resources.json (make test checks it against a fresh `cdk synth`): the DynamoDB
state table (key, billing, TTL, point-in-time recovery), the delivery bus with the template's
rule pattern and retry policy targeting an SQS capture queue with a DLQ (moto cannot call API
destinations with a body, so tests read this queue), the Okta partner event source, its bus
and the partner rule's pattern, and a Firehose delivery stream to an S3 archive bucket (the
`firehose` sink). With --org, one Secrets Manager secret per org holding a generated
API token; the token is written to a 0600 file beside the state, never printed.
"""
import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def clients(endpoint):
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    return {
        name: session.client(name, endpoint_url=endpoint)
        for name in ("dynamodb", "events", "sqs", "secretsmanager", "s3", "firehose")
    }


def resources():
    """The resource definitions of the synthesized CDK template (tests/local/resources.json,
    kept equal to the template by infra/tests/parity.py in make test)."""
    with open(os.path.join(ROOT, "tests", "local", "resources.json")) as f:
        return json.load(f)


def provision(endpoint, prefix, orgs=(), token_dir=None):
    c = clients(endpoint)
    defs = resources()
    table = f"{prefix}-state"
    t = defs["state_table"]
    c["dynamodb"].create_table(
        TableName=table,
        AttributeDefinitions=t["AttributeDefinitions"],
        KeySchema=t["KeySchema"],
        BillingMode=t["BillingMode"],
    )
    c["dynamodb"].update_time_to_live(TableName=table, TimeToLiveSpecification=t["TimeToLiveSpecification"])
    c["dynamodb"].update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": t["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        },
    )

    # The delivery bus and its rule, as defined; the target is the SQS capture queue standing in
    # for the API destination (moto calls API destinations without a body), with the same retry
    # policy, input path and a DLQ like the template's.
    delivery_bus = f"{prefix}-delivery"
    c["events"].create_event_bus(Name=delivery_bus)
    queue_url = c["sqs"].create_queue(QueueName=f"{prefix}-capture")["QueueUrl"]
    queue_arn = c["sqs"].get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    dlq_url = c["sqs"].create_queue(
        QueueName=f"{prefix}-delivery-dlq",
        Attributes={"MessageRetentionPeriod": str(defs["dlq"]["MessageRetentionPeriod"])},
    )["QueueUrl"]
    dlq_arn = c["sqs"].get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"{prefix}-to-siem"
    delivery = defs["rules"]["delivery"]
    c["events"].put_rule(Name=rule, EventBusName=delivery_bus, EventPattern=json.dumps(delivery["EventPattern"]))
    target = {"Id": "capture", "Arn": queue_arn, "RetryPolicy": delivery["RetryPolicy"],
              "DeadLetterConfig": {"Arn": dlq_arn}}
    if delivery.get("InputPath"):
        target["InputPath"] = delivery["InputPath"]
    c["events"].put_targets(Rule=rule, EventBusName=delivery_bus, Targets=[target])

    # The Okta partner event source and its bus. moto cannot put a rule on a bus whose name has
    # a "/" (AWS can), so the template's partner rule is created on a stand-in bus, with its
    # target: the push queue (redriving to an events DLQ), as defined. The queue's event source
    # mapping to the events function is played by the tests and the demo: they read the queue
    # and invoke the function with SQS batches, as Lambda does.
    partner_source = f"aws.partner/okta.com/{prefix}/okta-relay"
    c["events"].create_partner_event_source(Name=partner_source, Account=ACCOUNT)
    c["events"].create_event_bus(Name=partner_source, EventSourceName=partner_source)
    c["events"].create_event_bus(Name=f"{prefix}-partner-standin")
    partner = defs["rules"]["partner"]
    c["events"].put_rule(
        Name=f"{prefix}-partner", EventBusName=f"{prefix}-partner-standin",
        EventPattern=json.dumps(partner["EventPattern"]),
    )
    events_dlq_url = c["sqs"].create_queue(
        QueueName=f"{prefix}-events-dlq",
        Attributes={"MessageRetentionPeriod": str(defs["dlq"]["MessageRetentionPeriod"])},
    )["QueueUrl"]
    events_dlq_arn = c["sqs"].get_queue_attributes(
        QueueUrl=events_dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    push = defs["push_queue"]
    push_url = c["sqs"].create_queue(
        QueueName=f"{prefix}-push",
        Attributes={
            "VisibilityTimeout": str(push["VisibilityTimeout"]),
            "MessageRetentionPeriod": str(push["MessageRetentionPeriod"]),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": events_dlq_arn,
                                         "maxReceiveCount": push["maxReceiveCount"]}),
        },
    )["QueueUrl"]
    push_arn = c["sqs"].get_queue_attributes(QueueUrl=push_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    c["events"].put_targets(
        Rule=f"{prefix}-partner", EventBusName=f"{prefix}-partner-standin",
        Targets=[{"Id": "push", "Arn": push_arn, "RetryPolicy": partner["RetryPolicy"],
                  "DeadLetterConfig": {"Arn": events_dlq_arn}}],
    )

    # The names of a Firehose delivery stream for orgs whose sink is `firehose`, to an S3
    # archive bucket: made on demand by the tests that use them (`LocalStack::create_firehose`),
    # since moto takes at most 50 streams.
    archive_bucket = f"{prefix}-archive"
    firehose_stream = f"{prefix}-siem"

    org_secrets = {}
    for spec in orgs:
        name, _, org_url = spec.partition("=")
        token = "00" + secrets.token_urlsafe(30)
        arn = c["secretsmanager"].create_secret(
            Name=f"{prefix}/okta/{name}",
            SecretString=json.dumps({"org_url": org_url, "api_token": token}),
        )["ARN"]
        org_secrets[name] = arn
        if token_dir:
            path = os.path.join(token_dir, f"{prefix}-{name}.token")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(token)

    return {
        "endpoint": endpoint,
        "region": REGION,
        "state_table": table,
        "delivery_bus": delivery_bus,
        "capture_queue_url": queue_url,
        "capture_queue_arn": queue_arn,
        "partner_bus": partner_source,
        "partner_standin_bus": f"{prefix}-partner-standin",
        "push_queue_url": push_url,
        "events_dlq_url": events_dlq_url,
        "delivery_dlq_url": dlq_url,
        "firehose_stream": firehose_stream,
        "archive_bucket": archive_bucket,
        "org_secrets": org_secrets,
    }


def capture(endpoint, queue_url, wait_seconds=2):
    """Drains the capture queue and returns the EventBridge envelopes it held."""
    sqs = clients(endpoint)["sqs"]
    out = []
    idle = 0
    while idle < 2:
        resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        messages = resp.get("Messages", [])
        if not messages:
            idle += 1
            continue
        idle = 0
        for m in messages:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(endpoint, pid, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            raise SystemExit("moto exited during start-up; see .local/moto.log")
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"moto did not answer on {endpoint} within {timeout}s")


def up(state_dir, prefix):
    os.makedirs(state_dir, exist_ok=True)
    pid_file = os.path.join(state_dir, "moto.pid")
    if os.path.exists(pid_file):
        down(state_dir)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # moto's server behind one speed fix (see moto_server.py).
    moto = os.path.join(os.path.dirname(os.path.abspath(__file__)), "moto_server.py")
    log = open(os.path.join(state_dir, "moto.log"), "w")
    proc = subprocess.Popen(
        [sys.executable, moto, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    with open(pid_file, "w") as f:
        f.write(str(proc.pid))
    wait_ready(endpoint, proc.pid)
    stack = provision(endpoint, prefix, orgs=[], token_dir=state_dir)
    with open(os.path.join(state_dir, "stack.json"), "w") as f:
        json.dump(stack, f, indent=2)
    with open(os.path.join(state_dir, "stack.env"), "w") as f:
        f.write(
            f"export AWS_ENDPOINT_URL={endpoint}\n"
            f"export AWS_REGION={REGION}\n"
            "export AWS_ACCESS_KEY_ID=test\n"
            "export AWS_SECRET_ACCESS_KEY=test\n"
            f"export OKTA_RELAY_STATE_TABLE={stack['state_table']}\n"
            f"export OKTA_RELAY_DELIVERY_BUS={stack['delivery_bus']}\n"
        )
    print(f"moto listening on {endpoint} (pid {proc.pid}); resources: {state_dir}/stack.json")


def down(state_dir):
    pid_file = os.path.join(state_dir, "moto.pid")
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        print("moto is not running (no pid file)")
        return
    try:
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.remove(pid_file)
    print(f"moto stopped (pid {pid})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("--state-dir", default=os.path.join(ROOT, ".local"))
    p_up.add_argument("--prefix", default="okta-relay")
    p_down = sub.add_parser("down")
    p_down.add_argument("--state-dir", default=os.path.join(ROOT, ".local"))
    p_prov = sub.add_parser("provision")
    p_prov.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    p_prov.add_argument("--prefix", required=True)
    p_prov.add_argument("--org", action="append", default=[], help="NAME=ORG_URL")
    p_prov.add_argument("--token-dir")
    p_cap = sub.add_parser("capture", help="drain the capture queue, print envelopes as JSON")
    p_cap.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"))
    p_cap.add_argument("--queue-url", required=True)
    args = parser.parse_args()
    if args.cmd == "up":
        up(args.state_dir, args.prefix)
    elif args.cmd == "down":
        down(args.state_dir)
    elif args.cmd == "capture":
        print(json.dumps(capture(args.endpoint, args.queue_url)))
    else:
        if not args.endpoint:
            raise SystemExit("provision needs --endpoint or AWS_ENDPOINT_URL")
        print(json.dumps(provision(args.endpoint, args.prefix, args.org, args.token_dir)))


if __name__ == "__main__":
    main()
