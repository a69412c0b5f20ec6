#!/bin/sh
# tests/bench/bench_merge.sh — merge benchmark, mergeval vs PyTorch in one run:
#  1. LoRA merge of a rank-16 adapter (all seven projections) into a synthetic
#     Llama-3.2-1B-shaped bf16 checkpoint (~2.47 GB), vs PyTorch doing it as PEFT does;
#  2. 3-model TIES merge vs PyTorch doing mergekit's math (argsort top-k).
# Prints wall time, peak RSS (/usr/bin/time -v), ratios and the physical bounds measured in the
# same run: for LoRA a cp + sync of the base file; for TIES a read of its four inputs dropped
# from the page cache + a durable write (dd conv=fsync) of its output's size (goal: TIES within
# 3x of that); the memory-bandwidth floor as well. One ROW line per merge goes to the history
# (tests/bench/lib.sh). Inputs are cached in $BENCH_DIR (default build/bench/merge).
# Env: BUILD (default build), OPENBLAS_CORETYPE (used by both sides when set; unset = each
# side's own choice, printed). PyTorch runs with 2 intra-op threads and OPENBLAS_NUM_THREADS=1
# (2x2 threads on 2 cores oversubscribe), SKIP_TIES=1 to skip the TIES part (its PyTorch peer
# takes minutes), RUNS (default 2). BENCH_MERGE_LAYERS / BENCH_MERGE_VOCAB shrink the inputs for
# a quick trial (give it its own BENCH_DIR: inputs are cached; its rows get a "-L<n>" name).
set -eu
BUILD=${BUILD:-build}
MV=${MV:-$BUILD/bin/mergeval}
D=${BENCH_DIR:-build/bench/merge}
PY=/usr/bin/python3
. tests/bench/lib.sh
mkdir -p "$D"
[ -x "$MV" ] || { echo "bench_merge: $MV not built (make BUILD=$BUILD all)"; exit 2; }
bench_host merge "$MV"
TAG=""
[ -z "${BENCH_MERGE_LAYERS:-}${BENCH_MERGE_VOCAB:-}" ] || TAG="-L${BENCH_MERGE_LAYERS:-16}v${BENCH_MERGE_VOCAB:-128256}"

echo "bench_merge: preparing inputs in $D (cached)"
$PY tests/bench/merge_make_inputs.py "$D"
cc -O2 -pthread tests/bench/membw.c -o "$D/membw"

# best (lowest wall) of N runs: the machine is shared, so one run can be preempted
best_of() {  # n logfile cmd... -> "wall rss_kb cpu_s" of the fastest run
  n=$1; shift
  best=""
  i=0
  while [ $i -lt "$n" ]; do
    # Removing the previous run's 2.5 GB output is not part of either side's work: do it
    # (and flush) before the clock starts.
    [ -n "${PRE:-}" ] && sh -c "$PRE"
    sync
    r=$(bench_timed "$@") || exit 3
    best=$(printf '%s\n%s\n' "$best" "$r" | awk 'NF == 3' | sort -n | head -1)
    i=$((i + 1))
  done
  echo "$best"
}

BASE=$D/base/model.safetensors
BYTES=$(stat -c %s "$BASE")
# warm the page cache so both sides start from the same state
cat "$D"/base/model.safetensors "$D"/lora/adapter_model.safetensors > /dev/null
BW=$("$D/membw" 2)
sync
LOAD0=$(bench_load)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
r=$(best_of 2 "$D/cp.log" sh -c "rm -f '$D/cp-copy.safetensors'; cp '$BASE' '$D/cp-copy.safetensors'"); set -- $r; CP_T=$1
r=$(best_of 2 "$D/cpsync.log" sh -c "rm -f '$D/cp-copy.safetensors'; cp '$BASE' '$D/cp-copy.safetensors' && sync '$D/cp-copy.safetensors'"); set -- $r; CPS_T=$1
rm -f "$D/cp-copy.safetensors"
FLOOR_BW=$(awk -v b="$BYTES" -v bw="$BW" 'BEGIN { printf "%.3f", 2 * b / (bw * 1e9) }')

