#!/usr/bin/env python3
"""A broadcast node that assumes links are symmetric (mutant): every 0.1 s it says hello to
every peer, and when it hears from a peer it takes that peer to be reachable, so it sends
the peer every value it has not sent it yet and counts them as delivered, without any
acknowledgement. Without faults that is enough; under a partition it waits until it hears
from the peer again; under a one-way partition, where the peer's hellos arrive but its own
messages do not, the values are lost for good.
"""
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve  # noqa: E402

lock = threading.Lock()
values = set()
unsent = {}


def hello(node):
    while True:
        time.sleep(0.1)
        for p in node.peers:
            node.send(p, {"type": "hello"})


def on_init(node):
    with lock:
        for p in node.peers:
            unsent.setdefault(p, set())
    threading.Thread(target=hello, args=(node,), daemon=True).start()


def handle(node, msg, body):
    t = body.get("type")
    if t == "topology":
        return {"type": "topology_ok"}
    if t == "broadcast":
        with lock:
            values.add(body["message"])
            for p in unsent:
                unsent[p].add(body["message"])
        return {"type": "broadcast_ok"}
    if t == "hello":
        with lock:
            out = sorted(unsent.get(msg["src"], ()))
            unsent[msg["src"]] = set()
        if out:
            node.send(msg["src"], {"type": "values", "messages": out})
        return None
    if t == "values":
        with lock:
            values.update(body["messages"])
        return None
    if t == "read":
        with lock:
            return {"type": "read_ok", "messages": sorted(values)}
    return None


serve(handle, on_init)
