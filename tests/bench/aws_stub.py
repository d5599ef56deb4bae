#!/usr/bin/env python3
"""A latency stub of AWS, for the throughput benchmark only (BENCHMARKS.md, `make bench-throughput`).

moto spends a few ms of Python CPU per call, so against moto any run is capped at about 250
events/s and what is measured is moto. This stub answers the calls on a pull run's hot path
itself, after the fixed latencies AWS shows in one region:

  DynamoDB BatchGetItem, BatchWriteItem     10 ms   (marks kept in memory, so checks see them)
  EventBridge PutEvents                     25 ms   (every entry accepted)

Every other call (the lease, the cursor, health, the secret) is the stream's state, a few calls
per page: it is forwarded to moto after the same 10 ms, so the relay's fencing writes run
against moto's real condition checks. The stub counts every call by operation:
`GET /__stub/calls` answers the counts, `POST /__stub/reset` zeroes them.

  aws_stub.py --moto URL [--port 0] [--put-events-latency S]
      prints "listening on http://127.0.0.1:PORT", then serves

With --put-events-latency (the slow-bus benchmark, `make bench-slow-bus`), PutEvents takes
that long to answer, and its entries count as delivered when the request arrives, before the
wait, as on a bus that is slow to answer: a client that gives up on the answer and sends again
makes duplicates. `GET /__stub/deliveries` answers the PutEvents `entries` received and the
`duplicate_entries` among them (by each record's `detail.relay.recordId`).

It is not a test double for correctness: no test uses it.
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DYNAMODB_LATENCY = 0.010
EVENTBRIDGE_LATENCY = 0.025


class Stub:
    def __init__(self, moto, put_events_latency=EVENTBRIDGE_LATENCY):
        self.moto = urllib.parse.urlsplit(moto)
        self.calls = Counter()
        self.marks = {}
        self.lock = threading.Lock()
        self.put_events_latency = put_events_latency
        self.records = set()
        self.deliveries = Counter()

    def count(self, op):
        with self.lock:
            self.calls[op] += 1

    def batch_get(self, body):
        responses = {}
        with self.lock:
            for table, request in body["RequestItems"].items():
                found = [self.marks[k["pk"]["S"]] for k in request["Keys"] if k["pk"]["S"] in self.marks]
                responses[table] = found
        return {"Responses": responses, "UnprocessedKeys": {}}

    def batch_write(self, body):
        with self.lock:
            for requests in body["RequestItems"].values():
                for r in requests:
                    if "PutRequest" in r:
                        item = r["PutRequest"]["Item"]
                        self.marks[item["pk"]["S"]] = item
                    else:
                        self.marks.pop(r["DeleteRequest"]["Key"]["pk"]["S"], None)
        return {"UnprocessedItems": {}}

    def put_events(self, body):
        with self.lock:
            for entry in body["Entries"]:
                self.deliveries["entries"] += 1
                record = json.loads(entry.get("Detail") or "{}").get("relay", {}).get("recordId")
                if record in self.records:
                    self.deliveries["duplicate_entries"] += 1
                self.records.add(record)
        entries = [{"EventId": str(uuid.uuid4())} for _ in body["Entries"]]
        return {"FailedEntryCount": 0, "Entries": entries}


LOCAL = {
    "DynamoDB_20120810.BatchGetItem": (DYNAMODB_LATENCY, "1.0", Stub.batch_get),
    "DynamoDB_20120810.BatchWriteItem": (DYNAMODB_LATENCY, "1.0", Stub.batch_write),
    "AWSEvents.PutEvents": (None, "1.1", Stub.put_events),
}


def handler(stub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def reply(self, status, body, content_type):
            try:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up on a slow answer (the slow-bus benchmark): nothing to send.
                self.close_connection = True

        def do_GET(self):
            if self.path in ("/__stub/calls", "/__stub/deliveries"):
                with stub.lock:
                    counts = stub.calls if self.path.endswith("calls") else stub.deliveries
                    body = json.dumps(dict(counts)).encode()
                return self.reply(200, body, "application/json")
            self.forward(b"")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.path == "/__stub/reset":
                with stub.lock:
                    stub.calls.clear()
                return self.reply(200, b"{}", "application/json")
            target = self.headers.get("x-amz-target") or f"form:{self.path}"
            stub.count(target)
            local = LOCAL.get(target)
            if local is None:
                time.sleep(DYNAMODB_LATENCY)
                return self.forward(body)
            latency, version, answer = local
            if latency is None:
                # PutEvents: delivered on arrival, answered after the bus's latency.
                out = json.dumps(answer(stub, json.loads(body))).encode()
                time.sleep(stub.put_events_latency)
                return self.reply(200, out, f"application/x-amz-json-{version}")
            time.sleep(latency)
            out = json.dumps(answer(stub, json.loads(body))).encode()
            self.reply(200, out, f"application/x-amz-json-{version}")

        def forward(self, body):
            conn = http.client.HTTPConnection(stub.moto.hostname, stub.moto.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                    self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--moto", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--put-events-latency", type=float, default=EVENTBRIDGE_LATENCY)
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(Stub(args.moto, args.put_events_latency)))
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
