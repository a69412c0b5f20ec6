#!/bin/sh
# tests/bench/bench_dtype.sh — bulk dtype conversion throughput (Gelem/s, higher is better),
# mergeval (tests/bench/bench_dtype.c, one thread) vs PyTorch (Tensor.copy_ into a
# preallocated tensor, torch.set_num_threads(1)), same element count, warm buffers, best of 5.
# Bound: one thread's memcpy bandwidth (tests/bench/membw.c, bytes read + written) over the 6
# bytes each element moves (4 of f32 + 2 of 16-bit). One ROW line per conversion (lib.sh).
set -eu
BUILD=${BUILD:-build}
N=${N:-33554432}
D=$BUILD/bench
mkdir -p "$D"
[ -f "$BUILD/lib/libmergeval.so" ] || { echo "bench_dtype: build first (make BUILD=$BUILD all)"; exit 2; }
. tests/bench/lib.sh
bench_host dtype "$BUILD/bin/mergeval"
LOAD0=$(bench_load)
cc -O2 -pthread tests/bench/membw.c -o "$D/membw"
BW1=$("$D/membw" 1)
cc -O2 -Iinclude tests/bench/bench_dtype.c -o "$D/bench_dtype" -L"$BUILD/lib" -lmergeval \
   -Wl,-rpath,"$(cd "$BUILD/lib" && pwd)"
"$D/bench_dtype" "$N" > "$D/dtype-mv.txt"
/usr/bin/python3 - "$N" > "$D/dtype-pt.txt" <<'PY'
import sys, time, torch
torch.set_num_threads(1)
n = int(sys.argv[1])
f = (torch.arange(n, dtype=torch.float32) % 100003) * 1e-3 - 50
g = torch.empty(n, dtype=torch.float32)
for name, dt in (("BF16", torch.bfloat16), ("F16", torch.float16)):
    h = torch.empty(n, dtype=dt)
    bf, bt = 1e9, 1e9
    for _ in range(5):
        t = time.perf_counter(); h.copy_(f); a = time.perf_counter() - t
        t = time.perf_counter(); g.copy_(h); b = time.perf_counter() - t
        bf, bt = min(bf, a), min(bt, b)
    print("f32_to_%s %.3f" % (name, n / bf / 1e9))
    print("%s_to_f32 %.3f" % (name, n / bt / 1e9))
PY
echo "bulk conversion, $N elements, Gelem/s (higher is better), 1 thread each"
printf "%-14s %10s %10s %8s\n" conversion mergeval pytorch ratio
paste -d' ' "$D/dtype-mv.txt" "$D/dtype-pt.txt" |
  awk '{ printf "%-14s %10.2f %10.2f %7.2fx\n", $1, $2, $4, $2 / $4 }'
LOAD1=$(bench_load)
paste -d' ' "$D/dtype-mv.txt" "$D/dtype-pt.txt" | while read -r name mv _ peer; do
  bench_row row="$name" unit=Gelem/s better=higher mv="$mv" peer="$peer" peer_name=PyTorch \
    bound="$(awk -v bw="$BW1" 'BEGIN { printf "%.3f", bw / 6 }')" bound_what="1-thread memcpy $BW1 GB/s / 6 B per element" \
    load_start="$LOAD0" load_end="$LOAD1"
done
