#!/usr/bin/env python3
"""A correct single-node kafka log (the baseline the kafka mutants deviate from).

Environment variable MUTANT selects a deliberate bug (the kafka_*.py mutants set it):
  reuse-offset   every 4th send to a key overwrites the key's last offset
  skip           a poll returning 3 or more messages leaves out the second one
  out-of-order   a poll returning 2 or more messages returns them newest first
"""
import json
import os
import sys

MUTANT = os.environ.get("MUTANT", "")


def main():
    node_id = None
    logs = {}       # key -> list of [offset, msg], offsets dense from 0
    committed = {}  # key -> committed offset
    sends = {}      # key -> number of sends received
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        body = msg.get("body", {})
        kind = body.get("type")
        reply = None
        if kind == "init":
            node_id = body["node_id"]
            reply = {"type": "init_ok"}
        elif kind == "send":
            key, value = body["key"], body["msg"]
            log = logs.setdefault(key, [])
            sends[key] = sends.get(key, 0) + 1
            if MUTANT == "reuse-offset" and sends[key] % 4 == 0 and log:
                offset = log[-1][0]
                log[-1] = [offset, value]
            else:
                offset = len(log)
                log.append([offset, value])
            reply = {"type": "send_ok", "offset": offset}
        elif kind == "poll":
            msgs = {}
            for key, start in body["offsets"].items():
                got = [p for p in logs.get(key, []) if p[0] >= start]
                if MUTANT == "skip" and len(got) >= 3:
                    got = [got[0]] + got[2:]
                if MUTANT == "out-of-order" and len(got) >= 2:
                    got = list(reversed(got))
                if got:
                    msgs[key] = got
            reply = {"type": "poll_ok", "msgs": msgs}
        elif kind == "commit_offsets":
            for key, offset in body["offsets"].items():
                committed[key] = max(committed.get(key, 0), offset)
            reply = {"type": "commit_offsets_ok"}
        elif kind == "list_committed_offsets":
            reply = {"type": "list_committed_offsets_ok",
                     "offsets": {k: committed[k] for k in body["keys"] if k in committed}}
        else:
            reply = {"type": "error", "code": 10, "text": "unsupported: %s" % kind}
        reply["in_reply_to"] = body.get("msg_id")
        out = {"src": node_id or msg.get("dest"), "dest": msg["src"], "body": reply}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
