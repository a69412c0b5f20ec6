#!/bin/sh
# tests/test_pipeline_merge.sh — full-model merges as a pipeline step: a TIES merge of two
# models into the current model, swept over density x weight (every candidate evaluated,
# paired statistics, ranking.json by the gated metric), and the same step from a mergekit
# YAML ("merge": {"config": ...}); each merged point is a drop-in folder with a model card.
set -u
BUILD=${BUILD:-build}
mv="$PWD/$BUILD/bin/mergeval"
case "$BUILD" in /*) mv="$BUILD/bin/mergeval" ;; esac
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_pipeline_merge: FAIL: $*" >&2; }
w=$(mktemp -d /tmp/mv-plmerge.XXXXXX)
trap 'rm -rf "$w"' EXIT
cd "$w" || exit 1
"$mv" --quiet gen text --kind general --out gen --seed 2 --docs 60 || bad "gen text"
for m in base:1:3:0.003 ft1:1:6:0.001 ft2:1:9:0.002; do
  IFS=: read -r name seed steps lr <<EOT
$m
EOT
  cat > "$name.json" <<EOT
{ "trainer": "sft", "model": {"arch": "llama", "config": {"hidden_size": 32, "num_hidden_layers": 2,
  "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 64}},
  "datasets": {"general": {"path": "gen/train.jsonl", "loader": "text"}},
  "params": {"tune_llm": true, "output": "full", "lr": $lr, "max_steps": $steps, "batch_size": 4, "max_len": 32, "seed": $seed} }
EOT
  "$mv" --quiet train "$name.json" --out "$name" >/dev/null 2>&1 || bad "train $name"
done
echo tokenizer > base/tokenizer.json
cat > pl.json <<'EOT'
{ "name": "ties-sweep", "base": {"loader": "safetensors", "path": "base"},
  "datasets": {"general-test": {"loader": "text", "path": "gen/test.jsonl"}},
  "iterations": 1,
  "merge": {"method": "ties", "models": [{"path": "ft1", "parameters": {"weight": 1.0, "density": 0.5}},
                                         {"path": "ft2", "parameters": {"weight": 0.5, "density": 0.5}}],
            "parameters": {"normalize": true}, "out_dtype": "bfloat16"},
  "evaluate": [{"name": "general", "plugin": "perplexity", "dataset": "general-test"}],
  "gates": [{"metric": "general.perplexity", "vs": "baseline", "max_drop": 1000}],
  "sweep": {"merge.models[0].parameters.density": [0.3, 0.9], "merge.models[0].parameters.weight": [0.5, 1.0]} }
EOT
"$mv" --quiet run pl.json --out run >run.log 2>&1; rc=$?
[ "$rc" -eq 0 ] && ok || bad "sweep run exited $rc: $(tail -3 run.log)"
for k in 0 1 2 3; do
  [ -f "run/sweep-$k/iter-1/eval-merged/general/metrics.json" ] && ok || bad "sweep-$k: merged candidate not evaluated"
  [ -f "run/sweep-$k/iter-1/merge/README.md" ] && [ -f "run/sweep-$k/iter-1/merge/tokenizer.json" ] && ok \
    || bad "sweep-$k: merged folder lacks README.md/tokenizer.json"
done
grep -q '"torch_dtype":[[:space:]]*"bfloat16"' run/sweep-0/iter-1/merge/config.json && ok || bad "torch_dtype not bfloat16"
/usr/bin/python3 - <<'EOT' && ok || bad "ranking.json: not 4 candidates ranked by general.perplexity"
import json
r = json.load(open("run/ranking.json"))
s = json.load(open("run/summary.json"))
vals = [e["values"]["general.perplexity"] for e in r]
assert len(r) == 4 and [e["rank"] for e in r] == [1, 2, 3, 4], r
keys = [(e["gated_metrics_regressed"], e["values"]["general.perplexity"]) for e in r]
assert keys == sorted(keys), keys
assert s["ranking"] == r
md = open("run/report.md").read()
assert "Candidates ranked by the gated metrics" in md and r[0]["label"] in md, md[:500]
EOT
cat > merge.yml <<'EOT'
merge_method: dare_ties
models:
  - model: ft1
    parameters: {weight: 1.0, density: 0.5}
  - model: ft2
    parameters: {weight: 0.5, density: [0.2, 0.8]}
parameters:
  int8_mask: true
EOT
/usr/bin/python3 -c "
import json; c = json.load(open('pl.json')); del c['sweep']; c['merge'] = {'config': 'merge.yml'}; json.dump(c, open('pl-yaml.json', 'w'))"
"$mv" --quiet run pl-yaml.json --out run-yaml >run.log 2>&1; rc=$?
[ "$rc" -eq 0 ] && ok || bad "YAML merge step exited $rc: $(tail -3 run.log)"
grep -q 'dare_ties' run-yaml/iter-1/merge/README.md 2>/dev/null && ok || bad "YAML merge step: no dare_ties card"
printf 'merge_method: ties\nmodels:\n  - model: nope/nope\n' > bad.yml
/usr/bin/python3 -c "
import json; c = json.load(open('pl-yaml.json')); c['merge'] = {'config': 'bad.yml'}; json.dump(c, open('pl-bad.json', 'w'))"
"$mv" --quiet run pl-bad.json --out run-bad >run.log 2>&1; rc=$?
[ "$rc" -eq 2 ] && grep -q 'huggingface-cli download nope/nope' run.log && ok || bad "bad YAML in a pipeline: rc $rc $(head -3 run.log)"
echo "test_pipeline_merge: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
