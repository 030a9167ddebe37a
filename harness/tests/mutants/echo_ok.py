#!/usr/bin/env python3
"""A correct echo node: answers init and echo, numbering its replies."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve, unsupported  # noqa: E402

next_id = 0


def handle(node, msg, body):
    global next_id
    if body["type"] != "echo":
        return None
    next_id += 1
    return {"type": "echo_ok", "echo": body["echo"], "msg_id": next_id}


serve(handle)
