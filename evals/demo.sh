#!/bin/sh
# evals/demo.sh — the seed scenario end to end on generated data (`make demo`):
#   1. generate shapes image-text pairs, a general and a clinical text corpus
#   2. train the base LLM (plain llama, model.* keys) on general text; build the VLM from it
#      (its LLM copied into llm.*) and train it on image-text pairs: vision + resampler on
#      the frozen LLM first, then everything (so its LLM drifts from the base)
#   3. train a clinical LoRA on the base LLM (PEFT keys base_model.model.model.layers.N...)
#   4. show why the LoRA does not fit the VLM ("target modules not found") and the key_map
#      that fixes it, then run evals/pipelines/seed-scenario.json: merge, evaluate, retrain,
#      evaluate, compare, gates, reports.
# Steps 1-3 are cached in build/demo (redone only when their command, config or inputs
# change; an interrupted training resumes). Step 4 resumes too: after a crash or kill -9,
# run `make demo` again. DEMO_FRESH=1 starts the pipeline run over.
set -eu
cd "$(dirname "$0")/.."
MV=${MV:-build/bin/mergeval}
D=${DEMO_DIR:-build/demo}
S=$D/.stamps
mkdir -p "$S"
T0=$(date +%s.%N)
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
CACHED=""

elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%5.1fs", b - a }'; }
say() { printf '\n==> [%s] %s\n' "$(elapsed)" "$*"; }

# stamp NAME CMD FILE... : a hash of the command, the files' contents, upstream stamps and
# the mergeval version; the artifact is reused when its recorded stamp matches.
stamp() {
  name=$1; cmd=$2; shift 2
  { echo "$cmd"; "$MV" --version 2>/dev/null; for f in "$@"; do cat "$f"; done; } | sha256sum | cut -c1-32
}

# cached NAME OUTDIR CMD [INPUT FILES...]: run CMD unless OUTDIR is up to date.
cached() {
  name=$1; out=$2; cmd=$3; shift 3
  st=$(stamp "$name" "$cmd" "$@")
  if [ -d "$out" ] && [ -f "$S/$name" ] && [ "$(cat "$S/$name")" = "$st" ]; then
    say "$name: cached ($out)"
    CACHED="$CACHED $name"
    return 0
  fi
  resume=""
  if [ -d "$out" ] && [ -f "$S/$name.pending" ] && [ "$(cat "$S/$name.pending")" = "$st" ]; then
    resume=" --resume"        # same command interrupted earlier: continue its checkpoints
  else
    rm -rf "$out"
  fi
  case "$cmd" in *" train "*) ;; *) resume="" ;; esac
  echo "$st" > "$S/$name.pending"
  say "$name: $cmd$resume"
  sh -c "$cmd$resume"
  mv "$S/$name.pending" "$S/$name"
}

[ -x "$MV" ] || { echo "demo: $MV not built (run make)" >&2; exit 3; }

# The config files name build/demo/...; with another DEMO_DIR, use copies pointing there.
C=evals/configs
P=evals/pipelines/seed-scenario.json
if [ "$D" != build/demo ]; then
  mkdir -p "$D/.configs"
  for f in "$C"/*.json "$P"; do
    sed "s#build/demo/#$D/#g" "$f" > "$D/.configs/$(basename "$f")"
  done
  C=$D/.configs
  P=$D/.configs/seed-scenario.json
fi

say "1/4 data"
cached shapes "$D/shapes" "$MV gen shapes --out $D/shapes --seed 1 --train 2000 --test 2000 --seen 0"
cached general "$D/general" "$MV gen text --kind general --out $D/general --seed 2 --docs 2000"
cached clinical "$D/clinical" "$MV gen text --kind clinical --out $D/clinical --seed 3 --docs 1500"

say "2/4 base LLM on general text, then the VLM built from it on image-text pairs"
cached base-llm "$D/base-llm" "$MV train $C/base-llm.json --out $D/base-llm" \
  $C/base-llm.json "$S/general"
# Two stages, as MiniCPM-V: first align vision + resampler to the frozen LLM (otherwise
# the LLM learns the captions' distribution and never needs the image), then tune all.
cached vlm-align "$D/vlm-align" "$MV train $C/vlm-align.json --out $D/vlm-align" \
  $C/vlm-align.json "$S/shapes" "$S/base-llm"
cached vlm "$D/vlm" "$MV train $C/vlm.json --out $D/vlm" \
  $C/vlm.json "$S/shapes" "$S/vlm-align"

say "3/4 clinical LoRA on the base LLM (PEFT format)"
cached clinical-lora "$D/clinical-lora" "$MV train $C/clinical-lora.json --out $D/clinical-lora" \
  $C/clinical-lora.json "$S/clinical" "$S/base-llm"

say "4/4 merging the clinical LoRA into the VLM"
echo "--- first, as PEFT would: the adapter's modules (model.layers.N...) against the VLM (llm.model.layers.N...)"
set +e
"$MV" match "$D/clinical-lora" "$D/vlm" 2>&1 | sed -n '1,25p'
set -e
code=0
"$MV" -q match "$D/clinical-lora" "$D/vlm" >/dev/null 2>&1 || code=$?
echo "--- (exit code $code: the diagnosis names the key_map; the pipeline file applies it)"
echo "--- with --key-map model.=llm.model.:"
"$MV" match "$D/clinical-lora" "$D/vlm" --key-map model.=llm.model. 2>&1 | sed -n '1,6p'

# The run resumes (after a crash or kill -9) only while its inputs are unchanged: a changed
# pipeline file or a retrained upstream model starts it over (the runner would refuse it).
st=$(stamp run "$P" "$P" "$S/shapes" "$S/general" "$S/clinical" "$S/vlm" "$S/clinical-lora")
if [ "${DEMO_FRESH:-0}" = 1 ] || [ ! -f "$S/run" ] || [ "$(cat "$S/run")" != "$st" ]; then
  rm -rf "$D/run"
fi
echo "$st" > "$S/run"
[ -d "$D/run" ] && CACHED="$CACHED pipeline(resumed)"
say "pipeline: $MV run $P --out $D/run"
set +e
"$MV" run "$P" --out "$D/run"
rc=$?
set -e
case $rc in
  0) verdict="all gates passed" ;;
  1) verdict="a gate failed — that is the finding; see the report" ;;
  *) echo "demo: the pipeline stopped (exit $rc); rerun 'make demo' to resume after fixing the cause" >&2
     exit $rc ;;
esac
say "done: $verdict"
echo "dashboard: $(pwd)/$D/run/report.html"
echo "CI files:  $D/run/report.md  $D/run/junit.xml  $D/run/summary.json"
echo "total wall time: $(elapsed)"
# For README's demo-time line (evals/readme_sync.py --write-time): what this run took, on
# what, and whether any step came from the cache.
awk -v a="$T0" -v b="$(date +%s.%N)" -v l0="$LOAD0" -v l1="$(cut -d' ' -f1 /proc/loadavg)" \
    -v cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" -v cores="$(nproc)" \
    -v commit="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" -v cached="$CACHED" '
  BEGIN { n = split(cached, c, " "); list = "";
          for (i = 1; i <= n; i++) list = list (i > 1 ? ", " : "") "\"" c[i] "\"";
          printf "{\"seconds\": %.1f, \"fresh\": %s, \"cached\": [%s], \"cpu\": \"%s\", \"cores\": %d, \"load_start\": %s, \"load_end\": %s, \"commit\": \"%s\"}\n",
                 b - a, n ? "false" : "true", list, cpu, cores, l0, l1, commit }' > "$D/demo_time.json"
