#!/bin/sh
# tests/bench/run.sh — `make bench`: run the tests/bench/bench_*.sh scripts in turn (all, or the
# comma-separated BENCH_ONLY=model,merge,... subset). Each prints the host line, mergeval and
# its PyTorch peer side by side measured in the same run, and one ROW line per result (both
# times, ratio, physical bound, load), appended to $BENCH_HISTORY (build/bench/history.jsonl).
# Ends with the regression view: this run vs the previous and best runs on the same host.
# Full output of each script also goes to build/bench/results-NAME.txt.
set -u
mkdir -p build/bench
. tests/bench/lib.sh
BENCH_RUN=$(date -u +%Y%m%dT%H%M%SZ)-$$
export BENCH_RUN
bench_host run "${BUILD:-build}/bin/mergeval"
only=",${BENCH_ONLY:-},"
status=0
ran=0
for b in tests/bench/bench_*.sh; do
  [ -f "$b" ] || continue
  name=$(basename "$b" .sh)
  case "$only" in ",,"|*",${name#bench_},"*) ;; *) continue ;; esac
  ran=$((ran + 1))
  echo "=================================================================== $name"
  # the status of the script, not of tee (POSIX sh has no pipefail)
  { sh "$b" 2>&1; echo $? > "build/bench/.status-$name"; } | tee "build/bench/results-$name.txt"
  [ "$(cat "build/bench/.status-$name")" = 0 ] || status=1
  rm -f "build/bench/.status-$name"
done
if [ "$ran" = 0 ]; then
  echo "bench: BENCH_ONLY=$BENCH_ONLY matches no script (names: $(ls tests/bench/bench_*.sh | sed 's|.*/bench_||; s|\.sh$||' | tr '\n' ' '))"
  exit 2
fi
echo "=================================================================== history"
"$BENCH_PY" tests/bench/history.py view "$BENCH_HISTORY" --run "$BENCH_RUN"
exit $status
