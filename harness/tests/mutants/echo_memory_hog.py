#!/usr/bin/env python3
"""A correct echo node that, on init, allocates 64 MiB and writes every page of it, so that
all of it is resident, and holds it to the end. Only in its first life: it leaves a file
`hogged` in its data directory, and a life that finds it there (a restart with `--durable`)
allocates nothing."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve  # noqa: E402

HOG_BYTES = 64 * 1024 * 1024
PAGE = 4096
MARKER = os.path.join(os.environ.get("GLOMERS_DATA_DIR", "."), "hogged")

hog = None
next_id = 0


def on_init(node):
    global hog
    if os.path.exists(MARKER):
        return
    hog = bytearray(HOG_BYTES)
    for i in range(0, HOG_BYTES, PAGE):
        hog[i] = 1
    with open(MARKER, "w") as f:
        f.write("64 MiB held in the first life\n")


def handle(node, msg, body):
    global next_id
    if body["type"] != "echo":
        return None
    next_id += 1
    return {"type": "echo_ok", "echo": body["echo"], "msg_id": next_id}


serve(handle, on_init)
