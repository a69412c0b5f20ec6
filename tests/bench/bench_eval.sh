#!/bin/sh
# tests/bench/bench_eval.sh — evaluation benchmark, mergeval vs PyTorch in one run:
#  1. alignment eval throughput (unique image-text pairs scored per second, end to end from
#     the dataset files to the metrics) of the default tinyvlm: `mergeval eval --evaluator
#     alignment` vs tests/bench/eval_peer_alignment.py (same weights, same protocol, PIL
#     decoding, batched padded forward under torch.inference_mode);
#  2. caption NLL of the true pairs on both sides (a correctness cross-check);
#  3. image decode + resize rate: imagetext loader + mv_image_to_tensor vs PIL (256 px PNGs
#     down to 32 px).
# OPENBLAS_CORETYPE is used by both sides when set (unset: each side's own choice; the host line
# names them). One ROW line per measure goes to the history (tests/bench/lib.sh). The PyTorch peer gets the best
# of (1 intra-op thread, OpenBLAS 1 thread) and (2 intra-op threads, OpenBLAS 1 thread); the
# chosen one is printed. Env: BUILD (default build), N_ITEMS (200), DISTRACTORS (15),
# PEER_CONFIGS ("1 1,2 1": torch threads and OpenBLAS threads per peer run).
set -eu
BUILD=${BUILD:-build}
MV=${MV:-$BUILD/bin/mergeval}
D=${BENCH_DIR:-build/bench/eval}
PY=/usr/bin/python3
N=${N_ITEMS:-200}
K=${DISTRACTORS:-15}
. tests/bench/lib.sh
[ -x "$MV" ] || { echo "bench_eval: $MV not built (make BUILD=$BUILD all)"; exit 2; }
mkdir -p "$D"
bench_host eval "$MV"

echo "bench_eval: inputs in $D"
"$MV" -q gen shapes --train 0 --test "$N" --seed 5 --out "$D/shapes"
"$MV" -q gen shapes --train 0 --test "$N" --seed 5 --size 256 --out "$D/shapes256"
$PY tests/bench/eval_make_model.py "$D/vlm"
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Icore/include tests/bench/bench_decode.c -o "$D/bench_decode" \
  -L"$BUILD/lib" -lmergeval -Wl,-rpath,"$(cd "$BUILD/lib" && pwd)"

