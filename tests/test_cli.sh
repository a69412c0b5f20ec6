#!/bin/sh
# tests/test_cli.sh — CLI conventions: --version, --help on every subcommand (exit 0, text
# on stdout), usage errors exit 2 with a hint, the built-in plugins are found without any
# environment variable, and a broken plugin on --plugin-path is one line while the rest load.
set -u
T=$(mktemp -d /tmp/mv-test_cli-XXXXXX)   # per run: parallel runs must not share files
trap 'rm -rf "$T"' EXIT
BUILD=${BUILD:-build}
mv="$BUILD/bin/mergeval"
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_cli: FAIL: $*" >&2; }
expect_rc() { want=$1; shift; "$@" >$T/out 2>$T/err; rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "'$*' exited $rc, expected $want: $(head -c 300 $T/err)"; fi; }

expect_rc 0 "$mv" --version
grep -q "plugin ABI 1.2" $T/out || bad "--version lacks the ABI"
expect_rc 0 "$mv" --help
expect_rc 2 "$mv"
expect_rc 2 "$mv" no-such-command
grep -q "unknown command 'no-such-command'" $T/err || bad "unknown command message"
for c in plugins plugin inspect match merge train gen eval export combine run compare history report plan; do
  expect_rc 0 "$mv" "$c" --help
  [ -s $T/out ] || bad "'$c --help' printed nothing on stdout"
  grep -qi "usage" $T/out || bad "'$c --help' has no usage line"
done
expect_rc 2 "$mv" plugins --bogus-option
expect_rc 2 "$mv" --threads 0 plugins

# Built-in plugins are found relative to the binary, with no environment variable.
env -u MERGEVAL_PLUGIN_PATH "$mv" plugins --json >$T/json 2>$T/err
for p in safetensors; do
  grep -q "\"name\":[[:space:]]*\"$p\"" $T/json || bad "built-in plugin $p not listed"
done
# A directory of broken fixtures: each problem is one stderr line, good plugins still load.
fx="$BUILD/tests/fixtures"
if [ -d "$fx" ]; then
  "$mv" --plugin-path "$fx" plugins --json >$T/json 2>$T/err
  [ $? -eq 0 ] && ok || bad "plugins with broken fixtures exited non-zero"
  grep -q '"fixture-good"' $T/json && ok || bad "good fixture not loaded next to broken ones"
  grep -q '"safetensors"' $T/json && ok || bad "built-ins lost when broken plugins present"
  n=$(grep -c '^mergeval: plugin ' $T/err)
  [ "$n" -ge 12 ] && ok || bad "expected >= 12 one-line plugin diagnostics, got $n"
  expect_rc 2 "$mv" plugin check "$fx/abi-major.so"
  expect_rc 0 "$mv" plugin check "$fx/good.so"
  grep -q "ok  evaluator fixture-good" $T/out || bad "plugin check output"
fi
echo "test_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
