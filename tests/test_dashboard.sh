#!/bin/sh
# tests/test_dashboard.sh — report.html in headless Chromium: render a hand-made summary
# (values near -1e16, a perplexity whose interval crosses zero, a sweep ranking, four points),
# screenshot it (PNG written, full width, not tiny) and check the DOM Chromium built
# (tests/dashboard_check.py: unclipped signed tick labels, round ticks, log axis for the
# perplexity with its band inside the plot, ranking table, a per-item section per point).
# The checker is also run on a damaged page to prove it fails. MV_KEEP_SCREENSHOT=FILE keeps it.
set -u
BUILD=${BUILD:-build}
root=$PWD
render="$root/$BUILD/tests/dashboard_render"
case "$BUILD" in /*) render="$BUILD/tests/dashboard_render" ;; esac
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_dashboard: FAIL: $*" >&2; }
chromium=""
for c in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
  [ -x "$c" ] && { chromium=$c; break; }
done
w=$(mktemp -d /tmp/mv-dash.XXXXXX)
trap 'rm -rf "$w"' EXIT
if [ -z "$chromium" ]; then
  bad "chromium is not installed (make check installs it; or apt-get install chromium)"
  echo "test_dashboard: $pass passed, $fail failed"; exit 1
fi
# A fresh profile per call; generous bound (no test may fail because the machine is slow).
browse() {
  timeout 180 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d "$w/profile.XXXXXX")" --hide-scrollbars "$@"
}

"$render" "$root/tests/fixtures/dashboard_summary.json" "$w/report.html" && ok || bad "render the fixture summary"

browse --window-size=1400,3000 --screenshot="$w/shot.png" "file://$w/report.html" >"$w/shot.log" 2>&1 \
  && ok || bad "chromium screenshot: $(tail -3 "$w/shot.log")"
/usr/bin/python3 - "$w/shot.png" <<'EOT' && ok || bad "screenshot missing, not 1400 px wide, or trivially small"
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n"
w, h = struct.unpack(">II", d[16:24])
assert (w, h) == (1400, 3000), (w, h)
assert len(d) > 30000, len(d)     # a blank 1400x3000 page compresses to a few kB
EOT
[ -n "${MV_KEEP_SCREENSHOT:-}" ] && cp "$w/shot.png" "$MV_KEEP_SCREENSHOT"

browse --dump-dom "file://$w/report.html" >"$w/dom.html" 2>"$w/dom.log" && ok || bad "chromium --dump-dom: $(tail -3 "$w/dom.log")"
grep -q '<svg' "$w/dom.html" && ok || bad "the dumped DOM has no SVG"
/usr/bin/python3 "$root/tests/dashboard_check.py" "$w/dom.html" 4 && ok || bad "DOM assertions (above)"

# The checker can fail: a label moved to the edge, a minus sign lost, a band below the plot,
# no ranking, a linear perplexity axis and a missing point section are each reported.
sed -e '0,/class="ytick" x="[0-9.]*"/s//class="ytick" x="3.0"/' \
    -e 's/>-1e16</>1e16</' -e 's/class="ranking"/class="other"/' -e 's/data-scale="log"/data-scale="linear"/' \
    -e '0,/class="point-items"/s//class="gone"/' -e 's/\(<line class="band" x1="[0-9.]*" x2="[0-9.]*" \)y1="[0-9.]*"/\1y1="189"/' \
    "$w/dom.html" >"$w/broken.html"
out=$(/usr/bin/python3 "$root/tests/dashboard_check.py" "$w/broken.html" 4)
for want in "runs off the left edge" "lost its sign" "not evenly spaced" "band outside the plot" "not marked log scale" \
            "no ranking table" "per-item sections"; do
  case "$out" in *"$want"*) ok ;; *) bad "the checker missed: $want (got: $out)" ;; esac
done

echo "test_dashboard: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
