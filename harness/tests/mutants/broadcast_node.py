#!/usr/bin/env python3
"""Broadcast nodes, correct and mutant, selected by the first argument:

- gossip:  every 0.2 s send the whole set to every peer (retries by construction).
- local:   never forwards (mutant).
- once:    forwards each new value to every peer once, never again (mutant: values sent
           during a partition are lost for good).
"""
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve  # noqa: E402

mode = sys.argv[1] if len(sys.argv) > 1 else "gossip"
lock = threading.Lock()
values = set()


def gossip(node):
    while True:
        time.sleep(0.2)
        with lock:
            snapshot = sorted(values)
        for p in node.peers:
            node.send(p, {"type": "gossip", "messages": snapshot})


def on_init(node):
    if mode == "gossip":
        threading.Thread(target=gossip, args=(node,), daemon=True).start()


def handle(node, msg, body):
    t = body.get("type")
    if t == "topology":
        return {"type": "topology_ok"}
    if t == "broadcast":
        with lock:
            new = body["message"] not in values
            values.add(body["message"])
        if mode == "once" and new:
            for p in node.peers:
                node.send(p, {"type": "gossip", "messages": [body["message"]]})
        return {"type": "broadcast_ok"}
    if t == "gossip":
        with lock:
            values.update(body["messages"])
        return None
    if t == "read":
        with lock:
            return {"type": "read_ok", "messages": sorted(values)}
    return None


serve(handle, on_init)
