#!/bin/sh
# tests/test_bench_history.sh — the bench history (tests/bench/history.py) on fixture rows, no
# timing: `append` writes one JSON line with the run's host/commit and the computed ratio and
# bound ratio, refuses unknown fields; `view` compares each row of a run with the previous and
# best earlier runs on the same host, flags a 20% slowdown (times and rates) and not a 5% one,
# and ignores other hosts.
set -u
PY=/usr/bin/python3
H=tests/bench/history.py
tmp=$(mktemp -d /tmp/mv-bench-history-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_bench_history: FAIL: $*" >&2; }
has() { grep -q -- "$2" "$1" && ok || bad "$1 lacks '$2': $(cat "$1")"; }
hasnt() { grep -q -- "$2" "$1" && bad "$1 has '$2': $(cat "$1")" || ok; }

# --- append: fields from the environment (lib.sh's host line) + the row; ratios computed
export BENCH_RUN=r-now BENCH_HOSTNAME=box BENCH_CPU="Test CPU" BENCH_CORES=2 BENCH_BLAS_MV=Haswell \
       BENCH_BLAS_PEER=Haswell BENCH_CORETYPE_ENV=Haswell
$PY $H append "$tmp/a.jsonl" bench=merge row=ties unit=s better=lower mv=20 peer=640 \
  bound=8 bound_what="read+write" bound_goal=3 mv_rss_mb=45 rss_goal_mb=512 load_start=1.5 load_end=2.0 > "$tmp/out" \
  && ok || bad "append failed"
has "$tmp/out" "ROW merge/ties | mergeval 20 s, 45 MB RSS (goal <= 512 MB: met) | peer 640 s | ratio 32.00x"
has "$tmp/out" "ratio 32.00x"
has "$tmp/out" "mergeval/bound 2.50x (goal <= 3x: met)"
has "$tmp/out" "load 1.5 -> 2.0"
$PY - "$tmp/a.jsonl" > "$tmp/check" <<'PYEOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
r = json.loads(lines[0])
assert len(lines) == 1, lines
assert r["ratio"] == 32.0 and r["bound_ratio"] == 2.5, r
assert r["host"] == "box" and r["cpu"] == "Test CPU" and r["cores"] == 2, r
assert r["blas_mv"] == "Haswell" and r["blas_peer"] == "Haswell" and r["run"] == "r-now", r
assert r["mv"] == 20 and r["mv_rss_mb"] == 45 and r["load_start"] == 1.5, r
assert "date" in r and "commit" in r and "dirty" in r, r
print("fields ok")
PYEOF
has "$tmp/check" "fields ok"
# a rate: ratio is mergeval/peer, bound/mergeval
$PY $H append "$tmp/a.jsonl" bench=model row=train unit=steps/s better=higher mv=30 peer=10 bound=60 > "$tmp/out"
has "$tmp/out" "ratio 3.00x"
has "$tmp/out" "bound/mergeval 2.00x"
$PY $H append "$tmp/a.jsonl" bench=model row=x mv=1 sped=2 > "$tmp/out" 2>&1 && bad "unknown field accepted" || ok
has "$tmp/out" "bad field 'sped=2'"
[ "$(wc -l < "$tmp/a.jsonl")" -eq 2 ] && ok || bad "refused row was written"

# --- view: fixture history (two earlier runs on host box, one on another host, this run)
# run host date bench row better mv, one history line each
while read -r run host date bench name better mv; do
  printf '{"run": "%s", "host": "%s", "cpu": "Test CPU", "date": "%s", "commit": "c%s", "bench": "%s", "row": "%s", "better": "%s", "unit": "u", "mv": %s}\n' \
    "$run" "$host" "$date" "$run" "$bench" "$name" "$better" "$mv"
done > "$tmp/h.jsonl" <<'ROWS'
r1 box 2026-12-01T10:00:00Z merge ties lower 20
r1 box 2026-12-01T10:00:00Z merge lora lower 10
r1 box 2026-12-01T10:00:00Z model train higher 10
r1 box 2026-12-01T10:00:00Z model score higher 100
r2 box 2026-12-02T10:00:00Z merge ties lower 21
r2 box 2026-12-02T10:00:00Z merge lora lower 10
r2 box 2026-12-02T10:00:00Z model train higher 10
r2 box 2026-12-02T10:00:00Z model score higher 100
rx other 2026-12-02T11:00:00Z merge lora lower 1
r3 box 2026-12-03T10:00:00Z merge ties lower 24
r3 box 2026-12-03T10:00:00Z merge lora lower 10.5
r3 box 2026-12-03T10:00:00Z model train higher 8.3
r3 box 2026-12-03T10:00:00Z model score higher 95.3
ROWS
$PY $H view "$tmp/h.jsonl" > "$tmp/view" && ok || bad "view failed"
grep '^merge/ties ' "$tmp/view" > "$tmp/ties"; grep '^merge/lora ' "$tmp/view" > "$tmp/lora"
grep '^model/train ' "$tmp/view" > "$tmp/train"; grep '^model/score ' "$tmp/view" > "$tmp/score"
# 24 s vs previous 21 (+14.3%) and best 20 (+20%): flagged against both
has "$tmp/ties" "SLOWER: 14% slower than previous"
has "$tmp/ties" "20% slower than best"
has "$tmp/ties" "(+20.0%)"
# 10.5 vs 10: 5% slower, not flagged; the 1 s row of another host is not its best
hasnt "$tmp/lora" "SLOWER"
has "$tmp/lora" "(+5.0%)"
# a rate: 8.3 steps/s vs 10 is 20% slower; 95.3 vs 100 is 5%
has "$tmp/train" "SLOWER: 20% slower than previous"
hasnt "$tmp/score" "SLOWER"
has "$tmp/view" "2 of 4 rows slower by more than 10%"
# an explicit run id: r2 against r1 (nothing over 10%)
$PY $H view "$tmp/h.jsonl" --run r2 > "$tmp/view2"
has "$tmp/view2" "0 of 4 rows slower by more than 10%"
# a first run has nothing to compare with; a missing history is not an error
$PY $H view "$tmp/h.jsonl" --run r1 > "$tmp/view1"
has "$tmp/view1" "0 of 4 rows"
$PY $H view "$tmp/none.jsonl" > "$tmp/view0" && ok || bad "missing history is an error"
has "$tmp/view0" "no history at"

echo "test_bench_history: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
