#!/bin/sh
# tests/test_readme.sh — README.md's pipeline block is the shipped seed-scenario.json, byte
# for byte (evals/readme_sync.py generates it), and that file is a valid pipeline. The demo
# table is checked against a real demo run by .ci/run (it needs `make demo`); the benchmark
# table against the published quiet-machine `make bench` rows (tests/bench/published.jsonl:
# the rows of that run, copied from build/bench/history.jsonl).
set -u
BUILD=${BUILD:-build}
pass=0; fail=0
if /usr/bin/python3 evals/readme_sync.py --check-pipeline >/dev/null; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
if "$BUILD/bin/mergeval" -q run --check evals/pipelines/seed-scenario.json 2>/dev/null; then pass=$((pass + 1))
else echo "test_readme: FAIL: evals/pipelines/seed-scenario.json does not validate" >&2; fail=$((fail + 1)); fi
if /usr/bin/python3 evals/readme_sync.py --check-bench tests/bench/published.jsonl >/dev/null; then pass=$((pass + 1))
else echo "test_readme: FAIL: README's bench table is not tests/bench/published.jsonl's rows" >&2; fail=$((fail + 1)); fi
echo "test_readme: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
