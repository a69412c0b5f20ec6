#!/bin/sh
# tests/test_exec_trainer.sh — the real-model recipe's contract on the tiny test models:
# export -> external trainer (tests/standin_finetune.py: finetune.py's arguments and output
# layout) -> adapter validated against the model -> merged -> evaluated -> reported with the
# loss curve; resume from checkpoint-N; the bad-input cases; no process of an external
# command survives a kill -9 of `mergeval run` or a stage_timeout; the real recipe's --check.
set -u
BUILD=${BUILD:-build}
mv="$BUILD/bin/mergeval"
T=$(mktemp -d /tmp/mv-exectrain.XXXXXX)
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_exec_trainer: FAIL: $*" >&2; }
py() { /usr/bin/python3 "$@"; }
twin=evals/pipelines/real-recipe-twin.json
lora="$BUILD/exec-twin/clinical-lora"
SURVIVORS=""
cleanup() {
  for p in $SURVIVORS; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

# --- the clinical LoRA on the base LLM (model.* keys), as the demo's, in 4 steps
cat > "$T/lora.json" <<'EOF'
{"trainer": "sft", "model": "tests/data/models/llama",
 "datasets": {"clinical": {"path": "tests/data/datasets/docs.jsonl", "loader": "text"}},
 "params": {"use_lora": true, "tune_llm": false, "lora_r": 4, "lora_alpha": 8,
            "lora_target_modules": "model\\.layers\\.\\d+\\.self_attn\\.(q_proj|k_proj|v_proj|o_proj)",
            "output": "adapter", "lr": 1e-2, "max_steps": 4, "batch_size": 2, "seed": 3}}
EOF
rm -rf "$lora"; mkdir -p "$BUILD/exec-twin"
"$mv" -q train "$T/lora.json" --out "$lora" >/dev/null 2>"$T/lora.err" && ok || bad "building the LoRA: $(cat "$T/lora.err")"
setlora="--set merge.adapters[0].path=$lora"

# --- both `exec` components load (names are unique per kind)
"$mv" plugins > "$T/plugins.txt" 2>&1
grep -q "^exec .*trainer" "$T/plugins.txt" && grep -q "^exec .*evaluator" "$T/plugins.txt" && ok \
  || bad "exec trainer and exec evaluator not both listed: $(grep exec "$T/plugins.txt")"

# --- the twin end to end, on a base that carries remote code like MiniCPM-V (config.json
# auto_map + modeling_*.py): merged folders must carry it on, or finetune.py cannot load them
mkdir -p "$T/vlm" && cp tests/data/models/tinyvlm/model.safetensors "$T/vlm/"
py - tests/data/models/tinyvlm/config.json "$T/vlm" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["auto_map"] = {"AutoConfig": "configuration_minicpm.MiniCPMVConfig", "AutoModel": "modeling_minicpmv.MiniCPMV"}
json.dump(c, open(sys.argv[2] + "/config.json", "w"), indent=2)
for f in ("configuration_minicpm.py", "modeling_minicpmv.py", "tokenizer_config.json"):
    open(sys.argv[2] + "/" + f, "w").write("# " + f + "\n")
EOF
"$mv" run "$twin" $setlora --set "base.path=$T/vlm" --out "$T/run" >"$T/run.out" 2>"$T/run.err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "twin run exited $rc: $(tail -5 "$T/run.err")"
tr="$T/run/iter-1/train"
py - "$T/run" <<'EOF' && ok || bad "twin run outputs (see above)"
import json, sys, os, struct, array, math
run = sys.argv[1]
tr = os.path.join(run, "iter-1/train")
# {data}: MiniCPM-V JSON of the 0.9/0.1 mix (9 pairs, 3 docs -> 10 items: 9 + 1)
data = json.load(open(os.path.join(tr, "mergeval/train.json")))
assert len(data) == 10, len(data)
assert sum(1 for r in data if r["id"].startswith("pairs-train/")) == 9
assert all(r["image"].startswith("/") for r in data if "image" in r)
# the loss curve: every log_history entry with a loss, in the native format
state = json.load(open(os.path.join(tr, "trainer_state.json")))
want = [(h["step"], h["loss"], h["learning_rate"]) for h in state["log_history"] if "loss" in h]
got = [json.loads(l) for l in open(os.path.join(tr, "train_log.jsonl"))]
assert [(g["step"], g["loss"], g["lr"]) for g in got] == want, (got, want)
res = json.load(open(os.path.join(run, "run.json")))["stages"]["iter-1/train"]["result"]
assert res == {"steps": 6, "first_loss": want[0][1], "final_loss": want[-1][1], "wrote_adapter": True}, res
assert os.path.isdir(os.path.join(tr, "checkpoint-3")) and os.path.isdir(os.path.join(tr, "checkpoint-6"))

def tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n)); base = 8 + n; blob = f.read()
    out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        assert v["dtype"] == "F32", v
        a = array.array("f"); a.frombytes(blob[v["data_offsets"][0]:v["data_offsets"][1]])
        out[k] = (v["shape"], a)
    return out
