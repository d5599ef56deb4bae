#!/usr/bin/env python3
"""The Python baseline for BENCHMARKS.md: what the same AWS calls cost a Python client
(boto3, the library a typical Python Lambda collector uses), against the same moto.

Per 1 000 events the relay makes 1 000 conditional PutItem calls (dedupe claims), 40
BatchWriteItem calls (confirmations) and 100 PutEvents calls (10 entries of ~1.7 KB each).
This makes the same calls from one boto3 client and reports the client's CPU seconds and
peak RSS, scaled to 100 000 events. Run inside tests/local/with-stack.sh (moto up).
"""
import json
import os
import resource
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "local"))
import stack  # noqa: E402

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000


def main():
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    res = stack.provision(endpoint, f"boto{int(time.time())}")
    c = stack.clients(endpoint)
    c["events"].remove_targets(Rule=res["delivery_bus"].replace("-delivery", "-to-siem"),
                               EventBusName=res["delivery_bus"], Ids=["capture"])
    detail = json.dumps({"okta": {"pad": "x" * 1600}, "relay": {"org": "bench"}})
    cpu0, wall0 = time.process_time(), time.monotonic()
    for start in range(0, EVENTS, 1000):
        ids = [str(uuid.uuid4()) for _ in range(min(1000, EVENTS - start))]
        for i in ids:
            c["dynamodb"].put_item(
                TableName=res["state_table"],
                Item={"pk": {"S": f"dedupe#{i}"}, "state": {"S": "pending"}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        for k in range(0, len(ids), 10):
            c["events"].put_events(Entries=[
                {"Source": "okta-relay", "DetailType": "Okta System Log Event", "Detail": detail,
                 "EventBusName": res["delivery_bus"]} for _ in ids[k:k + 10]])
        for k in range(0, len(ids), 25):
            c["dynamodb"].batch_write_item(RequestItems={res["state_table"]: [
                {"PutRequest": {"Item": {"pk": {"S": f"dedupe#{i}"}, "state": {"S": "done"}}}} for i in ids[k:k + 25]]})
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"boto3 client, the relay's AWS calls for {EVENTS} events: CPU {cpu:.2f} s "
          f"= {cpu * 100_000 / EVENTS:.0f} s per 100 000 events; wall {wall:.1f} s; peak RSS {rss:.0f} MiB "
          f"(Python {sys.version.split()[0]}, boto3 imported)")


if __name__ == "__main__":
    main()
