#!/bin/sh
# tests/test_safety.sh — issue 12.1-3 end to end: no command's --out destroys user data (a
# foreign folder is refused without --force and replaced atomically with it; an input is never
# an output, with or without --force); a run folder (and a training folder) is locked, and a
# lock left by a kill -9 is taken over; plugin code calling exit(0)/_exit(0) during a stage
# makes `mergeval run` fail with exit 3 (with and without --isolate), never pass.
set -u
BUILD=${BUILD:-build}
mv="$BUILD/bin/mergeval"
fx="$BUILD/tests/fixtures-safety"
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_safety: FAIL: $*" >&2; }
T=$(mktemp -d /tmp/mv-safety.XXXXXX)
trap 'rm -rf "$T"' EXIT
out="$T/stdout"; err="$T/stderr"
expect_rc() { want=$1; shift; "$@" >"$out" 2>"$err"; rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "'$*' exited $rc, expected $want: $(head -c 400 "$err")"; fi; }
expect_err() { if grep -q -- "$1" "$err"; then ok; else bad "stderr lacks '$1': $(head -c 400 "$err")"; fi; }
# A folder of user files whose survival the test checks.
user_dir() { rm -rf "$1"; mkdir -p "$1"; echo "precious $1" > "$1/keep.txt"; }
kept() { if [ "$(cat "$1/keep.txt" 2>/dev/null)" = "precious $1" ]; then ok; else bad "$1/keep.txt was lost"; fi; }
# No temporary or moved-aside siblings left next to $1.
no_leftovers() { n=$(ls -d "$1".tmp-* "$1".old-* 2>/dev/null | wc -l)
  if [ "$n" -eq 0 ]; then ok; else bad "leftovers next to $1: $(ls -d "$1".tmp-* "$1".old-* 2>/dev/null)"; fi; }

