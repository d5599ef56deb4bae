#!/usr/bin/env bash
# make demo: the relay's main job, locally, in about two minutes. Runs inside
# tests/local/with-stack.sh (moto is up, .local/stack.env exported, resources from the template).
#
# 1. starts the Okta simulator: a seeded org with a System Log backlog, a directory, and live
#    activity; provisions the relay's resources in moto (the synthesized template's
#    definitions) with the org's API token in Secrets Manager;
# 2. runs the poller and the events function as the real Lambda binaries under
#    `cargo lambda watch`;
# 3. invokes the poller on a short schedule for about a minute (System Log + users, groups,
#    memberships) and puts Okta Log Streaming events (new ones, a redelivery, a malformed one)
#    on the partner bus, whose rule puts them on the push queue; one SQS batch of them goes to
#    the events function;
# 4. shows what the SIEM would receive (the demo org's output is `both`: each event raw and as
#    OCSF), the OCSF Parquet objects written to the Security Lake bucket, and each stream's
#    state in `okta-relay-ctl status`
#    (pending, authenticated once validate-config proved the credentials, then caught_up or
#    collecting; a second org whose token Okta does not know is an error of Okta's
#    configuration), then stops everything it started.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="$root/.local/venv/bin/python"
work="$root/.local/demo"
rm -rf "$work" && mkdir -p "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -f "$work"/*.token
}
trap cleanup EXIT

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bold "1. A local Okta org (the simulator) and local AWS (moto at $AWS_ENDPOINT_URL)"
echo "bootstrap-unused" > "$work/bootstrap.token"
"$root/target/debug/okta-sim" --token-file "$work/bootstrap.token" --backlog-events 1500 --backlog-hours 6 \
  --users 40 --groups 6 --memberships 80 --live-rate 2 > "$work/sim.out" 2> "$work/sim.log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$work/sim.out" 2>/dev/null && break; sleep 0.1; done
sim_url=$(sed -n 's/.*listening on \(\S*\).*/\1/p' "$work/sim.out")
echo "   Okta simulator: $sim_url (1 500 System Log events of backlog, 40 users, 6 groups, 2 new events/s)"
"$py" "$root/tests/local/stack.py" provision --prefix demo --org "demo=$sim_url" --org "revoked=$sim_url" \
  --token-dir "$work" > "$work/stack.json"
# Each org's API token was generated into Secrets Manager and a 0600 file; the simulator learns
# the demo org's through its control API (the "revoked" org's it never learns: Okta answers 401).
# No token is ever printed.
"$py" - "$sim_url" "$work/demo-demo.token" <<'PY'
import json, sys, urllib.request
token = open(sys.argv[2]).read().strip()
req = urllib.request.Request(sys.argv[1] + "/__sim/tokens", data=json.dumps({"add": [token]}).encode(),
                             headers={"content-type": "application/json"}, method="POST")
urllib.request.urlopen(req).close()
PY
field() { "$py" -c "import json,sys; print(json.load(open('$work/stack.json'))$1)"; }
secret_arn=$(field "['org_secrets']['demo']")
revoked_arn=$(field "['org_secrets']['revoked']")
partner_source="aws.partner/okta.com/demo-org/okta-relay"
export OKTA_RELAY_STATE_TABLE=$(field "['state_table']")
export OKTA_RELAY_DELIVERY_BUS=$(field "['delivery_bus']")
lake_bucket="aws-security-data-lake-us-east-1-demo"
"$py" -c "import boto3,os; s3 = boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name='us-east-1'); s3.create_bucket(Bucket='$lake_bucket'); s3.create_bucket(Bucket='$lake_bucket-staging')"
export OKTA_RELAY_CONFIG="{\"allow_loopback_http\":true,\"max_run_seconds\":20,\"deadline_margin_seconds\":5,\"security_lake\":{\"bucket\":\"$lake_bucket\",\"region\":\"us-east-1\",\"account_id\":\"123456789012\",\"staging\":{\"bucket\":\"$lake_bucket-staging\",\"write_interval_seconds\":0}},\"orgs\":[{\"name\":\"demo\",\"secret_arn\":\"$secret_arn\",\"partner_event_source\":\"$partner_source\",\"output\":\"both\",\"logs\":{\"initial_lookback_hours\":6},\"inventory\":{\"users\":{},\"groups\":{},\"group_members\":{}}},{\"name\":\"revoked\",\"secret_arn\":\"$revoked_arn\"}]}"
export AWS_LAMBDA_LOG_LEVEL=info
queue_url=$(field "['capture_queue_url']")
echo "   state table $OKTA_RELAY_STATE_TABLE, delivery bus $OKTA_RELAY_DELIVERY_BUS (a capture queue stands in for the SIEM)"
echo "   Security Lake bucket $lake_bucket (custom sources under ext/; the demo org's output is both: raw and OCSF)"
echo "   config: $OKTA_RELAY_CONFIG"

