#!/bin/sh
# tests/test_ratio_band.sh — the band of a perplexity on the dashboard is a ratio interval:
# `mergeval compare A B --out` on two evaluation folders (per-document NLL sums and token
# counts, value = exp(Σnll / Σtokens)) writes vs_baseline.ratio_ci95, which must equal an
# independent numpy computation (the seeded paired bootstrap of log B - log A over documents,
# PRNG from tests/golden/stats_reference.py, numpy's linear percentiles, then exp), be
# positive and asymmetric around the ratio, and report.html must draw the band as
# ref x [lo, hi] on its log axis with the legend naming it.
set -u
BUILD=${BUILD:-build}
mv="$BUILD/bin/mergeval"
root=$PWD
w=$(mktemp -d /tmp/mv-ratio-XXXXXX)
trap 'rm -rf "$w"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_ratio_band: FAIL: $*" >&2; }

# Two evaluations of 40 documents: B's NLL per token is higher (and noisier) than A's.
/usr/bin/python3 - "$w" <<'EOT' && ok || bad "write the fixture"
import json, os, sys
import numpy as np
rng = np.random.default_rng(7)
n = 40
tokens = rng.integers(5, 120, n)
nll_a = tokens * rng.uniform(1.2, 1.6, n)
nll_b = nll_a * rng.lognormal(0.25, 0.3, n)
for side, nll in (("A", nll_a), ("B", nll_b)):
    d = os.path.join(sys.argv[1], side)
    os.makedirs(d)
    with open(os.path.join(d, "items.jsonl"), "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"doc-{i:03d}", "scores": {"nll": float(nll[i]), "tokens": int(tokens[i])}}) + "\n")
    value = float(np.exp(nll.sum() / tokens.sum()))
    json.dump({"schema_version": 1, "evaluator": "fixture", "n_items": n,
               "metrics": {"perplexity": {"value": value, "direction": "lower", "num": "nll", "den": "tokens",
                                          "transform": "exp", "binary": False, "n_items": n}},
               "counts": {"items": n}, "items_file": "items.jsonl"}, open(os.path.join(d, "metrics.json"), "w"))
json.dump({"nll_a": nll_a.tolist(), "nll_b": nll_b.tolist(), "tokens": tokens.tolist()}, open(os.path.join(sys.argv[1], "raw.json"), "w"))
EOT

"$mv" compare "$w/A" "$w/B" --out "$w/cmp" --resamples 1000 --seed 11 >"$w/out" 2>"$w/err"
[ -f "$w/cmp/summary.json" ] && ok || bad "compare wrote no summary.json: $(cat "$w/err")"

/usr/bin/python3 - "$w" "$root/tests/golden" <<'EOT' && ok || bad "ratio interval vs the numpy reference (above)"
import json, math, os, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from stats_reference import Rng
w = sys.argv[1]
raw = json.load(open(os.path.join(w, "raw.json")))
a, b, t = (np.array(raw[k], dtype=float) for k in ("nll_a", "nll_b", "tokens"))
s = json.load(open(os.path.join(w, "cmp", "summary.json")))
m = next(m for m in s["metrics"] if m["name"].endswith("perplexity"))
c = m["vs_baseline"][1]
rng, n = Rng(11), len(a)
logs = np.empty(1000)
for r in range(1000):
    counts = np.zeros(n)
    for _ in range(n):
        counts[rng.below(n)] += 1
    # log of exp(pooled NLL per token), B minus A, over the same resampled documents
    logs[r] = (counts * b).sum() / (counts * t).sum() - (counts * a).sum() / (counts * t).sum()
lo, hi = np.exp(np.percentile(logs, [2.5, 97.5]))
ratio = c["value"] / c["ref"]
bad = []
got = c.get("ratio_ci95")
if not got:
    bad.append(f"no ratio_ci95 in {c}")
else:
    for what, g, want in (("low", got[0], lo), ("high", got[1], hi)):
        print(f"ratio CI {what}: mergeval {g!r} numpy {want!r}")
        if abs(g - want) > 1e-9 * want:
            bad.append(f"ratio CI {what} {g} != reference {want}")
    if not (0 < got[0] < ratio < got[1]):
        bad.append(f"ratio {ratio} not inside a positive interval {got}")
    # asymmetric on the value scale: the upper arm is longer than the lower one
    if not (got[1] - ratio > ratio - got[0] > 0):
        bad.append(f"interval {got} around {ratio} is not the log-scale (asymmetric) one")
    # the additive delta interval crosses zero here? irrelevant; the band must stay positive
html = open(os.path.join(w, "cmp", "report.html")).read()
svg = html[html.index("perplexity (lower"):]
svg = svg[:svg.index("</svg>")]
if "ratio to baseline" not in svg:
    bad.append("the perplexity chart's legend does not name the ratio interval")
if 'data-scale="log"' not in html[html.rfind("<svg", 0, html.index("perplexity (lower")):][:400]:
    bad.append("the perplexity chart is not on a log axis")
# The drawn band: the line's ends, mapped back through the log axis (two tick labels and
# their positions), are ref x the interval (to the 0.1 px the SVG is written with).
import re
ticks = [(float(v), float(y) - 3) for y, v in re.findall(r'class="ytick" x="[0-9.]+" y="([0-9.]+)"[^>]*>([^<]+)<', svg)]
band = re.findall(r'<line class="band" x1="[0-9.]+" x2="[0-9.]+" y1="([0-9.]+)" y2="([0-9.]+)"', svg)
if len(ticks) < 2 or len(band) != 1:
    bad.append(f"ticks {ticks} / band lines {band}: cannot read the chart")
elif got:
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    value_at = lambda y: 10 ** (math.log10(v0) + (y0 - y) / (y0 - y1) * (math.log10(v1) - math.log10(v0)))
    per_px = (math.log10(v1) - math.log10(v0)) / abs(y0 - y1)
    for what, y, want in (("low", float(band[0][0]), c["ref"] * got[0]), ("high", float(band[0][1]), c["ref"] * got[1])):
        drawn = value_at(y)
        print(f"band {what}: drawn {drawn:.5g}, ref x ratio bound {want:.5g}")
        if abs(math.log10(drawn / want)) > 0.06 * per_px:
            bad.append(f"band {what} drawn at {drawn}, want {want}")
for x in bad:
    print("test_ratio_band:", x)
sys.exit(1 if bad else 0)
EOT

echo "test_ratio_band: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
