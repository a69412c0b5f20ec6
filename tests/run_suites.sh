#!/bin/sh
# Run every Check suite given as an argument, even after a failure; print a closing
# "N passed, N failed" line over the suites and exit non-zero if any suite failed.
passed=0; failed=0; failed_names=""
for t in "$@"; do
  echo "== $t"
  # Shell suites run through sh, so a missing execute bit cannot fail a suite.
  case "$t" in *.sh) runner=sh ;; *) runner= ;; esac
  if CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120} $runner "$t"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failed_names="$failed_names $t"
  fi
done
echo
[ -n "$failed_names" ] && echo "failed suites:$failed_names"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
