#!/bin/sh
# tests/test_merge_memory.sh — the streaming merge's peak memory stays within a budget set by
# its fixed buffers, not by the input: a ~640 MB generated LoRA merge checked against the
# same merge of a tiny checkpoint, and its values against numpy
# (tests/golden/merge_memory_check.py). Needs ~1.3 GB in /tmp; no timing involved.
set -u
BUILD=${BUILD:-build}
work=$(mktemp -d /tmp/mv-merge-memory.XXXXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 tests/golden/merge_memory_check.py "$BUILD/bin/mergeval" "$work" >"$work/log" 2>&1
rc=$?
pass=$(grep -c '^ok ' "$work/log")
fail=$(grep -c '^FAIL' "$work/log")
[ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
grep '^FAIL' "$work/log" >&2
[ "$rc" -ne 0 ] && tail -5 "$work/log" >&2
echo "test_merge_memory: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
