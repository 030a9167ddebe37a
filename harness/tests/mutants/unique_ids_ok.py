#!/usr/bin/env python3
"""A correct unique-ids node: ids are "<node>-<counter>"."""
import json
import sys

node_id = None
counter = 0
for line in sys.stdin:
    msg = json.loads(line)
    body = msg["body"]
    reply = {"in_reply_to": body.get("msg_id")}
    if body["type"] == "init":
        node_id = body["node_id"]
        reply["type"] = "init_ok"
    elif body["type"] == "generate":
        counter += 1
        reply["type"] = "generate_ok"
        reply["id"] = "%s-%d" % (node_id, counter)
    else:
        continue
    print(json.dumps({"src": node_id, "dest": msg["src"], "body": reply}), flush=True)
