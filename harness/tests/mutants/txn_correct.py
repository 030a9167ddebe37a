#!/usr/bin/env python3
"""A correct single-node txn-rw-register store: each txn applied atomically, in order.

Environment variable MUTANT selects a deliberate bug (the txn_*.py mutants set it):
  aborted-write   every 4th txn with a write applies its writes, then answers error 30
  intermediate    a key written twice in one txn keeps its first (intermediate) value
  write-cycle     a txn with a read after a write is applied up to that write, parked,
                  and finished only after the next txn has run completely (or after
                  50 ms without one): multi-write txns interleave non-atomically
"""
import json
import os
import select
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import Node as Wire, unsupported  # noqa: E402

MUTANT = os.environ.get("MUTANT", "")


class Node:
    def __init__(self):
        self.wire = Wire()
        self.store = {}
        self.txns_with_writes = 0
        self.parked = None  # (msg, txn result so far, remaining micro-ops)

    def send(self, msg, reply):
        self.wire.reply(msg, reply)

    def apply(self, mops, done):
        for f, k, v in mops:
            if f == "r":
                done.append(["r", k, self.store.get(k)])
            else:
                self.store[k] = v
                done.append(["w", k, v])
        return done

    def finish_parked(self):
        if self.parked is not None:
            msg, done, rest = self.parked
            self.parked = None
            self.send(msg, {"type": "txn_ok", "txn": self.apply(rest, done)})

    def handle(self, msg):
        body = msg.get("body", {})
        kind = body.get("type")
        if kind == "init":
            self.wire.init(msg)
            return
        if kind != "txn":
            self.send(msg, unsupported(kind))
            return
        txn = body["txn"]
        writes = [m for m in txn if m[0] == "w"]
        if MUTANT == "write-cycle" and self.parked is None:
            first_w = next((i for i, m in enumerate(txn) if m[0] == "w"), None)
            if first_w is not None and any(m[0] == "r" for m in txn[first_w + 1:]):
                done = self.apply(txn[:first_w + 1], [])
                self.parked = (msg, done, txn[first_w + 1:])
                return
        done = self.apply(txn, [])
        if MUTANT == "intermediate":
            first = {}
            for f, k, v in txn:
                if f == "w":
                    first.setdefault(k, []).append(v)
            for k, vs in first.items():
                if len(vs) >= 2:
                    self.store[k] = vs[0]
        if writes:
            self.txns_with_writes += 1
        if MUTANT == "aborted-write" and writes and self.txns_with_writes % 4 == 0:
            self.send(msg, {"type": "error", "code": 30, "text": "aborted (but applied)"})
        else:
            self.send(msg, {"type": "txn_ok", "txn": done})
        self.finish_parked()


def main():
    node = Node()
    buf = b""
    fd = sys.stdin.fileno()
    while True:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            node.finish_parked()
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
