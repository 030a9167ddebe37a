#!/usr/bin/env python3
"""Mutant txn-list-append node: the correct node with the 'wrong-reply' bug (see append_correct.py)."""
import os
import sys

os.environ["MUTANT"] = "wrong-reply"
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import append_correct  # noqa: E402

append_correct.main()
