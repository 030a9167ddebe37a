#!/usr/bin/env python3
"""Mutant echo node: exits with status 3 after its third echo."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve, unsupported  # noqa: E402

seen = 0


def handle(node, msg, body):
    global seen
    if body["type"] != "echo":
        return None
    seen += 1
    if seen == 3:
        print("giving up after three echoes", file=sys.stderr, flush=True)
        sys.exit(3)
    return {"type": "echo_ok", "echo": body["echo"]}


serve(handle)
