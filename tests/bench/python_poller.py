#!/usr/bin/env python3
"""The plain Python poller the relay is measured against (BENCHMARKS.md, issue 19).

Written the way most published Okta-to-EventBridge Lambdas are: requests and boto3, the org's
URL and token from Secrets Manager, the System Log read page by page by following the `next`
links, each page sent to EventBridge ten entries at a time, the `next` link stored in DynamoDB
after each page. No dedupe, no lease, no concurrency. It honours a 429 by sleeping until the
reset, as those scripts do, and resends entries PutEvents reports failed.

  python_poller.py --secret ARN --bus NAME --table NAME --org NAME [--since ISO]

It stops when a page comes back short (caught up) and prints {"forwarded": N, "pages": P}.
"""
import argparse
import json
import time

import boto3
import requests

PAGE_SIZE = 1000


def put_page(events_client, bus, events):
    for i in range(0, len(events), 10):
        entries = [
            {"Source": "okta-baseline", "DetailType": "Okta System Log", "Detail": json.dumps(e), "EventBusName": bus}
            for e in events[i : i + 10]
        ]
        while entries:
            out = events_client.put_events(Entries=entries)
            entries = [e for e, r in zip(entries, out["Entries"]) if "ErrorCode" in r]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--secret", required=True)
    p.add_argument("--bus", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--org", required=True)
    p.add_argument("--since", default="2000-01-01T00:00:00Z")
    args = p.parse_args()

    secret = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=args.secret)["SecretString"])
    events_client = boto3.client("events")
    table = boto3.resource("dynamodb").Table(args.table)
    session = requests.Session()
    session.headers.update({"Authorization": f"SSWS {secret['api_token']}", "Accept": "application/json"})

    key = {"pk": f"baseline#{args.org}"}
    url = table.get_item(Key=key).get("Item", {}).get("next") or (
        f"{secret['org_url']}/api/v1/logs?since={args.since}&limit={PAGE_SIZE}&sortOrder=ASCENDING"
    )
    forwarded = pages = 0
    while True:
        r = session.get(url, timeout=30)
        if r.status_code == 429:
            time.sleep(max(0, int(r.headers["X-Rate-Limit-Reset"]) - time.time()) + 1)
            continue
        r.raise_for_status()
        events = r.json()
        put_page(events_client, args.bus, events)
        forwarded += len(events)
        pages += 1
        url = r.links.get("next", {}).get("url", url)
        table.put_item(Item={**key, "next": url})
        if len(events) < PAGE_SIZE:
            break
    print(json.dumps({"forwarded": forwarded, "pages": pages}))


if __name__ == "__main__":
    main()
