#!/usr/bin/env python3
"""A correct single-node txn-list-append store: each txn applied atomically, in order.

Environment variable MUTANT selects a deliberate bug (the append_*.py mutants set it):
  snapshot-merge  each txn reads a snapshot taken when it arrives; it is parked until the
                  next txn arrives (or 20 ms pass), then its appends are merged into the
                  store unless a key it appends to changed since its snapshot (then it
                  fails with error 30, first committer wins): snapshot isolation, so
                  concurrent txns that read each other's keys commit both (write skew)
  aborted-append  every 4th txn with an append applies it, then answers error 30
  wrong-reply     every 5th txn that starts with a read answers that read as an append
                  (which Maelstrom's schema accepts: maelstrom#14)
"""
import json
import os
import select
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import Node as Wire, unsupported  # noqa: E402

MUTANT = os.environ.get("MUTANT", "")
PARK_SECONDS = 0.02


class Node:
    def __init__(self):
        self.wire = Wire()
        self.store = {}       # key -> list of elements
        self.version = {}     # key -> commit number of its last change
        self.commits = 0
        self.txns_with_appends = 0
        self.txns = 0
        self.parked = None    # (msg, snapshot commit number, result, appends, deadline)

    def run(self, txn, view):
        """Runs txn against view (a dict of lists, changed in place); returns the result."""
        done = []
        for f, k, v in txn:
            if f == "r":
                cur = view.get(k)
                done.append(["r", k, list(cur) if cur is not None else None])
            else:
                view.setdefault(k, []).append(v)
                done.append(["append", k, v])
        return done

    def commit(self, appends):
        self.commits += 1
        for k, v in appends:
            self.store.setdefault(k, []).append(v)
            self.version[k] = self.commits

    def finish_parked(self):
        if self.parked is None:
            return
        msg, snap, done, appends, _ = self.parked
        self.parked = None
        if any(self.version.get(k, 0) > snap for k, _ in appends):
            self.wire.reply(msg, {"type": "error", "code": 30, "text": "write conflict"})
            return
        self.commit(appends)
        self.wire.reply(msg, {"type": "txn_ok", "txn": done})

    def handle(self, msg):
        body = msg.get("body", {})
        kind = body.get("type")
        if kind == "init":
            self.wire.init(msg)
            return
        if kind != "txn":
            self.wire.reply(msg, unsupported(kind))
            return
        txn = body["txn"]
        appends = [(k, v) for f, k, v in txn if f == "append"]
        if MUTANT == "snapshot-merge":
            snapshot = {k: list(v) for k, v in self.store.items()}
            snap = self.commits
            done = self.run(txn, snapshot)
            self.finish_parked()
            self.parked = (msg, snap, done, appends, time.time() + PARK_SECONDS)
            return
        done = self.run(txn, self.store)
        self.txns += 1
        if MUTANT == "wrong-reply" and done[0][0] == "r" and self.txns % 5 == 0:
            done[0] = ["append", done[0][1], (done[0][2] or [0])[-1]]
        if appends:
            self.txns_with_appends += 1
        if MUTANT == "aborted-append" and appends and self.txns_with_appends % 4 == 0:
            self.wire.reply(msg, {"type": "error", "code": 30, "text": "aborted (but applied)"})
        else:
            self.wire.reply(msg, {"type": "txn_ok", "txn": done})


def main():
    node = Node()
    buf = b""
    fd = sys.stdin.fileno()
    while True:
        ready, _, _ = select.select([fd], [], [], PARK_SECONDS / 2)
        if node.parked is not None and time.time() >= node.parked[4]:
            node.finish_parked()
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                node.handle(json.loads(line))
    node.finish_parked()


if __name__ == "__main__":
    main()