N=${RUNS:-2}
r=$(PRE="rm -rf '$D/out-mv-lora'" best_of "$N" "$D/mv-lora.log" "$MV" -q merge --base "$D/base" --adapter "$D/lora" --out "$D/out-mv-lora"); set -- $r
MV_T=$1; MV_R=$2; MV_C=$3
# PyTorch: 2 intra-op threads, OpenBLAS single-threaded (2 x 2 oversubscribes 2 cores)
r=$(PRE="rm -f '$D/pt-lora.safetensors'" best_of "$N" "$D/pt-lora.log" env OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 $PY -c "import torch,sys; torch.set_num_threads(2); sys.argv=['x','$D/base','$D/lora','$D/pt-lora.safetensors']; sys.path.insert(0,'tests/bench'); import runpy; runpy.run_path('tests/bench/merge_peer_lora.py', run_name='__main__')"); set -- $r
PT_T=$1; PT_R=$2; PT_C=$3
LOAD1=$(bench_load)
# same bits? (both: fp32 delta, one rounding)
SAME=$(cmp -s "$D/out-mv-lora/model.safetensors" "$D/pt-lora.safetensors" && echo identical-file || \
  $PY - "$D/out-mv-lora/model.safetensors" "$D/pt-lora.safetensors" <<'PYEOF'
import sys, torch
sys.path.insert(0, "tests/bench")
import merge_st
a = merge_st.open_lazy(sys.argv[1]); b = merge_st.open_lazy(sys.argv[2])
diff = tot = 0
for n in a[0]:
    x = merge_st.tensor(a[0], a[1], a[2], n).view(torch.int16); y = merge_st.tensor(b[0], b[1], b[2], n).view(torch.int16)
    d = (x != y).sum().item(); diff += d; tot += x.numel()
print(f"{diff}/{tot}-elements-differ")
PYEOF
)
rm -f "$D/pt-lora.safetensors"

echo
echo "LoRA merge, Llama-3.2-1B-shaped bf16 ($BYTES bytes), rank 16 x 7 projections x ${BENCH_MERGE_LAYERS:-16} layers"
echo "OpenBLAS: see the host line; torch: 2 intra-op threads + OPENBLAS_NUM_THREADS=1; mergeval: 2 workers, BLAS 1 thread"
echo "load average at start: $LOAD (2 cores; other jobs share them) — best of $N runs each"
printf "%-34s %9s %9s %12s\n" "" "wall (s)" "CPU (s)" "peak RSS MB"
printf "%-34s %9.2f %9.2f %12.0f\n" "mergeval merge" "$MV_T" "$MV_C" "$(echo "$MV_R/1024" | bc -l)"
printf "%-34s %9.2f %9.2f %12.0f\n" "PyTorch (as PEFT)" "$PT_T" "$PT_C" "$(echo "$PT_R/1024" | bc -l)"
printf "%-34s %9.2f\n" "cp of the base file (same run)" "$CP_T"
printf "%-34s %9.2f   (mergeval fsyncs its output before the atomic rename)\n" "cp + sync of the copy" "$CPS_T"
printf "%-34s %9.2f   (%s GB/s memcpy, 2 threads; read+write %s bytes)\n" "memory-bandwidth floor" "$FLOOR_BW" "$BW" "$((2 * BYTES))"
awk -v m="$MV_T" -v p="$PT_T" -v c="$CP_T" -v cs="$CPS_T" -v f="$FLOOR_BW" 'BEGIN {
  printf "ratios: PyTorch/mergeval = %.1fx   mergeval/cp = %.2fx   mergeval/(cp+sync) = %.2fx   mergeval/bandwidth floor = %.2fx\n", p/m, m/c, m/cs, m/f }'
echo "outputs: $SAME"
bench_row row="lora-1b$TAG" unit=s better=lower mv="$MV_T" peer="$PT_T" peer_name="PyTorch(PEFT)" \
  mv_rss_mb="$(bench_mb "$MV_R")" peer_rss_mb="$(bench_mb "$PT_R")" \
  bound="$CPS_T" bound_what="cp+sync of the base, same run" load_start="$LOAD0" load_end="$LOAD1"

