#!/bin/sh
# tests/test_examples.sh — every plugin in docs/examples/ (one per kind: evaluator, loader,
# trainer, model-scoring evaluator, merge) is built against the public headers exactly as
# docs/plugins.md says, passes `plugin check`, and does its job through the CLI with a
# known or cross-checked answer.
set -u
BUILD=${BUILD:-build}
top=$(pwd)
mv="$top/$BUILD/bin/mergeval"
tmp=$(mktemp -d /tmp/mv-examples-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_examples: FAIL: $*" >&2; }
num() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics"][sys.argv[2]]["value"])' "$1" "$2"; }

plug="$tmp/plugins"
mkdir -p "$plug"
for src in docs/examples/*.c; do
  name=$(basename "$src" .c)
  if cc -std=c11 -shared -fPIC -fvisibility=hidden -Wl,-z,defs -Wall -Wextra -Werror -I"$top/include" \
       -o "$plug/$name.so" "$src" -L"$top/$BUILD/lib" -lmergeval -lm 2>"$tmp/cc.err"; then ok
  else bad "$src does not build: $(head -5 "$tmp/cc.err")"; continue; fi
  "$mv" plugin check "$plug/$name.so" >"$tmp/check.out" 2>&1 && ok || bad "plugin check $name: $(cat "$tmp/check.out")"
done
M() { "$mv" -q --plugin-path "$plug" "$@"; }

# Loader: id<TAB>text lines, measured by the textlen evaluator (known answer: (5+2+4)/3 bytes).
printf 'a\thello\nb\thi\n\nc\tdear\n' > "$tmp/notes.tsv"
if M eval none --evaluator textlen --dataset "$tmp/notes.tsv" --loader tsvtext --out "$tmp/len" 2>"$tmp/e"; then
  v=$(num "$tmp/len/metrics.json" mean_bytes)
  [ "$v" = "3.6666666666666665" ] && ok || bad "tsvtext+textlen mean_bytes $v, expected 11/3"
else bad "eval with tsvtext: $(cat "$tmp/e")"; fi
printf 'no tab here\n' > "$tmp/bad.tsv"
M eval none --evaluator textlen --dataset "$tmp/bad.tsv" --loader tsvtext --out "$tmp/len2" 2>"$tmp/e" \
  && bad "a line without a tab was accepted" || { grep -q "bad.tsv:1: expected id<TAB>text" "$tmp/e" && ok || bad "bad.tsv message: $(cat "$tmp/e")"; }

# A tiny llama to train and score (our own trainer, a few seconds).
: > "$tmp/text.jsonl"
for i in 1 2 3 4 5 6 7 8; do echo '{"text": "the cat sat on the mat and the dog sat on the log"}' >> "$tmp/text.jsonl"; done
cat > "$tmp/base.json" <<J
{"trainer": "sft", "model": {"arch": "llama", "config": {"hidden_size": 32, "intermediate_size": 64,
 "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 64}},
 "datasets": {"t": {"path": "$tmp/text.jsonl", "loader": "text"}},
 "params": {"tune_llm": true, "output": "full", "max_steps": 2, "batch_size": 2, "max_len": 48, "seed": 1}}
J
M train "$tmp/base.json" --out "$tmp/base" 2>"$tmp/e" && ok || bad "base model: $(cat "$tmp/e")"

# Trainer: SGD from the base lowers the loss on its own text.
cat > "$tmp/sgd.json" <<J
{"trainer": "sgdtext", "model": {"path": "$tmp/base"},
 "datasets": {"t": {"path": "$tmp/text.jsonl", "loader": "text"}}, "params": {"lr": 0.5, "steps": 15}}
J
if M train "$tmp/sgd.json" --out "$tmp/sgd" 2>"$tmp/e"; then
  first=$(head -1 "$tmp/sgd/train_log.jsonl" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["loss"])')
  last=$(tail -1 "$tmp/sgd/train_log.jsonl" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["loss"])')
  /usr/bin/python3 -c "import sys; sys.exit(0 if $last < 0.9 * $first else 1)" && ok \
    || bad "sgdtext did not lower the loss: $first -> $last"
  [ -f "$tmp/sgd/config.json" ] && ok || bad "sgdtext wrote no config.json"
else bad "train with sgdtext: $(cat "$tmp/e")"; fi

# Model-scoring evaluator: its mean log-prob equals minus the log of the perplexity
# evaluator's token perplexity on the same texts, and it is higher after training.
if M eval "$tmp/base" --evaluator meanlogprob --dataset "$tmp/text.jsonl" --out "$tmp/lp0" 2>"$tmp/e" &&
   M eval "$tmp/sgd" --evaluator meanlogprob --dataset "$tmp/text.jsonl" --out "$tmp/lp1" 2>>"$tmp/e" &&
   M eval "$tmp/base" --evaluator perplexity --dataset "$tmp/text.jsonl" --param append_eos=false --out "$tmp/ppl" 2>>"$tmp/e"; then
  a=$(num "$tmp/lp0/metrics.json" mean_logprob); b=$(num "$tmp/lp1/metrics.json" mean_logprob)
  p=$(num "$tmp/ppl/metrics.json" perplexity)
  /usr/bin/python3 -c "import math,sys; sys.exit(0 if abs($a + math.log($p)) < 1e-4 else 1)" && ok \
    || bad "meanlogprob $a vs -log(perplexity $p) = $(/usr/bin/python3 -c "import math; print(-math.log($p))")"
  /usr/bin/python3 -c "import sys; sys.exit(0 if $b > $a else 1)" && ok || bad "meanlogprob not higher after training: $a -> $b"
else bad "meanlogprob/perplexity eval: $(cat "$tmp/e")"; fi
[ -n "${VERBOSE:-}" ] && echo "meanlogprob base $a trained $b, perplexity $p"

# Merge method (mv_merge_elementwise): two perturbed copies of the base (one stored as
# bfloat16, so the helper's dtype conversion is exercised), merged by elementmax through the
# CLI and as a pipeline step; every tensor is checked against numpy.
cat > "$tmp/st.py" <<'PY'
import json, struct, sys, os, shutil
import numpy as np
def bf16_to_f32(u): return (u.astype(np.uint32) << 16).view(np.float32)
def f32_to_bf16(x):   # round to nearest even, as mergeval's converter does
    u = x.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
def load(d):
    fs = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
    out = {}
    for f in fs:
        b = open(os.path.join(d, f), "rb").read()
        n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); data = b[8 + n:]
        for k, v in h.items():
            if k == "__metadata__": continue
            raw = data[v["data_offsets"][0]:v["data_offsets"][1]]
            a = {"F32": lambda r: np.frombuffer(r, np.float32), "BF16": lambda r: bf16_to_f32(np.frombuffer(r, np.uint16)),
                 "F16": lambda r: np.frombuffer(r, np.float16).astype(np.float32)}[v["dtype"]](raw)
            out[k] = (v["dtype"], a.reshape(v["shape"]))
    return out
def save(d, ts):
    os.makedirs(d, exist_ok=True)
    h, blobs, off = {}, [], 0
    for k, (dt, a) in ts.items():
        r = (f32_to_bf16(a) if dt == "BF16" else a.astype(np.float32)).tobytes()
        h[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(r)]}; blobs.append(r); off += len(r)
    hb = json.dumps(h).encode(); hb += b" " * (-len(hb) % 8)
    open(os.path.join(d, "model.safetensors"), "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
cmd = sys.argv[1]
if cmd == "perturb":   # perturb BASE OUT SEED DTYPE
    base, out, seed, dt = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    rng = np.random.default_rng(seed)
    save(out, {k: (dt, a + rng.normal(0, 0.05, a.shape).astype(np.float32)) for k, (_, a) in load(base).items()})
    shutil.copy(os.path.join(base, "config.json"), out)
else:                  # check OUT BASE A B [bf16]: elementmax of the inputs, rounded like the output
    o, b, x, y = (load(p) for p in sys.argv[2:6])
    assert set(o) == set(b), (sorted(o), sorted(b))
    for k, (dt, v) in o.items():
        bb, xa, ya = b[k][1], x[k][1], y[k][1]
        want = np.where(np.abs(ya - bb) > np.abs(xa - bb), ya, xa)
        if dt == "BF16": want = bf16_to_f32(f32_to_bf16(want))
        assert dt == (sys.argv[6] if len(sys.argv) > 6 else b[k][0]), (k, dt)
        assert np.array_equal(v, want), (k, np.abs(v - want).max())
    print(len(o))
PY
py() { /usr/bin/python3 "$tmp/st.py" "$@"; }
if py perturb "$tmp/base" "$tmp/mA" 1 F32 && py perturb "$tmp/base" "$tmp/mB" 2 BF16; then ok; else bad "perturbed models"; fi
cat > "$tmp/emax.json" <<J
{"method": "elementmax", "base_model": "$tmp/base", "models": [{"path": "$tmp/mA"}, {"path": "$tmp/mB"}]}
J
if M merge "$tmp/emax.json" --out "$tmp/emax" 2>"$tmp/e"; then
  n=$(py check "$tmp/emax" "$tmp/base" "$tmp/mA" "$tmp/mB" 2>"$tmp/e") && [ "$n" -gt 3 ] && ok || bad "elementmax != numpy: $(tail -3 "$tmp/e")"
  [ -f "$tmp/emax/config.json" ] && [ -f "$tmp/emax/README.md" ] && ok || bad "elementmax output lacks config.json/README.md"
  grep -q '"mergeval_method":"elementmax"' "$tmp/emax"/*.safetensors && ok || bad "metadata does not name elementmax"
else bad "merge with elementmax: $(cat "$tmp/e")"; fi
cat > "$tmp/emax-pl.json" <<J
{"name": "emax", "base": {"loader": "safetensors", "path": "$tmp/base"},
 "datasets": {"t": {"loader": "text", "path": "$tmp/text.jsonl"}}, "iterations": 1,
 "merge": {"method": "elementmax", "models": [{"path": "$tmp/mA"}, {"path": "$tmp/mB"}], "out_dtype": "bfloat16"},
 "evaluate": [{"name": "t", "plugin": "perplexity", "dataset": "t"}]}
J
if M run "$tmp/emax-pl.json" --out "$tmp/emax-run" 2>"$tmp/e"; then
  m=$(ls -d "$tmp"/emax-run/iter-1/merge 2>/dev/null)
  py check "$m" "$tmp/base" "$tmp/mA" "$tmp/mB" BF16 >/dev/null 2>"$tmp/e" && ok || bad "pipeline elementmax != numpy: $(tail -3 "$tmp/e")"
  grep -q '"torch_dtype":[[:space:]]*"bfloat16"' "$m/config.json" && ok || bad "pipeline merge: torch_dtype not bfloat16"
  [ -f "$tmp/emax-run/iter-1/eval-merged/t/metrics.json" ] && ok || bad "pipeline: merged model not evaluated"
else bad "run with an elementmax merge: $(tail -5 "$tmp/e")"; fi
echo "test_examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
