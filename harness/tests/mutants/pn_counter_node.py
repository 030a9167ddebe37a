#!/usr/bin/env python3
"""PN-counter nodes, selected by the first argument:

- crdt:          per-node increment and decrement totals, gossiped whole every 0.2 s and
                 merged by maximum; a read is the increments' sum minus the decrements'.
- drop-negative: the same, but acknowledges a negative delta without counting it (mutant).
"""
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve  # noqa: E402

mode = sys.argv[1] if len(sys.argv) > 1 else "crdt"
lock = threading.Lock()
inc = {}
dec = {}


def gossip(node):
    while True:
        time.sleep(0.2)
        with lock:
            snapshot = {"inc": dict(inc), "dec": dict(dec)}
        for p in node.peers:
            node.send(p, {"type": "merge", "counts": snapshot})


def on_init(node):
    threading.Thread(target=gossip, args=(node,), daemon=True).start()


def handle(node, msg, body):
    t = body.get("type")
    if t == "add":
        delta = body["delta"]
        with lock:
            if delta >= 0:
                inc[node.id] = inc.get(node.id, 0) + delta
            elif mode != "drop-negative":
                dec[node.id] = dec.get(node.id, 0) - delta
        return {"type": "add_ok"}
    if t == "merge":
        with lock:
            for mine, theirs in ((inc, body["counts"]["inc"]), (dec, body["counts"]["dec"])):
                for k, v in theirs.items():
                    mine[k] = max(mine.get(k, 0), v)
        return None
    if t == "read":
        with lock:
            return {"type": "read_ok", "value": sum(inc.values()) - sum(dec.values())}
    return None


serve(handle, on_init)