if [ "${SKIP_TIES:-0}" = 1 ]; then exit 0; fi
cat "$D"/ft1/model.safetensors "$D"/ft2/model.safetensors "$D"/ft3/model.safetensors > /dev/null
cat > "$D/ties.json" <<JSON
{"method": "ties", "base_model": "$D/base",
 "models": [{"path": "$D/ft1", "parameters": {"weight": 0.5, "density": 0.5}},
            {"path": "$D/ft2", "parameters": {"weight": 0.3, "density": 0.5}},
            {"path": "$D/ft3", "parameters": {"weight": 0.8, "density": 0.5}}]}
JSON
LOAD0=$(bench_load)
r=$(PRE="rm -rf '$D/out-mv-ties'" best_of "$N" "$D/mv-ties.log" "$MV" -q merge "$D/ties.json" --out "$D/out-mv-ties"); set -- $r; MVT_T=$1; MVT_R=$2; MVT_C=$3
# the physical bound, same run: read the four inputs (dropped from the page cache first) +
# durably write as many bytes as the merge wrote
OUT_BYTES=$(stat -c %s "$D"/out-mv-ties/*.safetensors | awk '{ s += $1 } END { printf "%.0f\n", s }')
r=$(bench_read_bound "$D/read4.log" "$D"/base/model.safetensors "$D"/ft1/model.safetensors "$D"/ft2/model.safetensors "$D"/ft3/model.safetensors) || exit 3; set -- $r
READ_T=$1; READ_STATE=$2
WRITE_T=$(bench_write_bound "$D/dd.log" "$D" "$OUT_BYTES")
IO_T=$(awk -v r="$READ_T" -v w="$WRITE_T" 'BEGIN { printf "%.2f", r + w }')
# the peer reads warm inputs, like mergeval did
cat "$D"/base/model.safetensors "$D"/ft1/model.safetensors "$D"/ft2/model.safetensors "$D"/ft3/model.safetensors > /dev/null
r=$(bench_timed "$D/pt-ties.log" env OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 $PY -c "import torch,sys; torch.set_num_threads(2); sys.argv=['x','$D/base','$D/pt-ties.safetensors','$D/ft1','$D/ft2','$D/ft3']; import runpy; runpy.run_path('tests/bench/merge_peer_ties.py', run_name='__main__')") || exit 3
set -- $r
PTT_T=$1; PTT_R=$2; PTT_C=$3
rm -f "$D/pt-ties.safetensors"
echo
echo "TIES merge, base + 3 models of the same shape, density 0.5, weights 0.5/0.3/0.8"
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg); PyTorch TIES: one run (minutes)"
printf "%-34s %9s %9s %12s\n" "" "wall (s)" "CPU (s)" "peak RSS MB"
printf "%-34s %9.2f %9.2f %12.0f\n" "mergeval merge (ties)" "$MVT_T" "$MVT_C" "$(echo "$MVT_R/1024" | bc -l)"
printf "%-34s %9.2f %9.2f %12.0f\n" "PyTorch (mergekit math)" "$PTT_T" "$PTT_C" "$(echo "$PTT_R/1024" | bc -l)"
TF=$(awk -v b="$BYTES" -v bw="$BW" 'BEGIN { printf "%.3f", 5 * b / (bw * 1e9) }')
printf "%-34s %9.2f   (4 inputs read + 1 written)\n" "memory-bandwidth floor" "$TF"
printf "%-34s %9.2f   (%s read of the 4 inputs; mergeval read them warm)\n" "read of the inputs" "$READ_T" "$READ_STATE"
printf "%-34s %9.2f   (dd conv=fsync of %s bytes, the output's size)\n" "durable write of the output" "$WRITE_T" "$OUT_BYTES"
awk -v m="$MVT_T" -v p="$PTT_T" -v f="$TF" 'BEGIN { printf "ratios: PyTorch/mergeval = %.1fx   mergeval/bandwidth floor = %.2fx\n", p/m, m/f }'
bench_row row="ties-3x1b$TAG" unit=s better=lower mv="$MVT_T" peer="$PTT_T" peer_name="PyTorch(mergekit-math)" \
  mv_rss_mb="$(bench_mb "$MVT_R")" peer_rss_mb="$(bench_mb "$PTT_R")" rss_goal_mb=512 \
  bound="$IO_T" bound_what="$READ_STATE read of 4 inputs $READ_T s + dd fsync $OUT_BYTES B $WRITE_T s" bound_goal=3 \
  load_start="$LOAD0" load_end="$(bench_load)"
