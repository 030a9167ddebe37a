#!/usr/bin/env python3
"""G-counter nodes, selected by the first argument:

- crdt:  a per-node count map, gossiped whole every 0.2 s, merged by maximum; reads sum it.
         Idempotent: a message received twice changes nothing.
- local: counts only its own adds (mutant).
- delta: sends each add's delta to every peer once, and adds every delta it receives
         (mutant: exact on a network that delivers each message once, too high on one that
         duplicates; each delta message carries a unique `id` so that a copy can be told
         from a second add).
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
sent = [0]


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
            sent[0] += 1
            uid = "%s-%d" % (node.id, sent[0])
        if mode == "delta":
            for p in node.peers:
                node.send(p, {"type": "delta", "delta": body["delta"], "id": uid})
        return {"type": "add_ok"}
    if t == "delta":
        with lock:
            counts[msg["src"]] = counts.get(msg["src"], 0) + body["delta"]
        return None
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
