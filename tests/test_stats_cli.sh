#!/bin/sh
# tests/test_stats_cli.sh — `mergeval plan` (known sample sizes, usage errors) and the
# statistics options of `mergeval compare` (validated before any run is read).
set -u
T=$(mktemp -d /tmp/mv-test_stats_cli-XXXXXX)   # per run: parallel runs must not share files
trap 'rm -rf "$T"' EXIT
B=${BUILD:-build}
mv="$B/bin/mergeval"
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_stats_cli: FAIL: $*" >&2; }
expect_rc() {
  want=$1; shift
  "$@" >$T/out 2>$T/err
  rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "exit $rc (want $want): $*"; cat $T/err >&2; fi
}

# Connor (1987): d = 0.03, r = 0.15, 90% power, alpha 0.05 -> 1748 (see tests/test_stats_sim.c).
expect_rc 0 "$mv" plan --drop 0.03 --discordance 0.15 --power 0.9
grep -q "discordance 0.15: 1748 paired items detect a drop of 0.03 with 90% power" $T/out \
  && ok || bad "plan McNemar: $(cat $T/out)"
# Paired means: ((1.96 + 0.8416) * 2 / 0.5)^2 = 125.6 -> 126.
expect_rc 0 "$mv" plan --drop 0.5 --sd 2
grep -q "126 paired items" $T/out && ok || bad "plan sd: $(cat $T/out)"
# Bonferroni over 10 comparisons needs more items than one comparison.
expect_rc 0 "$mv" plan --drop 0.03 --discordance 0.15 --comparisons 10
n10=$(sed -n 's/.*: \([0-9]*\) paired items.*/\1/p' $T/out)
expect_rc 0 "$mv" plan --drop 0.03 --discordance 0.15
n1=$(sed -n 's/.*: \([0-9]*\) paired items.*/\1/p' $T/out)
[ "${n10:-0}" -gt "${n1:-0}" ] && ok || bad "--comparisons 10 gave $n10, 1 gave $n1"
# Usage errors: exit 2 with a message naming the problem.
expect_rc 2 "$mv" plan --discordance 0.15
grep -q "drop" $T/err && ok || bad "missing --drop not explained"
expect_rc 2 "$mv" plan --drop 0.03
expect_rc 2 "$mv" plan --drop 0.03 --discordance 0.15 --sd 1
expect_rc 2 "$mv" plan --drop 0.2 --discordance 0.1
grep -q "at least that share" $T/err && ok || bad "impossible drop not explained"
expect_rc 2 "$mv" plan --drop abc --discordance 0.1
expect_rc 2 "$mv" plan --drop 0.03 --from /nonexistent
expect_rc 2 "$mv" plan --drop 0.03 --from /nonexistent --metric alignment.i2t_r1
# compare: its statistics options are validated.
expect_rc 2 "$mv" compare --resamples 10 a b
expect_rc 2 "$mv" compare --seed -1 a b
expect_rc 2 "$mv" compare --max-unpaired 2 a b
expect_rc 0 "$mv" compare --help
grep -q -- "--max-unpaired" $T/out && ok || bad "compare --help lacks --max-unpaired"

echo "test_stats_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
