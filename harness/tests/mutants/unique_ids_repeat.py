#!/usr/bin/env python3
"""Mutant unique-ids node: a per-node counter, so ids repeat across nodes."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve, unsupported  # noqa: E402

counter = 0


def handle(node, msg, body):
    global counter
    if body["type"] != "generate":
        return None
    counter += 1
    return {"type": "generate_ok", "id": counter}


serve(handle)
