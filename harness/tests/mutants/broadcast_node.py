#!/usr/bin/env python3
"""Broadcast nodes, correct and mutant, selected by the first argument:

- gossip:  every 0.2 s send the whole set to every peer (retries by construction).
- local:   never forwards (mutant).
- once:    forwards each new value to every peer once, never again (mutant: values sent
           during a partition are lost for good).
"""
import json
import sys
import threading
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "gossip"
lock = threading.Lock()
node_id = None
peers = []
values = set()


def send(dest, body):
    line = json.dumps({"src": node_id, "dest": dest, "body": body})
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def gossip():
    while True:
        time.sleep(0.2)
        with lock:
            snapshot = sorted(values)
        for p in peers:
            send(p, {"type": "gossip", "messages": snapshot})


for line in sys.stdin:
    msg = json.loads(line)
    body = msg["body"]
    t = body.get("type")
    reply = {"in_reply_to": body.get("msg_id")}
    if t == "init":
        node_id = body["node_id"]
        peers = [n for n in body["node_ids"] if n != node_id]
        reply["type"] = "init_ok"
        if mode == "gossip":
            threading.Thread(target=gossip, daemon=True).start()
    elif t == "topology":
        reply["type"] = "topology_ok"
    elif t == "broadcast":
        with lock:
            new = body["message"] not in values
            values.add(body["message"])
        if mode == "once" and new:
            for p in peers:
                send(p, {"type": "gossip", "messages": [body["message"]]})
        reply["type"] = "broadcast_ok"
    elif t == "gossip":
        with lock:
            values.update(body["messages"])
        continue
    elif t == "read":
        with lock:
            reply["messages"] = sorted(values)
        reply["type"] = "read_ok"
    else:
        continue
    send(msg["src"], reply)
