#!/usr/bin/env python3
"""Mutant echo node: answers with a different body than it was sent."""
import json
import sys

node_id = None
for line in sys.stdin:
    msg = json.loads(line)
    body = msg["body"]
    reply = {"in_reply_to": body.get("msg_id")}
    if body["type"] == "init":
        node_id = body["node_id"]
        reply["type"] = "init_ok"
    elif body["type"] == "echo":
        reply["type"] = "echo_ok"
        reply["echo"] = str(body["echo"]) + "!"
    else:
        continue
    print(json.dumps({"src": node_id, "dest": msg["src"], "body": reply}), flush=True)
