#!/usr/bin/env python3
"""G-counter nodes, selected by the first argument:

- crdt:  a per-node count map, gossiped whole every 0.2 s, merged by maximum; reads sum it.
- local: counts only its own adds (mutant).
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
counts = {}


def gossip(node):
    while True:
        time.sleep(0.2)
        with lock:
            snapshot = dict(counts)
        for p in node.peers:
            node.send(p, {"type": "gossip", "counts": snapshot})


def on_init(node):
    if mode == "crdt":
        threading.Thread(target=gossip, args=(node,), daemon=True).start()


def handle(node, msg, body):
    t = body.get("type")
    if t == "add":
        with lock:
            counts[node.id] = counts.get(node.id, 0) + body["delta"]
        return {"type": "add_ok"}
    if t == "gossip":
        with lock:
            for k, v in body["counts"].items():
                counts[k] = max(counts.get(k, 0), v)
        return None
    if t == "read":
        with lock:
            return {"type": "read_ok", "value": sum(counts.values())}
    return None


serve(handle, on_init)
