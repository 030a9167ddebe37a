"""Plumbing shared by the test nodes: Maelstrom's stdin line loop, init, replies, sends.

A node script builds handlers and calls `serve(handle, on_init)`:

- `handle(node, msg, body)` gets every message but `init` and returns the reply body
  (`in_reply_to` is filled in) or None for no reply;
- `init` is answered `init_ok` here, then `on_init(node)` runs, if given.

Lines go out whole, one `write` and flush under a lock, so gossip threads may send too.
"""
import json
import sys
import threading


class Node:
    def __init__(self):
        self.id = None
        self.ids = []
        self._lock = threading.Lock()

    @property
    def peers(self):
        return [n for n in self.ids if n != self.id]

    def write_line(self, text):
        with self._lock:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def send(self, dest, body, src=None):
        self.write_line(json.dumps({"src": src or self.id, "dest": dest, "body": body}))

    def reply(self, msg, body):
        body = dict(body)
        body["in_reply_to"] = msg.get("body", {}).get("msg_id")
        self.send(msg["src"], body, src=msg.get("dest"))

    def init(self, msg):
        body = msg["body"]
        self.id = body["node_id"]
        self.ids = body.get("node_ids", [])
        self.reply(msg, {"type": "init_ok"})


def unsupported(kind):
    return {"type": "error", "code": 10, "text": "unsupported: %s" % kind}


def serve(handle, on_init=None):
    node = Node()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        body = msg.get("body", {})
        if body.get("type") == "init":
            node.init(msg)
            if on_init is not None:
                on_init(node)
            continue
        out = handle(node, msg, body)
        if out is not None:
            node.reply(msg, out)
