#!/bin/sh
# tests/bench/bench_merge8b.sh — the 8B-class LoRA merge: a synthetic checkpoint with the real
# MiniCPM-Llama3-V-2.5 shapes (~17 GB bf16, 4 shards; tests/bench/merge_make_8b.py) and a
# rank-16 LoRA on the plain Llama-3 names merged with the seed scenario's key_map. Prints wall
# time and peak RSS (target: <= 256 MB whatever the load) beside a same-run `cp -r` + `sync`
# of the same folder. Everything is generated under $BENCH8_DIR (default build/bench/merge8b)
# and removed afterwards (KEEP=1 keeps it). Needs ~36 GB free.
set -eu
BUILD=${BUILD:-build}
MV=${MV:-$BUILD/bin/mergeval}
D=${BENCH8_DIR:-build/bench/merge8b}
[ -x "$MV" ] || { echo "bench_merge8b: $MV not built"; exit 2; }
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$D"; }
trap cleanup EXIT
mkdir -p "$D"
avail=$(df -Pk "$D" | awk 'NR == 2 { print $4 }')
if [ "$avail" -lt 37000000 ]; then echo "bench_merge8b: needs ~36 GB free in $D, skipped"; exit 0; fi
echo "bench_merge8b: generating the synthetic 8B-class checkpoint in $D"
/usr/bin/python3 tests/bench/merge_make_8b.py "$D"
BYTES=$(du -sb "$D/vlm" | cut -f1)
timed() {  # log cmd... -> "wall rss_kb"
  log=$1; shift
  /usr/bin/time -v "$@" > "$log.out" 2> "$log" || { echo "failed: $*"; tail -5 "$log"; exit 3; }
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  echo "$wall $rss"
}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
sync
set -- $(timed "$D/cp.log" sh -c "cp -r '$D/vlm' '$D/cp-copy' && sync"); CP_T=$1
rm -rf "$D/cp-copy"; sync
set -- $(timed "$D/mv.log" "$MV" -q merge --base "$D/vlm" --adapter "$D/lora" --key-map model.=llm.model. --out "$D/out"); MV_T=$1; MV_R=$2
n_out=$(ls "$D/out"/*.safetensors | wc -l)
echo
echo "8B-class LoRA merge (MiniCPM-Llama3-V-2.5 shapes, $BYTES bytes bf16, 4 shards), rank 16 x 7 projections x 32 layers"
echo "load average at start: $LOAD0, now: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores; other jobs share them)"
printf "%-34s %9s %12s\n" "" "wall (s)" "peak RSS MB"
printf "%-34s %9.2f %12.0f\n" "mergeval merge" "$MV_T" "$(echo "$MV_R/1024" | bc -l)"
printf "%-34s %9.2f\n" "cp -r + sync of the folder" "$CP_T"
awk -v m="$MV_T" -v c="$CP_T" -v r="$MV_R" 'BEGIN { printf "ratio mergeval/(cp -r + sync) = %.2fx; peak RSS %s 256 MB\n", m/c, (r/1024 <= 256 ? "<=" : "> (over the target)") }'
echo "output shards: $n_out"
