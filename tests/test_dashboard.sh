#!/bin/sh
# tests/test_dashboard.sh — report.html in headless Chromium: render a hand-made summary
# (values near -1e16, a perplexity whose interval crosses zero, a sweep ranking, four points),
# screenshot it (PNG written, full width, not tiny) and check the DOM Chromium built
# (tests/dashboard_check.py: unclipped signed tick labels, round ticks, log axis for the
# perplexity with its band inside the plot, ranking table, a per-item section per point).
# The checker is also run on a damaged page to prove it fails. MV_KEEP_SCREENSHOT=FILE keeps it.
# A sweep fixture with 9 long labels is measured in Chromium (tests/dashboard_xlabels.js).
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

# Long x labels (a sweep: 9 points named by their parameters): measured in Chromium by
# tests/dashboard_xlabels.js (injected into a copy of the page): no two texts of a chart
# intersect, no x label is clipped; the labels are rotated and carry their full name as a
# tooltip; the perplexity band is the ratio interval, named in the legend, nothing clamped.
xlabels() {  # $1 report.html, $2 output JSON
  /usr/bin/python3 - "$1" "$root/tests/dashboard_xlabels.js" "$w/measure.html" <<'EOT'
import sys
page, js = open(sys.argv[1]).read(), open(sys.argv[2]).read()
open(sys.argv[3], "w").write(page.replace("</body>", "<script>" + js + "</script></body>"))
EOT
  browse --dump-dom "file://$w/measure.html" 2>"$w/measure.log" |
    sed -n 's:.*<pre id="xlabel-check">\(.*\)</pre>.*:\1:p' | sed 's/&quot;/"/g; s/&amp;/\&/g' >"$2"
}
"$render" "$root/tests/fixtures/dashboard_sweep_summary.json" "$w/sweep.html" && ok || bad "render the sweep fixture"
browse --dump-dom "file://$w/sweep.html" >"$w/sweep_dom.html" 2>/dev/null
/usr/bin/python3 "$root/tests/dashboard_check.py" "$w/sweep_dom.html" 9 && ok || bad "DOM assertions on the sweep page (above)"
xlabels "$w/sweep.html" "$w/sweep.json"
xlabels "$w/report.html" "$w/first.json"
/usr/bin/python3 - "$w/sweep.json" "$w/first.json" "$w/sweep_dom.html" <<'EOT' && ok || bad "x labels of the sweep page (above)"
import json, re, sys
sweep, first = (json.load(open(f)) for f in sys.argv[1:3])
dom = open(sys.argv[3]).read()
bad = sweep["problems"] + first["problems"]
for c in sweep["charts"]:
    if c["labels"] != 9 or not c["rotated"] or c["titles"] != 9:
        bad.append(f"sweep chart {c['title']}: {c}, want 9 rotated labels with full-name tooltips")
if len(sweep["charts"]) != 2 or len(first["charts"]) != 3:
    bad.append(f"{len(sweep['charts'])} / {len(first['charts'])} charts measured, want 2 / 3")
ppl = dom[dom.index("clinical.perplexity (lower"):]
ppl = ppl[:ppl.index("</svg>")]
if "ratio to baseline" not in ppl or 'class="clamped"' in ppl:
    bad.append("sweep perplexity chart: legend does not name the ratio interval, or a bound was clamped")
for b in bad:
    print("x labels:", b)
sys.exit(1 if bad else 0)
EOT
# 30 long labels: too close to rotate them all, so thinned (the last kept), still no overlap.
/usr/bin/python3 - "$root/tests/fixtures/dashboard_sweep_summary.json" "$w/s30.json" <<'EOT'
import json, sys
s = json.load(open(sys.argv[1]))
n = 30
s["points"] = [{"index": i, "label": f"candidate {i}: ties density=0.{i:02d} weight=0.5"} for i in range(n)]
s["ranking"] = []
for m in s["metrics"]:
    m["values"] = [m["values"][i % 9] for i in range(n)]
    m["vs_baseline"] = [None] + [m["vs_baseline"][1 + i % 8] for i in range(n - 1)]
    m["worst_items_by_point"] = [None] + [[]] * (n - 1)
json.dump(s, open(sys.argv[2], "w"))
EOT
"$render" "$w/s30.json" "$w/s30.html" && ok || bad "render the 30-point summary"
xlabels "$w/s30.html" "$w/s30m.json"
/usr/bin/python3 - "$w/s30m.json" "$w/s30.html" <<'EOT' && ok || bad "30 labels: thinned without overlap, last kept (above)"
import json, sys
r, page = json.load(open(sys.argv[1])), open(sys.argv[2]).read()
bad = list(r["problems"])
if not r["charts"] or any(not (2 <= c["labels"] < 30) for c in r["charts"]):
    bad.append(f"charts {r['charts']}: want fewer than 30 labels shown")
if "<title>candidate 29: ties" not in page.split("xlabel")[-1]:
    bad.append("the last point's label is not shown")
for b in bad:
    print("30 labels:", b)
sys.exit(1 if bad else 0)
EOT
# The measurement can fail: labels laid flat (no rotation) overlap; a label moved left is clipped.
sed 's/transform="rotate([^"]*)"//g' "$w/sweep.html" >"$w/flat.html"
xlabels "$w/flat.html" "$w/flat.json"
grep -q 'xlabel.*overlap' "$w/flat.json" && ok || bad "overlapping flat labels were not detected: $(head -c 300 "$w/flat.json")"
sed '0,/class="xlabel" x="[0-9.]*"/s//class="xlabel" x="-60"/' "$w/report.html" >"$w/clip.html"
xlabels "$w/clip.html" "$w/clip.json"
grep -q 'clipped by the chart' "$w/clip.json" && ok || bad "a clipped label was not detected: $(head -c 300 "$w/clip.json")"

echo "test_dashboard: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
