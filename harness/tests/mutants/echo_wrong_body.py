#!/usr/bin/env python3
"""Mutant echo node: answers with a different body than it was sent."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve, unsupported  # noqa: E402


def handle(node, msg, body):
    if body["type"] != "echo":
        return None
    return {"type": "echo_ok", "echo": str(body["echo"]) + "!"}


serve(handle)
