#!/usr/bin/env python3
"""A correct echo node: answers init and echo."""
import json
import sys

node_id = None
next_id = 0
for line in sys.stdin:
    msg = json.loads(line)
    body = msg["body"]
    next_id += 1
    reply = {"msg_id": next_id, "in_reply_to": body.get("msg_id")}
    if body["type"] == "init":
        node_id = body["node_id"]
        reply["type"] = "init_ok"
    elif body["type"] == "echo":
        reply["type"] = "echo_ok"
        reply["echo"] = body["echo"]
    else:
        continue
    print(json.dumps({"src": node_id, "dest": msg["src"], "body": reply}), flush=True)
