#!/bin/sh
# tests/test_fuzz_replay.sh — replay every fuzz seed (tests/fuzz/corpus/NAME/) and every past
# crash input (tests/fuzz/crashes/NAME/) through its harness, built with the normal compiler
# against tests/fuzz/replay_main.c ($BUILD/fuzz/replay_NAME, made by `make all-tests`).
# Deterministic and fast (no fuzzing, no clang needed); under `make check-asan` the same
# inputs run with AddressSanitizer + UBSan. Prints "fuzz-replay: N passed, N failed" over
# inputs; a harness whose binary is missing counts as one failure.
cd "$(dirname "$0")/.." || exit 2
build=${BUILD:-build}
passed=0; failed=0
for src in tests/fuzz/fuzz_*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c); name=${name#fuzz_}
  bin=$build/fuzz/replay_$name
  if [ ! -x "$bin" ]; then
    echo "fuzz-replay: $bin missing (make all-tests)"; failed=$((failed + 1)); continue
  fi
  files=$(find tests/fuzz/corpus/$name tests/fuzz/crashes/$name -type f 2>/dev/null | sort)
  # File names are ours (no blanks); word splitting of $files is intended.
  # shellcheck disable=SC2086
  out=$("$bin" $files 2>&1); rc=$?
  echo "$out" | grep -E 'FAILED|ERROR|runtime error' | head -20
  line=$(echo "$out" | grep -E "^replay_$name: [0-9]+ passed, [0-9]+ failed$" | tail -1)
  if [ -z "$line" ]; then
    echo "fuzz-replay: $name: driver died (exit $rc)"; echo "$out" | tail -20; failed=$((failed + 1)); continue
  fi
  echo "  $line"
  p=$(echo "$line" | awk '{print $2}'); f=$(echo "$line" | awk '{print $4}')
  passed=$((passed + p)); failed=$((failed + f))
  [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || failed=$((failed + 1))
done
echo "fuzz-replay: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
