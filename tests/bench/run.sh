#!/bin/sh
# tests/bench/run.sh — `make bench`: run every tests/bench/bench_*.sh in turn. Each prints
# mergeval and its PyTorch peer side by side, measured in the same run, with ratios and the
# OpenBLAS setting both sides used. Results also go to build/bench/results-*.txt.
set -u
mkdir -p build/bench
status=0
for b in tests/bench/bench_*.sh; do
  [ -f "$b" ] || continue
  name=$(basename "$b" .sh)
  echo "=================================================================== $name"
  if ! sh "$b" 2>&1 | tee "build/bench/results-$name.txt"; then status=1; fi
done
exit $status
