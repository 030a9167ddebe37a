#!/usr/bin/env python3
"""Mutant echo node: logs to stdout (a non-JSON line) on its third echo."""
import json
import sys

node_id = None
seen = 0
for line in sys.stdin:
    msg = json.loads(line)
    body = msg["body"]
    reply = {"in_reply_to": body.get("msg_id")}
    if body["type"] == "init":
        node_id = body["node_id"]
        reply["type"] = "init_ok"
    elif body["type"] == "echo":
        seen += 1
        if seen == 3:
            print("debug: got an echo request", flush=True)
        reply["type"] = "echo_ok"
        reply["echo"] = body["echo"]
    else:
        continue
    print(json.dumps({"src": node_id, "dest": msg["src"], "body": reply}), flush=True)
