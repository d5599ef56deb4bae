#!/usr/bin/env python3
"""Shows the moto SQS race tests/local/moto_server.py fixes: messages sent while others are
being deleted must all arrive. Starts its own moto server (patched, or with
--unpatched-sqs-delete to watch it lose messages), sends from several threads while a drain
deletes, and exits non-zero if any message is missing.

  sqs_race.py             expect: every message received (exit 0)
  sqs_race.py --unpatched expect: some lost (exit 1) on most runs
"""
import os
import socket
import subprocess
import sys
import threading
import time

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
SENDERS = 4
PER_SENDER = 2000
BATCH = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port = free_port()
    args = [sys.executable, os.path.join(HERE, "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)]
    if "--unpatched" in sys.argv:
        args.append("--unpatched-sqs-delete")
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        for _ in range(100):
            try:
                url = sqs.create_queue(QueueName="race",
                                       Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
                break
            except Exception:
                time.sleep(0.1)
        else:
            sys.exit("moto did not start")
        sending = threading.Event()
        sending.set()
        received = set()

        def send(n):
            c = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                             aws_access_key_id="test", aws_secret_access_key="test")
            for start in range(0, PER_SENDER, BATCH):
                c.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "MessageBody": f"{n}-{start + i}"} for i in range(BATCH)])

        def drain():
            c = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                             aws_access_key_id="test", aws_secret_access_key="test")
            empty = 0
            while sending.is_set() or empty < 3:
                got = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                        WaitTimeSeconds=1).get("Messages", [])
                empty = 0 if got else empty + 1
                for m in got:
                    received.add(m["Body"])
                if got:
                    c.delete_message_batch(QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(got)])

        drains = [threading.Thread(target=drain) for _ in range(4)]
        senders = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
        for t in drains + senders:
            t.start()
        for t in senders:
            t.join()
        sending.clear()
        for t in drains:
            t.join()
        sent = SENDERS * PER_SENDER
        print(f"sent {sent}, received {len(received)}")
        sys.exit(0 if len(received) == sent else 1)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
