#!/bin/sh
# tests/py_check.sh NAME SCRIPT — run a Python check (SCRIPT MERGEVAL SCRATCH_DIR, printing
# "ok ..." / "FAIL ..." lines) in a scratch directory removed afterwards, and print the suite
# line "NAME: N passed, N failed"; exits non-zero on any failure. For tests/test_*.sh.
set -u
BUILD=${BUILD:-build}
name=$1 script=$2
work=$(mktemp -d "/tmp/mv-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$script" "$BUILD/bin/mergeval" "$work" >"$work/log" 2>&1
rc=$?
pass=$(grep -c '^ok ' "$work/log")
fail=$(grep -c '^FAIL' "$work/log")
[ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
grep '^FAIL' "$work/log" >&2
[ "$rc" -ne 0 ] && tail -5 "$work/log" >&2
echo "$name: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
