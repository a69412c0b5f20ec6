# tests/bench/lib.sh — what every tests/bench/bench_*.sh shares (sourced, POSIX sh): the host
# line (CPU, cores, the OpenBLAS core each side actually uses), the load average, timing through
# /usr/bin/time -v, the same-run physical bounds (cold read, durable write) and the row
# (printed and appended to the history by tests/bench/history.py). Nothing here sets
# OPENBLAS_CORETYPE: a value from the environment is used by both sides, an unset one stays
# unset (mergeval then applies its own selection, core/lib/blas_setup.c; the peer its default).
BENCH_PY=${BENCH_PY:-/usr/bin/python3}
BENCH_HISTORY=${BENCH_HISTORY:-build/bench/history.jsonl}
export BENCH_HISTORY

# 1-minute load average
bench_load() { cut -d' ' -f1 /proc/loadavg; }

# bench_host NAME MV_BINARY: fill and export BENCH_* (once per `make bench`: run.sh's values are
# inherited) and print the host line. MV_BINARY is asked for its OpenBLAS core (--version
# prints mv_blas_describe()); the peer's is what torch's OpenBLAS reports after import.
bench_host() {
  BENCH_NAME=$1
  : "${BENCH_RUN:=$(date -u +%Y%m%dT%H%M%SZ)-$$}"
  : "${BENCH_HOSTNAME:=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)}"
  : "${BENCH_CPU:=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)}"
  : "${BENCH_CORES:=$(nproc)}"
  BENCH_CORETYPE_ENV=${OPENBLAS_CORETYPE-unset}
  if [ -z "${BENCH_BLAS_MV:-}" ] && [ -x "${2:-}" ]; then
    BENCH_BLAS_MV_DESC=$("$2" --version | sed -n 's/.*(plugin ABI [^,]*, [^,]*, \(.*\))$/\1/p')
    BENCH_BLAS_MV=$(echo "$BENCH_BLAS_MV_DESC" | sed -n 's/.*core=\([A-Za-z0-9_]*\).*/\1/p')
    case "$BENCH_BLAS_MV_DESC" in *auto-selected*) BENCH_BLAS_MV="$BENCH_BLAS_MV(auto)" ;; esac
  fi
  : "${BENCH_BLAS_PEER:=$(bench_peer_blas)}"
  export BENCH_RUN BENCH_HOSTNAME BENCH_CPU BENCH_CORES BENCH_CORETYPE_ENV BENCH_BLAS_MV BENCH_BLAS_PEER
  echo "host: $BENCH_CPU, $BENCH_CORES cores ($BENCH_HOSTNAME); OPENBLAS_CORETYPE=$BENCH_CORETYPE_ENV;" \
       "OpenBLAS core: mergeval ${BENCH_BLAS_MV:-?}, PyTorch ${BENCH_BLAS_PEER:-?}; load $(cut -d' ' -f1-3 /proc/loadavg);" \
       "run $BENCH_RUN, commit $(git rev-parse --short=12 HEAD 2>/dev/null)$(git diff --quiet HEAD -- 2>/dev/null || echo +dirty)"
}

# the core the OpenBLAS loaded by torch runs (torch.__config__ only says BLAS_INFO=generic)
bench_peer_blas() {
  OPENBLAS_NUM_THREADS=1 "$BENCH_PY" - <<'PYEOF' 2>/dev/null || echo unknown
import ctypes, re, torch
libs = sorted(set(re.findall(r"/\S*libopenblas\S*\.so\S*", open("/proc/self/maps").read())))
if not libs:
    print("no-openblas(" + torch.__config__.show().split("BLAS_INFO=")[1].split(",")[0] + ")")
else:
    lib = ctypes.CDLL(libs[0])
    lib.openblas_get_corename.restype = ctypes.c_char_p
    print(lib.openblas_get_corename().decode())
PYEOF
}

# bench_timed LOG CMD...: run CMD under /usr/bin/time -v (stdout to LOG.out, time's report to
# LOG); print "wall_s peak_rss_kb cpu_s". A failing CMD ends the script (exit 3).
bench_timed() {
  _log=$1; shift
  /usr/bin/time -v "$@" > "$_log.out" 2> "$_log" || { echo "failed: $*" >&2; tail -5 "$_log" >&2; exit 3; }
  awk -F': ' '/Maximum resident set size/ { rss = $2 }
    /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); wall = (n == 3) ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2] }
    /User time|System time/ { cpu += $2 }
    END { printf "%s %s %.2f\n", wall, rss, cpu }' "$_log"
}

# bench_read_bound LOG FILE...: seconds to read FILEs after asking the kernel to drop them from
# the page cache (posix_fadvise DONTNEED, no root needed); prints "seconds cold|warm|partly-cold"
# from fincore's count of pages still resident (a VM's host cache can still serve them).
bench_read_bound() {
  _log=$1; shift
  sync
  "$BENCH_PY" -c 'import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$@"
  _state=$( { fincore -b -n -o RES "$@" 2>/dev/null || echo x; } | awk -v tot="$(stat -c %s "$@" | awk '{ s += $1 } END { print s }')" \
    '$1 == "x" { unknown = 1 } { res += $1 } END { print unknown ? "warm?" : res < 0.02 * tot ? "cold" : res < 0.5 * tot ? "partly-cold" : "warm" }')
  _r=$(bench_timed "$_log" cat "$@") || exit 3
  set -- $_r
  echo "$1 $_state"
}

# bench_write_bound LOG DIR BYTES: seconds of a durable write of BYTES (rounded up to 4 MiB)
# into DIR: dd from /dev/zero with conv=fsync, file removed afterwards.
bench_write_bound() {
  # awk, not $(( )): byte counts may arrive as floats ("2.47165e+09") from du/awk pipelines
  _count=$(awk -v b="$3" 'BEGIN { printf "%d", (b + 4194303) / 4194304 }')
  _r=$(bench_timed "$1" dd if=/dev/zero of="$2/.bench-dd" bs=4M count="$_count" conv=fsync status=none) || exit 3
  rm -f "$2/.bench-dd"
  echo "${_r%% *}"
}

# bench_row key=value...: print the row line and append it to $BENCH_HISTORY (fields:
# tests/bench/history.py ROW_FIELDS; bench=$BENCH_NAME is added)
bench_row() { "$BENCH_PY" tests/bench/history.py append "$BENCH_HISTORY" bench="$BENCH_NAME" "$@"; }

# KB -> MB, for rows
bench_mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
