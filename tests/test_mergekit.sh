#!/bin/sh
# tests/test_mergekit.sh — mergekit YAML configs (one per method, in the shapes of mergekit's
# examples/*.yml) merged by `mergeval merge` and checked against the numpy re-implementation
# of mergekit's math in tests/golden/mergekit_reference.py; drop-in folder; bad configs.
set -u
BUILD=${BUILD:-build}
work=$(mktemp -d /tmp/mv-mergekit.XXXXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 tests/golden/mergekit_reference.py "$BUILD/bin/mergeval" "$work" >"$work/log" 2>&1
rc=$?
pass=$(grep -c '^ok ' "$work/log")
fail=$(grep -c '^FAIL' "$work/log")
[ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
grep '^FAIL' "$work/log" >&2
[ "$rc" -ne 0 ] && tail -5 "$work/log" >&2
echo "test_mergekit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
