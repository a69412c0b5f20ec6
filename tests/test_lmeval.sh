#!/bin/sh
# tests/test_lmeval.sh — lm-evaluation-harness folders through the CLI end to end:
# `mergeval eval none --evaluator lm-eval` on the fixtures (tests/data/lmeval), values checked
# against the harness's results_*.json by an independent Python reader; then `mergeval compare`
# of the two imports: deltas, discordant pairs and McNemar p recomputed in Python from the
# imported items.jsonl (exact binomial via math.comb), the markdown report, and the errors a
# user meets (no --log_samples, a run compared with an evaluation folder).
set -u
BUILD=${BUILD:-build}
MV="$BUILD/bin/mergeval --no-progress"
PY=/usr/bin/python3
D=tests/data/lmeval
tmp=$(mktemp -d /tmp/mv-lmeval-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "test_lmeval: FAIL: $*" >&2; }
check() { if "$@"; then ok; else bad "$*"; fi; }

# 1. imports equal the harness's numbers (1e-9), per folder
for r in run_a run_b old; do
  if $MV -q eval none --evaluator lm-eval --param path=$D/$r --out "$tmp/$r" 2>"$tmp/$r.err"; then ok
  else bad "import of $r failed: $(cat "$tmp/$r.err")"; continue; fi
  check $PY - "$D/$r" "$tmp/$r/metrics.json" <<'PY'
import glob, json, sys
folder, mj = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(folder + "/*/results_*.json")) or [folder + "/results.json"]
res = json.load(open(files[-1]))["results"]          # newest timestamp sorts last
want = {}
for task, kv in res.items():
    for k, v in kv.items():
        if "," in k and isinstance(v, (int, float)) and not k.split(",")[0].endswith("_stderr"):
            m, f = k.split(",", 1)
            want[f"{task}.{m}" + ("" if f == "none" else f".{f}")] = v
got = {k: v["value"] for k, v in json.load(open(mj))["metrics"].items()}
assert set(got) == set(want), (sorted(got), sorted(want))
for k, v in want.items():
    assert abs(got[k] - v) <= 1e-9 * max(1, abs(v)), (k, got[k], v)
PY
done

# 2. the CLI printout names the metrics; `none` records no model
$MV eval none --evaluator lm-eval --param path=$D/run_a --out "$tmp/p" >"$tmp/p.out" 2>&1
check grep -q "gsm8k.exact_match.flexible-extract" "$tmp/p.out"
check grep -q "wikitext.word_perplexity .*lower is better" "$tmp/p.out"
check $PY -c "import json,sys; assert 'model' not in json.load(open('$tmp/p/metrics.json')).get('extra', {})"

# 3. compare two imports: known deltas, McNemar from the items
$MV compare "$tmp/run_a" "$tmp/run_b" --json >"$tmp/cmp.json" 2>"$tmp/cmp.err"
check test $? -eq 0
check $PY - "$tmp/cmp.json" "$tmp/run_a" "$tmp/run_b" "$D/expected.json" <<'PY'
import json, math, sys
summary, da, db, expf = sys.argv[1:5]
s = json.load(open(summary))
exp = json.load(open(expf))
def items(d):
    out = {}
    for line in open(d + "/items.jsonl"):
        r = json.loads(line)
        out[r["id"]] = r["scores"]
    return out
ia, ib = items(da), items(db)
def mcnemar(b, c):
    n, k = b + c, min(b, c)
    if n == 0: return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)
metrics = {m["metric"]: m for m in s["metrics"]}
n_binary = 0
for name, m in metrics.items():
    want_delta = exp["run_b"][name] - exp["run_a"][name]
    c = m["vs_baseline"][1]
    assert abs(c["delta"] - want_delta) <= 1e-9 * max(1, abs(want_delta)), (name, c["delta"], want_delta)
    assert m["values"][0] == exp["run_a"][name] or abs(m["values"][0] - exp["run_a"][name]) < 1e-9
    if not m["binary"]:
        assert c["p_mcnemar"] is None, name
        continue
    n_binary += 1
    better = worse = 0
    for id_, sa in ia.items():
        if name in sa and id_ in ib and name in ib[id_]:
            a, b = sa[name], ib[id_][name]
            better += b > a; worse += a > b
    assert (c["discordant_better"], c["discordant_worse"]) == (better, worse), (name, c, better, worse)
    p = mcnemar(better, worse)
    assert abs(c["p_mcnemar"] - p) <= 1e-12, (name, c["p_mcnemar"], p)
