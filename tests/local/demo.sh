#!/usr/bin/env bash
# make demo: the relay's push path, locally. Runs inside tests/local/with-stack.sh (moto is up
# and .local/stack.env is exported).
#
# 1. provisions a demo org (secret, buses, capture queue standing in for the SIEM);
# 2. runs the real events function under `cargo lambda watch` (the Lambda runtime emulator);
# 3. sends it Okta Log Streaming events with `cargo lambda invoke`: new ones, a redelivery, a
#    malformed one;
# 4. shows what the SIEM would receive, then stops everything it started.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="$root/.local/venv/bin/python"
work="$root/.local/demo"
rm -rf "$work" && mkdir -p "$work"

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }

bold "1. Local AWS (moto at $AWS_ENDPOINT_URL): state table, delivery bus, SIEM capture queue"
"$py" "$root/tests/local/stack.py" provision --prefix demo --org demo=https://demo-org.okta.invalid > "$work/stack.json"
field() { "$py" -c "import json,sys; print(json.load(open('$work/stack.json'))$1)"; }
secret_arn=$(field "['org_secrets']['demo']")
partner_source="aws.partner/okta.com/demo-org/okta-relay"
export OKTA_RELAY_STATE_TABLE=$(field "['state_table']")
export OKTA_RELAY_DELIVERY_BUS=$(field "['delivery_bus']")
export OKTA_RELAY_CONFIG="{\"orgs\":[{\"name\":\"demo\",\"secret_arn\":\"$secret_arn\",\"partner_event_source\":\"$partner_source\"}]}"
queue_url=$(field "['capture_queue_url']")
echo "   config: $OKTA_RELAY_CONFIG"

bold "2. The events function under cargo lambda watch"
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$root" && exec cargo lambda watch --ignore-changes -A 127.0.0.1 -P "$port" -p okta-relay-events) > "$work/watch.log" 2>&1 &
watch_pid=$!
trap 'kill "$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.5
done
echo "   listening on 127.0.0.1:$port (pid $watch_pid)"

invoke() {
  (cd "$root" && cargo lambda invoke okta-relay-events -A 127.0.0.1 -P "$port" --data-file "$1") 2>&1
}

bold "3. Okta Log Streaming events arrive"
for i in 1 2 3; do
  "$py" - "$root/tests/fixtures/partner-event.json" "$work/event-$i.json" "$i" <<'PY'
import json, sys, uuid
event = json.load(open(sys.argv[1]))
event["detail"]["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "demo-" + sys.argv[3]))
json.dump(event, open(sys.argv[2], "w"))
PY
  echo "   event $i: $(invoke "$work/event-$i.json")"
done
echo "   redelivery of event 2 (Okta delivers at least once): $(invoke "$work/event-2.json")"
echo '{"source":"aws.partner/okta.com/demo-org/okta-relay","detail-type":"SystemLog","detail":{"eventType":"x"}}' > "$work/bad.json"
echo "   malformed event (no uuid): $(invoke "$work/bad.json" | grep -v "^\s*$" | tail -1)"

bold "4. What the SIEM receives (the delivery bus rule's capture queue)"
"$py" "$root/tests/local/stack.py" capture --queue-url "$queue_url" > "$work/captured.json"
"$py" - "$work/captured.json" <<'PY'
import collections, json, sys
envelopes = json.load(open(sys.argv[1]))
counts = collections.Counter(e["detail-type"] for e in envelopes)
print(f"   {len(envelopes)} records; per DetailType: {dict(counts)}")
uuids = [e["detail"]["okta"]["uuid"] for e in envelopes]
print(f"   distinct uuids: {len(set(uuids))} (the redelivery was dropped as a duplicate)")
if envelopes:
    sample = envelopes[0]
    print("   sample record (detail.okta is the Okta event, unchanged):")
    print("   " + json.dumps({"source": sample["source"], "detail-type": sample["detail-type"],
        "detail": {"relay": sample["detail"]["relay"], "okta": {k: sample["detail"]["okta"][k]
        for k in ("uuid", "eventType", "published", "displayMessage")}}}, indent=2).replace("\n", "\n   "))
PY

bold "Next steps"
cat <<'TXT'
   - Read README.md for the configuration schema, the secret format and the record contract.
   - make test        runs the whole suite (what CI runs).
   - Deploying to AWS (cargo lambda deploy, CDK, Terraform) is described in infra/README.md.
TXT