# the merge of the trained adapter, recomputed: W' = W + (alpha/r) B A (fp32 weights)
before = tensors(os.path.join(run, "iter-1/merge/model.safetensors"))
after = tensors(os.path.join(run, "iter-1/model/model.safetensors"))
ad = tensors(os.path.join(tr, "adapter_model.safetensors"))
cfg = json.load(open(os.path.join(tr, "adapter_config.json")))
scale = cfg["lora_alpha"] / cfg["r"]
changed = 0
for name, (shape, w) in before.items():
    m = name[:-len(".weight")]
    ka = "base_model.model." + m + ".lora_A.weight"
    if ka not in ad:
        assert after[name][1] == w, name  # untouched tensors are bit-identical
        continue
    (r, i), A = ad[ka]; (o, _), B = ad["base_model.model." + m + ".lora_B.weight"]
    for row in range(o):
        for col in range(i):
            d = sum(B[row * r + k] * A[k * i + col] for k in range(r))
            exp = w[row * i + col] + scale * d
            assert abs(after[name][1][row * i + col] - exp) <= 1e-5 * (1 + abs(exp)), (name, row, col)
    changed += 1
assert changed == 6, changed   # q, k, v of 2 layers
EOF
grep -q "6 steps, loss" "$T/run.err" && ok || bad "the run log lacks the loss line"
for d in merge model; do
  cmp -s "$T/vlm/modeling_minicpmv.py" "$T/run/iter-1/$d/modeling_minicpmv.py" && \
  cmp -s "$T/vlm/tokenizer_config.json" "$T/run/iter-1/$d/tokenizer_config.json" && ok \
    || bad "iter-1/$d lacks the base's remote code / tokenizer files"
done
grep -q "vlm.accuracy" "$T/run/report.md" && ok || bad "report.md lacks the external harness metric"

"$mv" -q merge --base "$T/vlm" --adapter "$lora" --key-map model.=llm.model. --out "$T/merged" 2>"$T/merge.err" && \
  cmp -s "$T/vlm/modeling_minicpmv.py" "$T/merged/modeling_minicpmv.py" && ok \
  || bad "mergeval merge did not carry the base's remote code: $(cat "$T/merge.err")"

# --- the trainer alone (`mergeval train`, the twin's train section) in its failure modes
variant() {  # variant NAME EXTRA_ARG... : the twin's training as a train config, extra stand-in args
  name=$1; shift
  py - "$twin" "$T/$name.json" "$@" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
t = p["train"]
t["params"]["command"] += sys.argv[3:]
cfg = {"trainer": t["trainer"], "model": p["base"]["path"],
       "datasets": {k: v for k, v in p["datasets"].items() if k in t["mix"]},
       "mix": t["mix"], "params": t["params"]}
json.dump(cfg, open(sys.argv[2], "w"), indent=1)
EOF
}
trainv() {  # trainv NAME : stderr in $T/NAME.err, exit code in rc
  "$mv" train "$T/$1.json" --out "$T/train-$1" >"$T/$1.out" 2>"$T/$1.err"; rc=$?
}
variant good; trainv good
[ "$rc" -eq 0 ] && [ -s "$T/train-good/adapter_model.safetensors" ] && [ -s "$T/train-good/train_log.jsonl" ] && ok \
  || bad "mergeval train with the exec trainer: rc $rc: $(tail -3 "$T/good.err")"
variant noadapter --standin_fail no-adapter; trainv noadapter
[ "$rc" -eq 2 ] && grep -q "did not write .*train-noadapter/adapter_config.json" "$T/noadapter.err" && ok \
  || bad "exit 0 without adapter: rc $rc: $(tail -2 "$T/noadapter.err")"
