#!/bin/sh
# tests/fuzz/run.sh BUILD SECONDS NAME... — fuzz each named harness ($BUILD/fuzz/fuzz_NAME,
# from `make fuzz`) for SECONDS, starting from its seeds (tests/fuzz/corpus/NAME, with
# tests/fuzz/NAME.dict when present) plus a working corpus kept in $BUILD/corpus/NAME
# between runs. A crash, leak, sanitizer report, timeout or out-of-memory is written to
# $BUILD/crashes/NAME/ and printed; the script then fails (exit 1). Executions per harness
# are appended to $BUILD/fuzz-stats.txt.
# Environment: FUZZ_RSS_MB (2048), FUZZ_TIMEOUT (per input, seconds; 60), FUZZ_NICE (10).
set -u
build=$1; seconds=$2; shift 2
rss=${FUZZ_RSS_MB:-2048}; tmo=${FUZZ_TIMEOUT:-60}; nice_level=${FUZZ_NICE:-10}
failed=""; total=0
for name in "$@"; do
  bin=$build/fuzz/fuzz_$name
  [ -x "$bin" ] || { echo "fuzz: $bin missing (make fuzz)" >&2; failed="$failed $name"; continue; }
  work=$build/corpus/$name; crashes=$build/crashes/$name; log=$build/logs/$name.log
  mkdir -p "$work" "$crashes" "$build/logs"
  seeds=""; [ -d tests/fuzz/corpus/$name ] && seeds=tests/fuzz/corpus/$name
  dict=""; [ -f tests/fuzz/$name.dict ] && dict=-dict=tests/fuzz/$name.dict
  before=$(ls "$crashes" | wc -l)
  touch "$work"
  echo "== fuzz $name for ${seconds}s"
  # ASan: leaks are findings too; UBSan stops at the first report (built -fno-sanitize-recover).
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
  nice -n "$nice_level" "$bin" -max_total_time="$seconds" -rss_limit_mb="$rss" -timeout="$tmo" \
      -print_final_stats=1 -artifact_prefix="$crashes/" $dict "$work" $seeds > "$log" 2>&1
  rc=$?
  execs=$(awk '/stat::number_of_executed_units/ {s += $2} END {print s + 0}' "$log")
  total=$((total + execs))
  after=$(ls "$crashes" | wc -l)
  printf '%s %s execs=%s seconds=%s rc=%s\n' "$(date -u +%FT%TZ)" "$name" "$execs" "$seconds" "$rc" \
    >> "$build/fuzz-stats.txt"
  echo "   $execs executions, exit $rc"
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
    failed="$failed $name"
    echo "fuzz: $name FOUND A PROBLEM (log $log, inputs in $crashes/):" >&2
    grep -E 'ERROR: |runtime error|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20 >&2
    # The inputs themselves, so a CI log is enough to reproduce (base64 -d > file).
    find "$crashes" -type f -newer "$work" -size -8k 2>/dev/null | while read -r f; do
      echo "   input $(basename "$f") ($(wc -c < "$f") bytes, base64): $(base64 -w0 "$f")" >&2
    done
    echo "   keep the input: cp $crashes/<file> tests/fuzz/crashes/$name/ (replayed by make check)" >&2
  fi
done
echo "fuzz: $total executions in total"
[ -z "$failed" ] || { echo "fuzz: problems in:$failed" >&2; exit 1; }
