#!/usr/bin/env python3
"""Mutant kafka node: the correct node with the 'out-of-order' bug (see kafka_correct.py)."""
import os
import sys

os.environ["MUTANT"] = "out-of-order"
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_correct  # noqa: E402

kafka_correct.main()
