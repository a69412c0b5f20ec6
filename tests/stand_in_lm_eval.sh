#!/bin/sh
# tests/stand_in_lm_eval.sh — stands in for `lm_eval` in tests (no GPU, no network): takes
# its command line (--model hf --model_args pretrained=M --tasks ... [--log_samples]
# --output_path OUT) and leaves what lm_eval leaves: OUT/<M with / → __>/results_<date>.json
# and, with --log_samples, the samples files — copied from the model-A fixture of
# tests/data/lmeval (written by tests/golden/make_lmeval_fixtures.py).
set -eu
src="$(dirname "$0")/data/lmeval/run_a/org__model-a"
model="" out="" log_samples=0
while [ $# -gt 0 ]; do
  case "$1" in
    --model_args) model=$(printf '%s' "$2" | sed -n 's/.*pretrained=\([^,]*\).*/\1/p'); shift 2 ;;
    --output_path) out="$2"; shift 2 ;;
    --log_samples) log_samples=1; shift ;;
    --model|--tasks|--batch_size|--device|--num_fewshot|--limit) shift 2 ;;
    *) echo "stand-in lm_eval: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$model" ] && [ -n "$out" ] || { echo "stand-in lm_eval: need --model_args pretrained=... and --output_path" >&2; exit 2; }
echo "Selected Tasks: [...] (stand-in)" >&2
dest="$out/$(printf '%s' "$model" | sed 's#[/:<>|?*"\\]\{1,\}#__#g')"
mkdir -p "$dest"
cp "$src"/results_2026-12-01T10-20-30.123456.json "$dest/"
[ "$log_samples" = 1 ] && cp "$src"/samples_*_2026-12-01T10-20-30.123456.jsonl "$dest/"
echo "hf (pretrained=$model), gen_kwargs: (None), limit: None, num_fewshot: None, batch_size: 1"
