#!/usr/bin/env python3
"""A correct lin-kv node: every request is forwarded to the lin-kv service, and the
service's answer is relayed to the client (the baseline the lin_kv_* mutants deviate from).

Environment variable MUTANT selects a deliberate bug (the lin_kv_*.py mutants set it):
  local-read  reads are answered from this node's own copy, which only this node's
              successful writes and cas update (stale as soon as another node writes)
  lost-cas    cas is a service read, then, if the value matches, a blind service write:
              two concurrent cas can both succeed from the same value
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maelstrom_node import serve  # noqa: E402

MUTANT = os.environ.get("MUTANT", "")
SERVICE = "lin-kv"


def main():
    pending = {}  # our msg_id to the service -> callback(reply body)
    local = {}    # key -> value, the local-read mutant's copy
    ids = [0]

    def call(node, body, callback):
        ids[0] += 1
        body = dict(body)
        body["msg_id"] = ids[0]
        pending[ids[0]] = callback
        node.send(SERVICE, body)

    def answer(node, msg, body):
        body = {k: v for k, v in body.items() if k not in ("msg_id", "in_reply_to")}
        node.reply(msg, body)

    def remember(req):
        def on_reply(reply):
            if reply.get("type") == "write_ok":
                local[req["key"]] = req["value"]
            elif reply.get("type") == "cas_ok":
                local[req["key"]] = req["to"]
            return reply
        return on_reply

    def lost_cas(node, msg, req):
        def on_read(reply):
            if reply.get("type") != "read_ok":
                answer(node, msg, reply)
            elif reply.get("value") != req["from"]:
                answer(node, msg, {"type": "error", "code": 22, "text": "from mismatch"})
            else:
                write = {"type": "write", "key": req["key"], "value": req["to"]}
                call(node, write, lambda r: answer(
                    node, msg, {"type": "cas_ok"} if r.get("type") == "write_ok" else r))
        call(node, {"type": "read", "key": req["key"]}, on_read)

    def handle(node, msg, body):
        kind = body.get("type")
        if "in_reply_to" in body and msg.get("src") == SERVICE:
            callback = pending.pop(body["in_reply_to"], None)
            if callback is not None:
                callback(body)
            return None
        req = {k: v for k, v in body.items() if k != "msg_id"}
        if MUTANT == "local-read" and kind == "read":
            if req.get("key") in local:
                return {"type": "read_ok", "value": local[req["key"]]}
            return {"type": "error", "code": 20, "text": "not in the local copy"}
        if MUTANT == "lost-cas" and kind == "cas":
            lost_cas(node, msg, req)
            return None
        after = remember(req) if MUTANT == "local-read" else (lambda r: r)
        call(node, req, lambda reply: answer(node, msg, after(reply)))
        return None

    serve(handle)


if __name__ == "__main__":
    main()
