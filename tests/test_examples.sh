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
echo "test_examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
