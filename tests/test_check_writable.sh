#!/bin/sh
# tests/test_check_writable.sh — `mergeval run --check PIPELINE --out DIR` checks this machine
# before any stage: RUN_DIR can be created and written (a path under a regular file fails for
# root too; a read-only folder when not root), so can an exec evaluation's items_file outside
# RUN_DIR; the output guard's refusals (a foreign folder without --force, RUN_DIR inside an
# input); unreadable inputs. All problems are listed at once with their --out / JSON path, and
# the count in the summary line equals the lines listed.
set -u
BUILD=${BUILD:-build}
mv="$BUILD/bin/mergeval"
tmp=$(mktemp -d /tmp/mv-chkw-XXXXXX)
trap 'chmod -R u+rwX "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_check_writable: FAIL: $*" >&2; }
run() { "$@" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc"; }
rc() { cat "$tmp/rc"; }
check_out() { run "$mv" run --check "$tmp/p.json" --out "$@"; }
has() { grep -q -- "$2" "$tmp/$1" && ok || bad "expected '$2' in $1 of: $(head -c 600 "$tmp/$1")"; }
# "has N problems:" and exactly N indented lines after it.
count_right() {
  n=$(sed -n 's/.* has \([0-9]*\) problems:$/\1/p' "$tmp/err")
  listed=$(grep -c '^  ' "$tmp/err")
  [ -n "$n" ] && [ "$n" = "$2" ] && [ "$listed" = "$2" ] && ok ||
    bad "$1: expected $2 problems counted and listed, got '$n' counted, $listed listed: $(cat "$tmp/err")"
}

mkdir -p "$tmp/base" "$tmp/data" "$tmp/foreign"
printf '{"id": "a", "text": "hello"}\n' >"$tmp/data/d.jsonl"
echo "someone's notes" >"$tmp/foreign/notes.txt"
echo "a file" >"$tmp/file"
pipeline() {  # $1: extra top-level JSON members (may be empty), $2: the dataset's path
  cat >"$tmp/p.json" <<J
{"name": "t", "base": "$tmp/base", "iterations": 0, $1
 "datasets": {"d": {"loader": "text", "path": "${2:-$tmp/data/d.jsonl}"}},
 "evaluate": [{"name": "ppl", "plugin": "perplexity", "dataset": "d"}]}
J
}
pipeline ""

check_out "$tmp/new/run"
[ "$(rc)" = 0 ] && ok || bad "a creatable --out: exit $(rc): $(cat "$tmp/err")"
has out "valid"
[ -e "$tmp/new" ] && bad "--check created the run folder" || ok

# A path under a regular file cannot be created, whoever runs the check (root included).
check_out "$tmp/file/sub"
[ "$(rc)" = 2 ] && ok || bad "--out under a file: exit $(rc) (want 2)"
has err "--out $tmp/file/sub: cannot be created because $tmp/file is a file, not a folder"
grep -q "valid" "$tmp/out" && bad "--out under a file was reported valid" || ok

# The output guard, before any stage: a foreign folder needs --force; inside an input never.
check_out "$tmp/foreign"
[ "$(rc)" = 2 ] && ok || bad "foreign --out: exit $(rc) (want 2)"
has err "not written by mergeval"
has err "Pass --force"
check_out "$tmp/foreign" --force
[ "$(rc)" = 0 ] && ok || bad "foreign --out with --force: exit $(rc): $(cat "$tmp/err")"
[ -f "$tmp/foreign/notes.txt" ] && ok || bad "--check --force touched the foreign folder"
check_out "$tmp/base/run" --force
[ "$(rc)" = 2 ] && ok || bad "--out inside the base model folder: exit $(rc) (want 2)"
has err "lies inside the input $tmp/base"

# Every problem at once, counted right: a recipe error, a missing input (a warning here, not
# counted) and the unwritable --out.
pipeline '"iteratons": 1,' "$tmp/data/missing.jsonl"
check_out "$tmp/file/sub"
[ "$(rc)" = 2 ] && ok || bad "recipe + missing input + --out: exit $(rc) (want 2)"
has err '\$.iteratons'
has err '\$.datasets.d.path'
has err "is a file, not a folder"
has err "warning: input missing here"
count_right "recipe + missing input (a warning) + --out" 2
pipeline '"iteratons": 1, "seed": "x",'
check_out "$tmp/file/sub"
count_right "two recipe errors + --out" 3
pipeline "" "$tmp/data/missing.jsonl"
check_out "$tmp/file/sub"
[ "$(rc)" = 2 ] && ok || bad "missing input (warning) + --out: exit $(rc) (want 2)"
has err "warning: input missing here"
has err "error: --out $tmp/file/sub"
grep -q "problems:" "$tmp/err" && bad "a warning was counted as a problem: $(cat "$tmp/err")" || ok

# Files an evaluation's command writes outside RUN_DIR (exec's items_file, an absolute path).
cat >"$tmp/p.json" <<J
{"name": "t", "base": "$tmp/base", "iterations": 0,
 "datasets": {"d": {"loader": "text", "path": "$tmp/data/d.jsonl"}},
 "evaluate": [{"name": "x", "plugin": "exec", "dataset": "d",
               "params": {"command": ["true"], "items_file": "$tmp/file/items.jsonl",
                          "metrics_file": "{out}/m.json"}}]}
J
check_out "$tmp/run2"
[ "$(rc)" = 2 ] && ok || bad "exec items_file under a file: exit $(rc) (want 2)"
has err "\$.evaluate\[0\].params.items_file \"$tmp/file/items.jsonl\": $tmp/file is a file, not a folder"
grep -q "metrics_file" "$tmp/err" && bad "metrics_file under {out} was reported: $(cat "$tmp/err")" || ok

# Permissions: only meaningful when not root (root may write and read anything).
if [ "$(id -u)" != 0 ]; then
  pipeline ""
  mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
  chmod 000 "$tmp/data/d.jsonl"
  check_out "$tmp/ro/run"
  [ "$(rc)" = 2 ] && ok || bad "read-only parent + unreadable dataset: exit $(rc) (want 2)"
  has err "--out $tmp/ro/run: $tmp/ro is not writable"
  has err "\$.datasets.d.path: \"$tmp/data/d.jsonl\" is not readable"
  count_right "read-only parent + unreadable dataset" 2
  chmod 644 "$tmp/data/d.jsonl"
else
  echo "test_check_writable: running as root: the chmod cases are skipped (the file/sub cases ran)"
fi

echo "test_check_writable: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