bold "2. The poller and the events function, as Lambda binaries under cargo lambda watch"
start_watch() { # package port
  (cd "$root" && exec cargo lambda watch --ignore-changes -A 127.0.0.1 -P "$2" -p "$1") > "$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 240); do (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return; sleep 0.5; done
  echo "cargo lambda watch for $1 did not start; see $work/$1.log"; exit 1
}
poller_port=$(free_port); start_watch okta-relay-poller "$poller_port"
events_port=$(free_port); start_watch okta-relay-events "$events_port"
echo "   poller on 127.0.0.1:$poller_port, events function on 127.0.0.1:$events_port (logs in $work)"
invoke() { # package port file
  (cd "$root" && cargo lambda invoke "$1" -A 127.0.0.1 -P "$2" --data-file "$3") 2>&1
}

ctl="$root/target/debug/okta-relay-ctl"
bold "3. Before the first run: every stream is pending; validate-config proves the demo org's credentials"
"$ctl" status | sed 's/^/   /'
"$ctl" validate-config > "$work/validate.out" 2>&1 || true
grep -E "orgs\[" "$work/validate.out" | sed 's/^/   /' | head -8
"$ctl" status --org demo | sed 's/^/   /'

bold "4. The schedule fires: four poller runs, 15 s apart"
cat > "$work/schedule.json" <<'JSON'
{"version":"0","id":"demo","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-23T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}
JSON
for run in 1 2 3 4; do
  invoke okta-relay-poller "$poller_port" "$work/schedule.json" > "$work/run-$run.json" || true
  "$py" - "$work/run-$run.json" "$run" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
try:
    outcomes = json.loads(text[text.index("["):])
except ValueError:
    print(f"   run {sys.argv[2]}: the invocation failed: {text.strip()[-300:]}")
    sys.exit(0)
parts = []
# A fan-out stream (group members) runs with, and is counted in, its parent (groups).
for o in outcomes:
    s = f"{o['stream']} {o.get('forwarded', 0)}"
    if o.get("duplicates"):
        s += f" (+{o['duplicates']} duplicates dropped)"
    if o.get("error"):
        s += f" ERROR {o['error_kind']}"
    parts.append(s)
logs = next((o for o in outcomes if o["stream"] == "logs"), {})
lag = logs.get("lag_seconds")
print(f"   run {sys.argv[2]}: forwarded {', '.join(parts)}; System Log lag {lag if lag is not None else '-'} s")
PY
  [[ $run == 4 ]] || sleep 15
done

bold "5. Okta Log Streaming events arrive on the partner bus, and reach the events function through the push queue"
# Three new events, a redelivery of the second (Okta delivers at least once), one whose
# `published` is redacted (forwarded with the receipt time, marked malformedPublished), and a
# malformed one (no uuid: refused with OktaRelay.InvalidEvent). The partner rule puts them on the push queue; the queue's event source mapping
# (played here: moto runs no Lambda) invokes the events function with one SQS batch, and the
# function answers with the messages to deliver again.
"$py" - "$root/tests/fixtures/partner-event.json" "$work" "$partner_source" "$(field "['partner_standin_bus']")" "$(field "['push_queue_url']")" <<'PY'
import datetime, json, os, sys, uuid
sys.path.insert(0, os.path.join(os.path.dirname(sys.argv[1]), "..", "local"))
import stack
fixture, work, source, bus, queue = sys.argv[1:6]
c = stack.clients(os.environ["AWS_ENDPOINT_URL"])
now = datetime.datetime.now(datetime.timezone.utc)
details = []
for i in (1, 2, 3, 2):
    event = json.load(open(fixture))["detail"]
    event["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-{i}"))
    # Published a moment ago, as a live Log Streaming event is.
    event["published"] = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    details.append(event)