cp -r tests/data/merge/peft/basic_f32/base tests/data/merge/peft/basic_f32/adapter "$T/"
base="$T/base"; ad="$T/adapter"
base_sum=$(cat "$base"/* | sha256sum)

# ---------------------------------------------------------------- merge
user_dir "$T/u"
expect_rc 2 "$mv" -q merge --base "$base" --adapter "$ad" --out "$T/u"
expect_err "$T/u already exists and was not written by mergeval"
expect_err "\-\-force"
kept "$T/u"
expect_rc 2 "$mv" -q merge --base "$base" --adapter "$ad" --out "$base" --force
expect_err "is the input"
expect_rc 2 "$mv" -q merge --base "$base" --adapter "$ad" --out "$ad/merged" --force
expect_err "lies inside the input"
expect_rc 2 "$mv" -q merge --base "$base" --adapter "$ad" --out "$T" --force
expect_err "contains the input"
[ "$(cat "$base"/* | sha256sum)" = "$base_sum" ] && ok || bad "the base model changed"
[ ! -e "$ad/merged" ] && ok || bad "a refused --out inside an input was created"
# Through a symlink: real paths are compared.
ln -s "$base" "$T/base-link"
expect_rc 2 "$mv" -q merge --base "$base" --adapter "$ad" --out "$T/base-link" --force
expect_rc 0 "$mv" -q merge --base "$base" --adapter "$ad" --out "$T/u" --force
[ -f "$T/u/model.safetensors" ] && [ ! -e "$T/u/keep.txt" ] && ok || bad "merge --force did not replace $T/u"
no_leftovers "$T/u"
# Its own output is replaced without --force (reruns keep working).
expect_rc 0 "$mv" -q merge --base "$base" --adapter "$ad" --out "$T/u"
expect_rc 0 "$mv" -q merge --base "$base" --adapter "$ad" --out "$T/m-new"
# A merge that fails leaves the foreign folder untouched even with --force.
user_dir "$T/u2"
expect_rc 2 "$mv" -q merge --base "$base" --adapter "$T/no-such-adapter" --out "$T/u2" --force
kept "$T/u2"
no_leftovers "$T/u2"

# ---------------------------------------------------------------- train
cp tests/data/sft/general/train.jsonl "$T/train.jsonl"
cat > "$T/train.json" <<EOF
{"trainer": "sft", "model": {"arch": "llama", "config": {}},
 "datasets": {"g": {"path": "$T/train.jsonl", "loader": "text"}},
 "params": {"tune_llm": true, "output": "full", "max_steps": 2, "batch_size": 2, "max_len": 32,
            "seed": 1, "save_every": 1}}
EOF
user_dir "$T/tu"
expect_rc 2 "$mv" -q train "$T/train.json" --out "$T/tu"
kept "$T/tu"
expect_rc 2 "$mv" -q train "$T/train.json" --out "$T/train.jsonl" --force
expect_err "is the input"
expect_rc 2 "$mv" -q train "$T/train.json" --out "$T" --force
expect_rc 0 "$mv" -q train "$T/train.json" --out "$T/tu" --force
[ -f "$T/tu/model.safetensors" ] && [ ! -e "$T/tu/keep.txt" ] && ok || bad "train --force did not replace"
no_leftovers "$T/tu"
expect_rc 0 "$mv" -q train "$T/train.json" --out "$T/tu" --resume
# Two trainers on one folder: a held lock makes the second exit 2, naming the holder.
echo 4242 > "$T/tu/mergeval.lock"
python3 -c 'import fcntl, os, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); open(sys.argv[2], "w").close()
for _ in range(6000):
    if os.path.exists(sys.argv[3]): break
    time.sleep(0.1)' "$T/tu/mergeval.lock" "$T/locked" "$T/unlock" &
hold=$!
i=0; while [ $i -lt 1200 ] && [ ! -e "$T/locked" ]; do sleep 0.1; i=$((i + 1)); done
expect_rc 2 "$mv" -q train "$T/train.json" --out "$T/tu" --resume
expect_err "in use by another mergeval training (pid 4242"
touch "$T/unlock"; wait "$hold"
expect_rc 0 "$mv" -q train "$T/train.json" --out "$T/tu" --resume

# ---------------------------------------------------------------- eval, combine
ev() { "$mv" -q --plugin-path "$fx" eval --evaluator fixture-ok "$@"; }
user_dir "$T/eu"
expect_rc 2 ev --out "$T/eu"
kept "$T/eu"
expect_rc 2 ev "$base" --out "$base/eval" --force
expect_err "lies inside the input"
expect_rc 0 ev --out "$T/eu" --force
[ -f "$T/eu/metrics.json" ] && [ ! -e "$T/eu/keep.txt" ] && ok || bad "eval --force did not replace"
no_leftovers "$T/eu"
expect_rc 0 ev --out "$T/eu"
user_dir "$T/cu"
expect_rc 2 "$mv" -q combine "$T/eu" --out "$T/cu"
kept "$T/cu"
expect_rc 2 "$mv" -q combine "$T/eu" --out "$T/eu" --force
expect_err "is the input"
expect_rc 0 "$mv" -q combine "$T/eu" --out "$T/cu" --force
[ -f "$T/cu/metrics.json" ] && [ ! -e "$T/cu/keep.txt" ] && ok || bad "combine --force did not replace"

# ---------------------------------------------------------------- gen
user_dir "$T/gu"
expect_rc 2 "$mv" -q gen text --kind general --docs 20 --out "$T/gu"
kept "$T/gu"
expect_rc 0 "$mv" -q gen text --kind general --docs 20 --out "$T/gu" --force
[ -f "$T/gu/train.jsonl" ] && [ ! -e "$T/gu/keep.txt" ] && ok || bad "gen --force did not replace"
no_leftovers "$T/gu"
expect_rc 0 "$mv" -q gen text --kind general --docs 20 --out "$T/gu"

# ---------------------------------------------------------------- run
pipeline() { # $1 file, $2 evaluator of the second evaluation
  cat > "$1" <<EOF
{"name": "safety", "base": {"path": "$base"},
 "datasets": {"d": {"loader": "text", "path": "$T/train.jsonl"}},
 "iterations": 0,
 "evaluate": [{"name": "good", "plugin": "fixture-ok"}, {"name": "second", "plugin": "$2"}],
 "gates": [{"metric": "good.answer", "vs": "baseline", "max_drop": 0}]}
EOF
}
run() { "$mv" -q --plugin-path "$fx" run "$@"; }
pipeline "$T/ok.json" fixture-ok
user_dir "$T/ru"
expect_rc 2 run "$T/ok.json" --out "$T/ru"
expect_err "$T/ru already exists and was not written by mergeval"
kept "$T/ru"
expect_rc 2 run "$T/ok.json" --out "$base/run" --force
expect_rc 2 run "$T/ok.json" --out "$T" --force
expect_err "contains the input"
expect_rc 0 run "$T/ok.json" --out "$T/ru" --force
[ -f "$T/ru/run.json" ] && [ ! -e "$T/ru/keep.txt" ] && ok || bad "run --force did not replace"
no_leftovers "$T/ru"
# A previous run of the same pipeline is resumed (no --force needed), and is not locked after.
expect_rc 0 run "$T/ok.json" --out "$T/ru"
grep -q '"resumes":[[:space:]]*1' "$T/ru/run.json" && ok || bad "rerun did not resume"
[ ! -e "$T/ru/mergeval.lock" ] && ok || bad "lock file left after a finished run"
# --restart keeps working.
expect_rc 0 run "$T/ok.json" --out "$T/ru" --restart

# A second runner on a busy run folder exits 2 naming the holder; after a kill -9 of the first
# runner, its lock is taken over and the run resumes.
pipeline "$T/wait.json" fixture-wait
export MV_TEST_RELEASE="$T/release"
"$mv" -q --plugin-path "$fx" run "$T/wait.json" --out "$T/rl" >/dev/null 2>&1 &
first=$!
i=0; while [ $i -lt 1200 ] && ! grep -q '"second"\|iter-0/eval/second' "$T/rl/run.json" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
i=0; while [ $i -lt 1200 ] && [ ! -s "$T/rl/mergeval.lock" ]; do sleep 0.1; i=$((i + 1)); done
holder=$(cat "$T/rl/mergeval.lock" 2>/dev/null)
expect_rc 2 run "$T/wait.json" --out "$T/rl"
expect_err "in use by another mergeval run (pid $holder"
kill -9 "$first"; wait "$first" 2>/dev/null
# The runner's worker dies with it (PR_SET_PDEATHSIG); wait until the holder is gone.
i=0; while [ $i -lt 1200 ] && kill -0 "$holder" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
touch "$MV_TEST_RELEASE"
expect_rc 0 run "$T/wait.json" --out "$T/rl"
unset MV_TEST_RELEASE

# Plugin code calling exit(0) / _exit(0) in a stage: exit 3, the stage not done, no reports.
# The status of stage $2 in run.json $1 (the first key of the stage's object).
stage_status() { awk -v id="\"$2\":" 'index($0, id) { f = 1; next }
  f && /"status"/ { gsub(/[",[:space:]]/, ""); sub(/^status:/, ""); print; exit }' "$1"; }
for e in fixture-exit fixture-underscore-exit; do
  pipeline "$T/$e.json" "$e"
  for iso in "" --isolate; do
    d="$T/run-$e$iso"
    expect_rc 3 run "$T/$e.json" --out "$d" $iso
    expect_err "without reporting completion"
    st=$(stage_status "$d/run.json" iter-0/eval/second)
    [ -n "$st" ] && [ "$st" != done ] && ok || bad "$e$iso: stage marked '$st'"
    [ "$(stage_status "$d/run.json" iter-0/eval/good)" = done ] && ok || bad "$e$iso: the good stage is not done"
    [ ! -e "$d/summary.json" ] && [ ! -e "$d/junit.xml" ] && [ ! -e "$d/report.md" ] && ok || bad "$e$iso: reports written"
    # and a rerun still does not pass
    expect_rc 3 run "$T/$e.json" --out "$d" $iso
  done
  # the same for one evaluation outside a pipeline
  expect_rc 3 "$mv" -q --plugin-path "$fx" eval --evaluator "$e" --out "$T/eval-$e"
  [ ! -e "$T/eval-$e/metrics.json" ] && ok || bad "eval $e wrote metrics"
done

# export: --force may replace an earlier export, never the dataset it reads.
cp tests/data/datasets/docs.jsonl "$T/exp-in.jsonl"
sum0=$(cksum < "$T/exp-in.jsonl")
expect_rc 2 "$mv" -q export --format jsonl --dataset "$T/exp-in.jsonl" --out "$T/exp-in.jsonl" --force
expect_err "is the input"
[ "$(cksum < "$T/exp-in.jsonl")" = "$sum0" ] && ok || bad "export --force overwrote its own input"
expect_rc 0 "$mv" -q export --format jsonl --dataset "$T/exp-in.jsonl" --out "$T/exp-out.jsonl"
expect_rc 2 "$mv" -q export --format jsonl --dataset "$T/exp-in.jsonl" --out "$T/exp-out.jsonl"
expect_rc 0 "$mv" -q export --format jsonl --dataset "$T/exp-in.jsonl" --out "$T/exp-out.jsonl" --force

echo "test_safety: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
