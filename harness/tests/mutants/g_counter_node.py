#!/usr/bin/env python3
"""G-counter nodes, selected by the first argument:

- crdt:  a per-node count map, gossiped whole every 0.2 s, merged by maximum; reads sum it.
- local: counts only its own adds (mutant).
"""
import json
import sys
import threading
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "crdt"
lock = threading.Lock()
node_id = None
peers = []
counts = {}


def send(dest, body):
    line = json.dumps({"src": node_id, "dest": dest, "body": body})
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def gossip():
    while True:
        time.sleep(0.2)
        with lock:
            snapshot = dict(counts)
        for p in peers:
            send(p, {"type": "gossip", "counts": snapshot})


for line in sys.stdin:
    msg = json.loads(line)
    body = msg["body"]
    t = body.get("type")
    reply = {"in_reply_to": body.get("msg_id")}
    if t == "init":
        node_id = body["node_id"]
        peers = [n for n in body["node_ids"] if n != node_id]
        reply["type"] = "init_ok"
        if mode == "crdt":
            threading.Thread(target=gossip, daemon=True).start()
    elif t == "add":
        with lock:
            counts[node_id] = counts.get(node_id, 0) + body["delta"]
        reply["type"] = "add_ok"
    elif t == "gossip":
        with lock:
            for k, v in body["counts"].items():
                counts[k] = max(counts.get(k, 0), v)
        continue
    elif t == "read":
        with lock:
            reply["value"] = sum(counts.values())
        reply["type"] = "read_ok"
    else:
        continue
    send(msg["src"], reply)
