#!/usr/bin/env python3
"""Unique-ids nodes that count: ids are "<node>-<counter>", selected by the first argument:

- memory: the counter lives in memory and starts again at 1 in every life of the node
          (mutant: valid until a node restarts, then it repeats its own ids, maelstrom#93).
- disk:   the counter is kept in the file `counter` of the node's data directory
          (GLOMERS_DATA_DIR), written before each id is replied, so it survives a restart
          exactly when the directory does (--durable).
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve  # noqa: E402

mode = sys.argv[1] if len(sys.argv) > 1 else "memory"
path = os.path.join(os.environ.get("GLOMERS_DATA_DIR", "."), "counter")
counter = 0
if mode == "disk" and os.path.exists(path):
    with open(path) as f:
        counter = int(f.read().strip() or "0")


def persist(value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(value))
    os.replace(tmp, path)


def handle(node, msg, body):
    global counter
    if body.get("type") != "generate":
        return None
    counter += 1
    if mode == "disk":
        persist(counter)
    return {"type": "generate_ok", "id": "%s-%d" % (node.id, counter)}


serve(handle)