wall() { # seconds of wall time of a command (its stdout to $1.out)
  out=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$out.time" "$@" > "$out.out"
  cat "$out.time"
}
jget() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# --- 1. alignment throughput
LOAD0=$(bench_load)
cat "$D"/shapes/images/*.png > /dev/null   # warm page cache for both sides
set -- $(wall "$D/mv-align" "$MV" -q eval "$D/vlm" --evaluator alignment --dataset "$D/shapes/test.jsonl" \
  --param distractors=$K --out "$D/ev-align")
MV_T=$1; MV_CPU=$(awk -v u="$2" -v s="$3" 'BEGIN{print u+s}')
MV_PAIRS=$(jget "$D/ev-align/metrics.json" 'd["counts"]["scored_pairs"]')
"$MV" -q eval "$D/vlm" --evaluator caption-nll --dataset "$D/shapes/test.jsonl" --param append_eos=true --out "$D/ev-nll"
MV_NLL=$(jget "$D/ev-nll/metrics.json" 'd["metrics"]["nll_per_token"]["value"]')

best_t=""; best_cfg=""; best_line=""; min_cpu=""
IFS_SAVE=$IFS; IFS=,
set -- ${PEER_CONFIGS:-1 1,2 1}
IFS=$IFS_SAVE
for cfg in "$@"; do
  set -- $cfg
  line=$(OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$2 /usr/bin/time -f "%U %S" -o "$D/pt.time" \
         $PY tests/bench/eval_peer_alignment.py "$D/vlm" "$D/shapes/test.jsonl" --distractors "$K" --threads "$1")
  t=$(echo "$line" | $PY -c "import json,sys; print(json.load(sys.stdin)['seconds'])")
  cpu=$(awk '{print $1+$2}' "$D/pt.time")
  echo "  torch peer (torch threads $1, OpenBLAS threads $2): $t s wall, $cpu s cpu (incl. import)"
  if [ -z "$min_cpu" ] || awk -v a="$cpu" -v b="$min_cpu" 'BEGIN{exit !(a<b)}'; then min_cpu=$cpu; fi
  if [ -z "$best_t" ] || awk -v a="$t" -v b="$best_t" 'BEGIN{exit !(a<b)}'; then
    best_t=$t; best_cpu=$cpu; best_cfg="torch threads $1, OpenBLAS threads $2"; best_line=$line
  fi
done
PT_PAIRS=$(echo "$best_line" | $PY -c "import json,sys; print(json.load(sys.stdin)['pairs'])")
PT_NLL=$(echo "$best_line" | $PY -c "import json,sys; print(json.load(sys.stdin)['caption_nll_per_token'])")

LOAD1=$(bench_load)
# --- 3. decode + resize
MERGEVAL_PLUGIN_PATH="$BUILD/lib/mergeval/plugins" "$D/bench_decode" "$D/shapes256/test.jsonl" 32 > "$D/decode-mv.json"
$PY tests/bench/eval_peer_alignment.py "$D/vlm" "$D/shapes256/test.jsonl" --decode-only > "$D/decode-pt.json"
DMV=$(jget "$D/decode-mv.json" 'round(d["images"]/d["seconds"])')
DPT=$(jget "$D/decode-pt.json" 'round(d["images"]/d["seconds"])')
LOAD2=$(bench_load)

echo
echo "load average (1/5/15 min): $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) cores"
echo "alignment eval, default tinyvlm, $N items, K=$K distractors each way (end to end, files -> metrics)"
printf "  %-10s %8s %10s %12s   %s\n" side pairs "wall s" "pairs/s" "notes"
awk -v p="$MV_PAIRS" -v t="$MV_T" -v c="$MV_CPU" 'BEGIN{printf "  %-10s %8d %10.2f %12.1f   cpu %.2f s (process incl. model load)\n", "mergeval", p, t, p/t, c}'
awk -v p="$PT_PAIRS" -v t="$best_t" -v c="$best_cpu" -v cfg="$best_cfg" 'BEGIN{printf "  %-10s %8d %10.2f %12.1f   cpu %.2f s; %s (wall timed after import torch)\n", "pytorch", p, t, p/t, c, cfg}'
awk -v a="$MV_PAIRS" -v ta="$MV_T" -v b="$PT_PAIRS" -v tb="$best_t" 'BEGIN{printf "  ratio mergeval/pytorch throughput (wall): %.2fx (target >= 2x)\n", (a/ta)/(b/tb)}'
awk -v a="$MV_PAIRS" -v ta="$MV_CPU" -v b="$PT_PAIRS" -v tb="$min_cpu" 'BEGIN{printf "  ratio per cpu-second vs the peer config using the least cpu (robust on a shared machine): %.2fx\n", (a/ta)/(b/tb)}'
echo "  caption NLL/token of the true pairs: mergeval $MV_NLL, pytorch $PT_NLL"
echo "image decode + resize (256 px PNG -> 32x32 normalised tensor):"
echo "  mergeval $DMV images/s, PIL $DPT images/s"
awk -v a="$DMV" -v b="$DPT" 'BEGIN{printf "  ratio: %.2fx\n", a/b}'
bench_row row=alignment-eval unit=pairs/s better=higher mv="$(awk -v p="$MV_PAIRS" -v t="$MV_T" 'BEGIN { printf "%.2f", p / t }')" \
  peer="$(awk -v p="$PT_PAIRS" -v t="$best_t" 'BEGIN { printf "%.2f", p / t }')" peer_name=PyTorch \
  load_start="$LOAD0" load_end="$LOAD1"
bench_row row=decode-resize unit=images/s better=higher mv="$DMV" peer="$DPT" peer_name=PIL \
  load_start="$LOAD1" load_end="$LOAD2"