variant wrongmods --standin_fail wrong-modules; trainv wrongmods
[ "$rc" -eq 2 ] && grep -q "does not fit the model" "$T/wrongmods.err" && grep -q '"key_map": {"model.":"llm.model."}' "$T/wrongmods.err" && ok \
  || bad "wrong module names: rc $rc: $(tail -3 "$T/wrongmods.err")"
variant binonly --standin_fail bin-only; trainv binonly
[ "$rc" -eq 2 ] && grep -q "adapter_model.bin" "$T/binonly.err" && grep -q -- "--save_safetensors true" "$T/binonly.err" && ok \
  || bad "pickle-only adapter: rc $rc: $(tail -2 "$T/binonly.err")"
variant badstate --standin_fail bad-state; trainv badstate
[ "$rc" -eq 0 ] && grep -q "warning: exec trainer: no loss curve" "$T/badstate.err" && [ ! -e "$T/train-badstate/train_log.jsonl" ] && ok \
  || bad "unreadable trainer_state.json: rc $rc: $(tail -3 "$T/badstate.err")"
variant typo --output_dir "{outt}"; trainv typo
[ "$rc" -eq 2 ] && grep -q 'unknown placeholder "{outt}"' "$T/typo.err" && ok || bad "placeholder typo: rc $rc: $(tail -2 "$T/typo.err")"
# the key_map param makes a base-LLM-named adapter fit (checked and merged with it)
variant keymap --standin_fail wrong-modules
py - "$T/keymap.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); c["params"]["key_map"] = {"model.": "llm.model."}
json.dump(c, open(sys.argv[1], "w"))
EOF
trainv keymap
[ "$rc" -eq 0 ] && grep -q "all map onto" "$T/keymap.err" && ok || bad "key_map: rc $rc: $(tail -2 "$T/keymap.err")"

# full weights: the command's folder must hold every tensor of the model
fullcfg() {  # fullcfg NAME SHELL_SCRIPT
  py - "$T/$1.json" "$2" <<'EOF'
import json, sys
json.dump({"trainer": "exec", "model": "tests/data/models/tinyvlm",
           "datasets": {"docs": {"path": "tests/data/datasets/docs.jsonl", "loader": "text"}},
           "params": {"output": "full", "command": ["sh", "-c", sys.argv[2]]}}, open(sys.argv[1], "w"))
EOF
}
fullcfg fullok 'cp "{model}/config.json" "{model}/model.safetensors" "{out}/"'; trainv fullok
[ "$rc" -eq 0 ] && ok || bad "full weights: rc $rc: $(tail -2 "$T/fullok.err")"
fullcfg fullnone 'cp "{model}/config.json" "{out}/"'; trainv fullnone
[ "$rc" -ne 0 ] && grep -q "the weights the exec trainer's command (sh) wrote" "$T/fullnone.err" && ok \
  || bad "full weights without tensors: rc $rc: $(tail -2 "$T/fullnone.err")"
fullcfg fullnocfg 'cp "{model}/model.safetensors" "{out}/"'; trainv fullnocfg
[ "$rc" -eq 2 ] && grep -q "did not write .*train-fullnocfg/config.json" "$T/fullnocfg.err" && ok \
  || bad "full weights without config.json: rc $rc: $(tail -2 "$T/fullnocfg.err")"

# --- a pipeline run after a crash resumes the trainer from its last checkpoint-N
pvariant() {
  py - "$twin" "$T/$1.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1])); p["evaluate"] = p["evaluate"][:1]; p["gates"] = p["gates"][:1]
json.dump(p, open(sys.argv[2], "w"), indent=1)
EOF
}
runv() {  # runv NAME : run pipeline NAME, stderr in $T/NAME.err, exit code in rc
  "$mv" run "$T/$1.json" $setlora --out "$T/run-$1" >"$T/$1.out" 2>"$T/$1.err"; rc=$?
}
# resume: the first attempt crashes after checkpoint-3; the rerun passes {resume_from}
pvariant resume; STANDIN_CRASH_AFTER_STEP=3 runv resume
[ "$rc" -eq 3 ] && grep -q "exited with status 1" "$T/resume.err" && ok || bad "crash run: rc $rc: $(tail -2 "$T/resume.err")"
runv resume
[ "$rc" -eq 0 ] && ok || bad "resumed run: rc $rc: $(tail -3 "$T/resume.err")"
grep -q "resuming from .*iter-1/train/checkpoint-3 at step 3" "$T/run-resume/iter-1/train/mergeval/command.log" && ok \
  || bad "the rerun did not resume from checkpoint-3: $(cat "$T/run-resume/iter-1/train/mergeval/command.log")"
