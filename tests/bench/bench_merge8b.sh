#!/bin/sh
# tests/bench/bench_merge8b.sh — the 8B-class LoRA merge: a synthetic checkpoint with the real
# MiniCPM-Llama3-V-2.5 shapes (~17 GB bf16, 4 shards; tests/bench/merge_make_8b.py) and a
# rank-16 LoRA on the plain Llama-3 names merged with the seed scenario's key_map. Prints wall
# time and peak RSS (goal: <= 256 MB whatever the load) beside two same-run bounds: `cp -r` +
# `sync` of the folder and a durable write of as many bytes (dd conv=fsync; goal: the merge
# within 1.5x of it), and one ROW line to the history (tests/bench/lib.sh). Everything is
# generated under $BENCH8_DIR (default build/bench/merge8b) and removed afterwards (KEEP=1 keeps
# it). Needs ~36 GB free, else it skips itself; BENCH_8B_TINY=1 runs the same steps on a ~1.2 GB
# checkpoint (2 layers; row "lora-8b-tiny") as a quick trial.
set -eu
BUILD=${BUILD:-build}
MV=${MV:-$BUILD/bin/mergeval}
D=${BENCH8_DIR:-build/bench/merge8b}
. tests/bench/lib.sh
[ -x "$MV" ] || { echo "bench_merge8b: $MV not built"; exit 2; }
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$D"; }
trap cleanup EXIT
mkdir -p "$D"
NEED_KB=37000000; ROW=lora-8b
[ "${BENCH_8B_TINY:-0}" = 1 ] && { NEED_KB=4000000; ROW=lora-8b-tiny; }
avail=$(df -Pk "$D" | awk 'NR == 2 { print $4 }')
if [ "$avail" -lt "$NEED_KB" ]; then echo "bench_merge8b: needs $((NEED_KB / 1000000)) GB free in $D, skipped"; exit 0; fi
bench_host merge8b "$MV"
echo "bench_merge8b: generating the synthetic 8B-class checkpoint in $D"
/usr/bin/python3 tests/bench/merge_make_8b.py "$D"
BYTES=$(du -sb "$D/vlm" | cut -f1)
LOAD0=$(bench_load)
sync
r=$(bench_timed "$D/cp.log" sh -c "cp -r '$D/vlm' '$D/cp-copy' && sync") || exit 3; set -- $r; CP_T=$1
rm -rf "$D/cp-copy"; sync
DD_T=$(bench_write_bound "$D/dd.log" "$D" "$BYTES")
sync
r=$(bench_timed "$D/mv.log" "$MV" -q merge --base "$D/vlm" --adapter "$D/lora" --key-map model.=llm.model. --out "$D/out") || exit 3
set -- $r; MV_T=$1; MV_R=$2
n_out=$(ls "$D/out"/*.safetensors | wc -l)
echo
echo "8B-class LoRA merge (MiniCPM-Llama3-V-2.5 shapes, $BYTES bytes bf16, $(ls "$D/vlm"/*.safetensors | wc -l) shards), rank 16 x 7 projections"
echo "load average at start: $LOAD0, now: $(cut -d' ' -f1-3 /proc/loadavg) (other jobs share the cores)"
printf "%-34s %9s %12s\n" "" "wall (s)" "peak RSS MB"
printf "%-34s %9.2f %12.0f\n" "mergeval merge" "$MV_T" "$(bench_mb "$MV_R")"
printf "%-34s %9.2f\n" "cp -r + sync of the folder" "$CP_T"
printf "%-34s %9.2f   (dd conv=fsync of %s bytes)\n" "durable write of the same bytes" "$DD_T" "$BYTES"
awk -v m="$MV_T" -v c="$CP_T" 'BEGIN { printf "ratio mergeval/(cp -r + sync) = %.2fx\n", m / c }'
echo "output shards: $n_out"
bench_row row="$ROW" unit=s better=lower mv="$MV_T" mv_rss_mb="$(bench_mb "$MV_R")" rss_goal_mb=256 \
  bound="$DD_T" bound_what="dd conv=fsync of $BYTES B, same run; cp -r + sync took $CP_T s" bound_goal=1.5 \
  load_start="$LOAD0" load_end="$(bench_load)"
