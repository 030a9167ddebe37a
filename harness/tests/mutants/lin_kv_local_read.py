#!/usr/bin/env python3
"""Mutant lin-kv node: the proxy with the 'local-read' bug (see lin_kv_proxy.py)."""
import os
import sys

os.environ["MUTANT"] = "local-read"
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lin_kv_proxy  # noqa: E402

lin_kv_proxy.main()