py -c "
import json,sys
s=json.load(open(sys.argv[1])); steps=[h['step'] for h in s['log_history'] if 'loss' in h]
assert steps == [1,2,3,4,5,6], steps" "$T/run-resume/iter-1/train/trainer_state.json" && ok || bad "resumed log_history"

# --- no orphan: kill -9 of `mergeval run` (plain and isolated) and stage_timeout
killcase() {  # killcase NAME STAGE_TIMEOUT [run options]
  name=$1; to=$2; shift 2
  mkdir -p "$T/k-$name"
  py - "$T/k-$name" "$to" <<'EOF'
import json, sys
d, to = sys.argv[1], float(sys.argv[2])
cmd = ["sh", "-c", "echo $$ > %s/cmd.pid; sleep 300 & echo $! > %s/grandchild.pid; wait" % (d, d)]
p = {"name": "kill", "base": {"loader": "safetensors", "path": "tests/data/models/tinyvlm"},
     "datasets": {"docs": {"loader": "text", "path": "tests/data/datasets/docs.jsonl"}},
     "iterations": 1, "seed": 1,
     "train": {"trainer": "exec", "mix": {"docs": 1}, "params": {"command": cmd}},
     "evaluate": [{"name": "ppl", "plugin": "perplexity", "dataset": "docs"}]}
if to > 0:
    p["stage_timeout"] = to
json.dump(p, open(d + "/pipeline.json", "w"))
EOF
  "$mv" run "$T/k-$name/pipeline.json" --out "$T/k-$name/run" "$@" >"$T/k-$name/out" 2>&1 &
  runner=$!
  i=0; while [ ! -s "$T/k-$name/grandchild.pid" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  sleep 0.2
  cmdpid=$(cat "$T/k-$name/cmd.pid" 2>/dev/null); gc=$(cat "$T/k-$name/grandchild.pid" 2>/dev/null)
  [ -n "$cmdpid" ] && [ -n "$gc" ] || { bad "$name: the command never started: $(tail -3 "$T/k-$name/out")"; kill -9 $runner; return; }
  SURVIVORS="$SURVIVORS $cmdpid $gc"
  [ "$to" = 0 ] && kill -9 $runner
  wait $runner; rc=$?
  alive=""
  for p in $cmdpid $gc; do
    i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$p" 2>/dev/null && alive="$alive $p"
  done
  [ -z "$alive" ] && ok || bad "$name: processes of the command survived:$alive"
}
killcase plain 0
killcase isolated 0 --isolate
killcase timeout 3
[ "$rc" -eq 3 ] && grep -q "timed out" "$T/k-timeout/out" && ok || bad "stage_timeout: rc $rc: $(tail -2 "$T/k-timeout/out")"

# --- the real recipe: valid anywhere; its missing models/data are warnings
real=evals/pipelines/minicpmv-llama3-real.json
"$mv" run "$real" --check >"$T/real.out" 2>"$T/real.err"; rc=$?
[ "$rc" -eq 0 ] && grep -q "input missing here: \$.base.path" "$T/real.err" && grep -q "do not exist on this machine" "$T/real.out" && ok \
  || bad "real recipe --check: rc $rc: $(cat "$T/real.err" "$T/real.out" | head -12)"
"$mv" run "$real" --out "$T/real-run" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok || bad "running the real recipe without its models should refuse (rc $rc)"
# every finetune.py flag the recipe passes is one the stand-in (= finetune.py's parser) accepts
py - "$real" > "$T/real-args" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["train"]["params"]["command"]
args = c[c.index("finetune.py") + 1:]
print("\n".join(a.replace("{model}", "/m").replace("{data}", "/d.json").replace("{out}", "/o")
                 .replace("{seed}", "1").replace("{resume_from}", "") for a in args))
EOF
tr '\n' '\0' < "$T/real-args" | xargs -0 /usr/bin/python3 tests/standin_finetune.py --standin_parse_only >"$T/parse.out" 2>&1 && ok \
  || bad "finetune.py rejects the recipe's arguments: $(cat "$T/parse.out")"

echo "test_exec_trainer: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
