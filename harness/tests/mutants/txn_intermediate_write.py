#!/usr/bin/env python3
"""Mutant txn-rw-register node: the correct node with the 'intermediate' bug (see txn_correct.py)."""
import os
import sys

os.environ["MUTANT"] = "intermediate"
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import txn_correct  # noqa: E402

txn_correct.main()
