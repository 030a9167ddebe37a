#!/usr/bin/env python3
"""A correct single-node kafka log (the baseline the kafka mutants deviate from).

Environment variable MUTANT selects a deliberate bug (the kafka_*.py mutants set it):
  reuse-offset   every 4th send to a key overwrites the key's last offset
  skip           a poll returning 3 or more messages leaves out the second one
  out-of-order   a poll returning 2 or more messages returns them newest first
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve, unsupported  # noqa: E402

MUTANT = os.environ.get("MUTANT", "")


def main():
    logs = {}       # key -> list of [offset, msg], offsets dense from 0
    committed = {}  # key -> committed offset
    sends = {}      # key -> number of sends received

    def handle(node, msg, body):
        kind = body.get("type")
        if kind == "send":
            key, value = body["key"], body["msg"]
            log = logs.setdefault(key, [])
            sends[key] = sends.get(key, 0) + 1
            if MUTANT == "reuse-offset" and sends[key] % 4 == 0 and log:
                offset = log[-1][0]
                log[-1] = [offset, value]
            else:
                offset = len(log)
                log.append([offset, value])
            return {"type": "send_ok", "offset": offset}
        if kind == "poll":
            msgs = {}
            for key, start in body["offsets"].items():
                got = [p for p in logs.get(key, []) if p[0] >= start]
                if MUTANT == "skip" and len(got) >= 3:
                    got = [got[0]] + got[2:]
                if MUTANT == "out-of-order" and len(got) >= 2:
                    got = list(reversed(got))
                if got:
                    msgs[key] = got
            return {"type": "poll_ok", "msgs": msgs}
        if kind == "commit_offsets":
            for key, offset in body["offsets"].items():
                committed[key] = max(committed.get(key, 0), offset)
            return {"type": "commit_offsets_ok"}
        if kind == "list_committed_offsets":
            return {"type": "list_committed_offsets_ok",
                    "offsets": {k: committed[k] for k in body["keys"] if k in committed}}
        return unsupported(kind)

    serve(handle)


if __name__ == "__main__":
    main()
