#!/usr/bin/env python3
"""G-set nodes, correct and mutant, selected by the first argument:

- gossip: every 0.2 s (or every PERIOD seconds, the second argument) send the whole set to
          every peer (retries by construction). With PERIOD 5 this is the design of
          Maelstrom's CRDT guide, the baseline of docs/crdt.md's figures.
- once:   sends each new element to every peer once, never again (mutant: elements added
          while a partition cuts a peer off never reach it).
"""
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve  # noqa: E402

mode = sys.argv[1] if len(sys.argv) > 1 else "gossip"
period = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
lock = threading.Lock()
elements = set()


def gossip(node):
    while True:
        time.sleep(period)
        with lock:
            snapshot = sorted(elements)
        for p in node.peers:
            node.send(p, {"type": "merge", "elements": snapshot})


def on_init(node):
    if mode == "gossip":
        threading.Thread(target=gossip, args=(node,), daemon=True).start()


def handle(node, msg, body):
    t = body.get("type")
    if t == "add":
        with lock:
            new = body["element"] not in elements
            elements.add(body["element"])
        if mode == "once" and new:
            for p in node.peers:
                node.send(p, {"type": "merge", "elements": [body["element"]]})
        return {"type": "add_ok"}
    if t == "merge":
        with lock:
            elements.update(body["elements"])
        return None
    if t == "read":
        with lock:
            return {"type": "read_ok", "value": sorted(elements)}
    return None


serve(handle, on_init)
