#!/bin/sh
# tests/test_cli.sh — CLI conventions: --version, --help on every subcommand (exit 0, text
# on stdout), usage errors exit 2 with a hint, the built-in plugins are found without any
# environment variable, and a broken plugin on --plugin-path is one line while the rest load.
set -u
BUILD=${BUILD:-build}
mv="$BUILD/bin/mergeval"
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_cli: FAIL: $*" >&2; }
expect_rc() { want=$1; shift; "$@" >/tmp/mv-cli.out 2>/tmp/mv-cli.err; rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "'$*' exited $rc, expected $want: $(head -c 300 /tmp/mv-cli.err)"; fi; }

expect_rc 0 "$mv" --version
grep -q "plugin ABI 1.1" /tmp/mv-cli.out || bad "--version lacks the ABI"
expect_rc 0 "$mv" --help
expect_rc 2 "$mv"
expect_rc 2 "$mv" no-such-command
grep -q "unknown command 'no-such-command'" /tmp/mv-cli.err || bad "unknown command message"
for c in plugins plugin inspect match merge train gen eval export combine run compare history report plan; do
  expect_rc 0 "$mv" "$c" --help
  [ -s /tmp/mv-cli.out ] || bad "'$c --help' printed nothing on stdout"
  grep -qi "usage" /tmp/mv-cli.out || bad "'$c --help' has no usage line"
done
expect_rc 2 "$mv" plugins --bogus-option
expect_rc 2 "$mv" --threads 0 plugins

# Built-in plugins are found relative to the binary, with no environment variable.
env -u MERGEVAL_PLUGIN_PATH "$mv" plugins --json >/tmp/mv-cli.json 2>/tmp/mv-cli.err
for p in safetensors; do
  grep -q "\"name\":[[:space:]]*\"$p\"" /tmp/mv-cli.json || bad "built-in plugin $p not listed"
done
# A directory of broken fixtures: each problem is one stderr line, good plugins still load.
fx="$BUILD/tests/fixtures"
if [ -d "$fx" ]; then
  "$mv" --plugin-path "$fx" plugins --json >/tmp/mv-cli.json 2>/tmp/mv-cli.err
  [ $? -eq 0 ] && ok || bad "plugins with broken fixtures exited non-zero"
  grep -q '"fixture-good"' /tmp/mv-cli.json && ok || bad "good fixture not loaded next to broken ones"
  grep -q '"safetensors"' /tmp/mv-cli.json && ok || bad "built-ins lost when broken plugins present"
  n=$(grep -c '^mergeval: plugin ' /tmp/mv-cli.err)
  [ "$n" -ge 12 ] && ok || bad "expected >= 12 one-line plugin diagnostics, got $n"
  expect_rc 2 "$mv" plugin check "$fx/abi-major.so"
  expect_rc 0 "$mv" plugin check "$fx/good.so"
  grep -q "ok  evaluator fixture-good" /tmp/mv-cli.out || bad "plugin check output"
fi
echo "test_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
