#!/bin/sh
# tests/test_merge_memory.sh — the streaming merge's peak memory stays within a budget set by
# its fixed buffers, not by the input: a ~640 MB generated LoRA merge checked against the
# same merge of a tiny checkpoint, and its values against numpy
# (tests/golden/merge_memory_check.py). Needs ~1.3 GB in /tmp; no timing involved.
exec sh tests/py_check.sh test_merge_memory tests/golden/merge_memory_check.py
