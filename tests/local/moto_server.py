#!/usr/bin/env python3
"""Starts moto's server with two speed fixes, so the suites can move tens of thousands of events.

1. moto delivers each EventBridge event to its targets through an input template, and for every
   event it compiles eight JSONPath expressions from scratch (jsonpath_ng builds a yacc parser
   per call): ~15 ms of CPU per event. The expressions are the same eight strings every time, so
   each is compiled once (memoised).
2. moto's SQS checks every message's visibility and delay on every send and receive, each check
   building two datetimes to compute "now" in epoch milliseconds: with a thousand messages in the
   capture queue that is ~12 ms per call. "Now" comes from time.time() instead (the same value).

And one correctness fix: moto's SQS `delete_message` rebuilds the queue's message list without
the lock `send_message` appends under, so a message sent while another is being deleted can
vanish (the server is threaded). The tests' capture drain deletes while the relay delivers, and
lost 1–4 records in 8 000 that PutEvents had acknowledged. Deletes take the same lock here;
tests/local/sqs_race.py shows the loss without it.

Nothing else about what moto accepts, rejects or delivers changes; only how fast it computes it.
Measured in BENCHMARKS.md-style terms: a 1000-event page through EventBridge to SQS went from
~30 s to a few seconds.
"""
import functools
import sys
import time

import jsonpath_ng.ext
import moto.sqs.models

jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)

_unix_time_millis = moto.sqs.models.unix_time_millis


def _now_millis(dt=None):
    return time.time() * 1000.0 if dt is None else _unix_time_millis(dt)


moto.sqs.models.unix_time_millis = _now_millis

_delete_message = moto.sqs.models.Queue.delete_message


def _delete_message_locked(self, receipt_handle):
    # The same (reentrant) lock add_message appends under.
    with self._messages_lock:
        return _delete_message(self, receipt_handle)


if "--unpatched-sqs-delete" in sys.argv:  # only for tests/local/sqs_race.py
    sys.argv.remove("--unpatched-sqs-delete")
else:
    moto.sqs.models.Queue.delete_message = _delete_message_locked

from moto.server import main  # noqa: E402  (after the patch, on purpose)

if __name__ == "__main__":
    sys.exit(main())