redacted = dict(details[0], uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, "demo-redacted")), published="redacted")
details.append(redacted)
details.append({"eventType": "user.session.start"})
c["events"].put_events(Entries=[{"EventBusName": bus, "Source": source, "DetailType": "SystemLog",
                                 "Detail": json.dumps(d)} for d in details])
records, receipts = [], {}
while len(records) < len(details):
    got = c["sqs"].receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    if not got:
        break
    for m in got:
        receipts[m["MessageId"]] = m["ReceiptHandle"]
        records.append({"messageId": m["MessageId"], "eventSource": "aws:sqs", "body": m["Body"]})
json.dump({"Records": records}, open(os.path.join(work, "batch.json"), "w"))
json.dump(receipts, open(os.path.join(work, "receipts.json"), "w"))
print(f"   {len(details)} partner events → push queue → one batch of {len(records)} messages")
PY
invoke okta-relay-events "$events_port" "$work/batch.json" > "$work/batch.out" || true
"$py" - "$work/batch.out" "$work/receipts.json" "$(field "['push_queue_url']")" <<'PY'
import json, os, sys
import boto3
text = open(sys.argv[1]).read()
answer = json.loads(text[text.index("{"):])
failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
receipts = json.load(open(sys.argv[2]))
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ.get("AWS_REGION", "us-east-1"))
for mid, handle in receipts.items():
    if mid not in failed:
        sqs.delete_message(QueueUrl=sys.argv[3], ReceiptHandle=handle)
print(f"   the events function answered: {len(receipts) - len(failed)} handled (the redelivery dropped as a duplicate, "
      f"the redacted `published` forwarded with the receipt time), {len(failed)} to deliver again: the event "
      f"without a uuid (OktaRelay.InvalidEvent), which goes to the events DLQ after 5 tries")
PY
# The events function staged its lake events; the poller's next run writes them (the lake's
# write interval is 0 here, 300 s by default).
invoke okta-relay-poller "$poller_port" "$work/schedule.json" > "$work/run-lake.json" || true
echo "   the poller's next run wrote the staged Security Lake events as Parquet"

bold "6. What the SIEM receives (the delivery bus rule's target)"
"$py" "$root/tests/local/stack.py" capture --queue-url "$queue_url" > "$work/captured.json"
"$py" - "$work/captured.json" "$work" <<'PY'
import collections, glob, json, sys
everything = json.load(open(sys.argv[1]))
ocsf = [e for e in everything if e["detail-type"].startswith("OCSF ")]
envelopes = [e for e in everything if not e["detail-type"].startswith("OCSF ")]
counts = collections.Counter(e["detail-type"] for e in everything)
paths = collections.Counter(e["detail"]["relay"]["path"] for e in envelopes)
ids = [e["detail"]["relay"]["recordId"] for e in envelopes]
print(f"   {len(envelopes)} raw records ({paths['pull']} polled, {paths['push']} pushed) and {len(ocsf)} OCSF records, per DetailType:")
for kind, n in counts.most_common():
    print(f"     {n:6}  {kind}")
