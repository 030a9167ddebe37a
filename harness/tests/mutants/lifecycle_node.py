#!/usr/bin/env python3
"""An echo node that tells the tests about its lives: at start it appends its process id to
the file named by its first argument, and at `init` it logs `init pid=<pid> node=<id>` to
stderr (the node log). A restarted node therefore shows a new pid and a second init line;
a paused one can be found in /proc by its pid.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve  # noqa: E402

if len(sys.argv) > 1:
    with open(sys.argv[1], "a") as f:
        f.write("%d\n" % os.getpid())


def on_init(node):
    sys.stderr.write("init pid=%d node=%s\n" % (os.getpid(), node.id))
    sys.stderr.flush()


def handle(node, msg, body):
    if body.get("type") == "echo":
        return {"type": "echo_ok", "echo": body["echo"]}
    return None


serve(handle, on_init)