assert n_binary == 8, n_binary
arc = metrics["arc_easy.acc"]["vs_baseline"][1]
assert (arc["discordant_better"], arc["discordant_worse"]) == (exp["arc_easy_acc"]["b_better"], exp["arc_easy_acc"]["b_worse"])
assert abs(arc["p_mcnemar"] - 134 / 2048) < 1e-15          # 2 * (C(11,0)+C(11,1)+C(11,2)) / 2^11
assert metrics["wikitext.word_perplexity"]["vs_baseline"][1]["verdict"] == "improved"
assert s["run"]["kind"] == "comparison of two evaluations"
PY

# 4. same formats as comparing runs: markdown report and the terminal table
$MV compare "$tmp/run_a" "$tmp/run_b" --out "$tmp/rep" >"$tmp/cmp.txt" 2>&1
check test -s "$tmp/rep/report.md"
check grep -q '`lm-eval.gsm8k.exact_match.strict-match`' "$tmp/rep/report.md"
check grep -q "lm-eval.wikitext.word_perplexity .*improved" "$tmp/cmp.txt"

# 5. errors a user meets
mkdir -p "$tmp/nolog/org__m" && cp $D/run_a/org__model-a/results_2026-12-01T10-20-30.123456.json "$tmp/nolog/org__m/"
$MV -q eval none --evaluator lm-eval --param path="$tmp/nolog" --out "$tmp/nl" >"$tmp/nl.out" 2>&1
check test $? -eq 2
check grep -q -- "--log_samples" "$tmp/nl.out"
check test ! -e "$tmp/nl/metrics.json"
$MV compare "$tmp/run_a" "$D/run_b" >"$tmp/mix.out" 2>&1
check test $? -eq 2
check grep -q "compare two runs or two evaluation folders" "$tmp/mix.out"

# 6. in a pipeline: the harness (tests/stand_in_lm_eval.sh plays lm_eval) runs on the stage's
#    weights ({model}) into the stage folder ({out}), then is imported and gated
cat > "$tmp/pipe.json" <<'J'
{ "name": "lm-eval-stage",
  "base": {"loader": "safetensors", "path": "tests/data/models/llama"},
  "datasets": {"unused": {"loader": "text", "path": "tests/data/datasets/docs.jsonl"}},
  "iterations": 0,
  "evaluate": [{"name": "text", "plugin": "lm-eval",
                "params": {"command": ["sh", "tests/stand_in_lm_eval.sh", "--model", "hf",
                                       "--model_args", "pretrained={model}", "--tasks", "arc_easy,gsm8k",
                                       "--log_samples", "--output_path", "{out}"], "timeout": 600}}],
  "gates": [{"metric": "text.gsm8k.exact_match.strict-match", "vs": "baseline", "max_drop": 0.02}] }
J
check $MV -q run "$tmp/pipe.json" --check >/dev/null
$MV -q run "$tmp/pipe.json" --out "$tmp/piperun" >"$tmp/pipe.out" 2>&1
check test $? -eq 0
check $PY - "$tmp/piperun/summary.json" "$D/expected.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); exp = json.load(open(sys.argv[2]))["run_a"]
got = {m["name"]: m["values"][0] for m in s["metrics"]}
assert got == {"text." + k: v for k, v in exp.items()} or all(abs(got["text." + k] - v) < 1e-9 for k, v in exp.items()), got
assert s["gates_passed"] == 1
PY

# 7. the fuzz harness (tests/fuzz/fuzz_lmeval.c) builds and runs its seed corpus cleanly
cat > "$tmp/drv.c" <<'C'
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) return 1;
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}
C
if cc -std=c11 -D_GNU_SOURCE -Iinclude -Iplugins/evaluators "$tmp/drv.c" tests/fuzz/fuzz_lmeval.c \
      plugins/evaluators/lmeval_import.c -L"$BUILD/lib" -lmergeval -Wl,-rpath,"$(pwd)/$BUILD/lib" \
      $(pkg-config --cflags --libs libcjson) -lm -o "$tmp/fuzz_lmeval" 2>"$tmp/cc.err"; then ok
else bad "fuzz harness does not build: $(cat "$tmp/cc.err")"; fi
check "$tmp/fuzz_lmeval" tests/fuzz/corpus/lmeval/* 2>/dev/null

echo "test_lmeval: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