print(f"   duplicates reaching the SIEM: {len(ids) - len(set(ids))} (the relay dropped the redelivery and the polls' overlap)")
marked = [e["detail"]["relay"]["recordId"] for e in envelopes if e["detail"]["relay"].get("malformedPublished")]
print(f"   forwarded with relay.malformedPublished (their published was unreadable): {len(marked)}")
sample = next((e for e in envelopes if e["detail-type"] == "Okta System Log Event"), None)
if sample:
    okta = sample["detail"]["okta"]
    print("   a sample record (detail.okta is Okta's event exactly as Okta sent it; schemas/ has every kind):")
    print("   " + json.dumps({"source": sample["source"], "detail-type": sample["detail-type"],
        "detail": {"relay": sample["detail"]["relay"],
                   "okta": {k: okta[k] for k in ("uuid", "eventType", "published", "displayMessage") if k in okta}}},
        indent=2).replace("\n", "\n   "))
sample = next((e for e in ocsf if e["detail-type"] == "OCSF Authentication"), ocsf[0] if ocsf else None)
if sample:
    d = sample["detail"]
    keep = ("class_uid", "class_name", "activity_id", "activity_name", "type_uid", "time", "severity_id",
            "status", "status_id", "metadata", "actor", "user", "src_endpoint")
    print(f"   the same kind of event as OCSF 1.3.0 ({sample['detail-type']}; what no OCSF field takes is in `unmapped`, shown here by its keys):")
    shown = {k: d[k] for k in keep if k in d}
    shown["unmapped"] = sorted(d.get("unmapped", {}))
    print("   " + json.dumps({"detail-type": sample["detail-type"], "detail": shown}, indent=2).replace("\n", "\n   "))
PY

bold "6b. What Security Lake receives: OCSF Parquet objects in the custom sources' locations"
"$py" - "$lake_bucket" <<'PY'
import collections, io, os, sys
import boto3
import pyarrow.parquet as pq
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
objects = s3.list_objects_v2(Bucket=sys.argv[1]).get("Contents", [])
rows_by_source = collections.Counter()
tables = []
for o in objects:
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket=sys.argv[1], Key=o["Key"])["Body"].read()))
    rows_by_source[o["Key"].split("/")[1]] += table.num_rows
    tables.append((o, table))
print(f"   {len(objects)} objects, {sum(rows_by_source.values())} events, one OCSF class per custom source:")
for source, rows in sorted(rows_by_source.items()):
    print(f"     {rows:6}  ext/{source}/")
if tables:
    o, table = max(tables, key=lambda t: t[1].num_rows)
    print(f"   the largest: s3://{sys.argv[1]}/{o['Key']}")
    print(f"     {o['Size']} bytes of ZSTD Parquet, {table.num_rows} rows in time order, {len(table.schema.names)} top-level columns:")
    print("     " + ", ".join(table.schema.names))
    row = table.slice(0, 1).to_pylist()[0]
    print(f"     first row: class_uid {row['class_uid']}, activity {row['activity_name']}, time {row['time']}, metadata.uid {row['metadata']['uid']}")
PY

bold "7. What the operator sees: okta-relay-ctl status (state, whose fault, since when)"
"$ctl" status | sed 's/^/   /' || true
echo "   (okta-relay-ctl status --json for machines, --watch to keep it on screen; the CloudWatch"
echo "    dashboard the CDK construct and the Terraform module deploy is pictured in docs/dashboard.svg)"

bold "Next steps"
cat <<'TXT'
   - Deploy: make package, then the CDK construct, the Terraform module or cargo lambda deploy
     (infra/README.md has all three, with what each needs).
   - Configure: docs/configuration.md and docs/deploy.md (secrets); the record contract: schemas/README.md.
   - OCSF and Security Lake: docs/ocsf.md (the mapping, its coverage, the custom sources).
   - Costs and limits: BENCHMARKS.md; what is proven and how: RELIABILITY.md.
   - Operate: okta-relay-ctl status | backfill | validate-config | reset-cursor
     (docs/operate.md, Operations and Troubleshooting).
   - make test runs the whole suite (what CI runs).
TXT
