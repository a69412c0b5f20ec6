#!/bin/sh
# tests/test_cli_ux.sh — what a newcomer meets at the command line: "did you mean" for
# commands, kinds and plugin names with a hint at --plugin-path; `plugins NAME` shows the
# parameters; one message per bad option; --quiet prints nothing but errors; progress in human
# units; `plugin check` on a missing file says so.
set -u
BUILD=${BUILD:-build}
mv="$BUILD/bin/mergeval"
tmp=$(mktemp -d /tmp/mv-ux-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_cli_ux: FAIL: $*" >&2; }
run() { "$@" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc"; }
rc() { cat "$tmp/rc"; }
has() { grep -q -- "$2" "$tmp/$1" && ok || bad "expected '$2' in $1 of: $(head -c 400 "$tmp/$1")"; }

run "$mv" evl;                         [ "$(rc)" = 2 ] && ok || bad "unknown command exit $(rc)"
has err "did you mean 'eval'"
run "$mv" plugins --kind merger;       [ "$(rc)" = 2 ] && ok || bad "--kind merger exit $(rc)"
has err "did you mean 'merge'"
run "$mv" plugins alignmnt;            [ "$(rc)" = 2 ] && ok || bad "plugins NAME typo exit $(rc)"
has err "did you mean 'alignment'"
has err "plugin-path"
run "$mv" plugins alignment;           [ "$(rc)" = 0 ] && ok || bad "plugins alignment exit $(rc)"
has out "distractors"                  # its parameters, without -v
has out "evaluators.so"
run "$mv" eval none --evaluator alignmnt --dataset x --out "$tmp/e"
has err "did you mean \"alignment\""
has err "MERGEVAL_PLUGIN_PATH"
# One message per bad option (ours), not getopt's as well.
run "$mv" plugins --bogus
[ "$(grep -c . "$tmp/err")" -eq 2 ] && ok || bad "unknown option printed $(grep -c . "$tmp/err") lines: $(cat "$tmp/err")"
has err "unknown option '--bogus'"
run "$mv" --bogus plugins
[ "$(grep -c . "$tmp/err")" -eq 2 ] && ok || bad "unknown global option printed: $(cat "$tmp/err")"
run "$mv" plugin check "$tmp/missing.so"; [ "$(rc)" = 2 ] && ok || bad "plugin check missing exit $(rc)"
has err "No such file"
grep -q "ABI" "$tmp/out" && bad "plugin check on a missing file printed an ABI line" || ok
# Pipeline keys and plugin parameters: "did you mean".
cat > "$tmp/p.json" <<'J'
{"name": "t", "base": "b", "datasets": {"d": {"loader": "text", "path": "d.jsonl"}},
 "evaluate": [{"name": "ppl", "plugin": "perplexity", "dataset": "d", "parms": {}}],
 "iteratons": 1}
J
run "$mv" run --check "$tmp/p.json"
has err 'did you mean "params"'
has err 'did you mean "iterations"'
# Merge: --quiet prints nothing at all on success; without it, progress in human units.
d=tests/data/merge/peft/basic_f32
run "$mv" -q merge --base "$d/base" --adapter "$d/adapter" --out "$tmp/m1"
[ "$(rc)" = 0 ] && ok || bad "quiet merge failed: $(cat "$tmp/err")"
[ -s "$tmp/out" ] || [ -s "$tmp/err" ] && bad "--quiet merge printed: $(cat "$tmp/out" "$tmp/err")" || ok
run "$mv" --no-progress merge --base "$d/base" --adapter "$d/adapter" --out "$tmp/m2"
[ "$(rc)" = 0 ] && ok || bad "merge failed: $(cat "$tmp/err")"
grep -Eq '[0-9.]+ (B|kB|MB|GB)/s' "$tmp/err" && ok || bad "progress not in human units: $(cat "$tmp/err")"
grep -Eq '[0-9]{5,} B' "$tmp/err" && bad "progress shows raw byte counts: $(cat "$tmp/err")" || ok
echo "test_cli_ux: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
