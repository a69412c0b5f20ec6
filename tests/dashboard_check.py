#!/usr/bin/env python3
"""tests/dashboard_check.py DOM.html [N_POINTS] — assertions on report.html as Chromium
parsed it (--dump-dom), used by tests/test_dashboard.sh: y tick labels fit inside their
chart (x minus the estimated width at 5.5 px per char >= 0) and keep their sign, ticks are
round (1-2-5 x 10^k steps, or decades on a log axis), the perplexity chart is on a log
scale with no band coordinate below the plot, the ranking table and one per-item section
per evaluated point exist. Prints one line per failure; exit status 1 if any."""
import math, re, sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts, self.cur, self.text_of = [], None, None
        self.ranking_rows, self.in_ranking, self.sections = 0, False, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.cur = {"attrs": a, "title": "", "ticks": [], "band": [], "scale_label": False}
            self.charts.append(self.cur)
        elif tag == "table" and "ranking" in a.get("class", ""):
            self.in_ranking = True
        elif tag == "tr" and self.in_ranking:
            self.ranking_rows += 1
        elif tag == "section" and "point-items" in a.get("class", ""):
            self.sections.append(a.get("data-point"))
        if self.cur is None:
            return
        cls = a.get("class", "")
        if tag == "text":
            self.text_of = (cls, a)
            self.buf = ""
        elif tag == "polygon" and cls == "band":
            for pt in a["points"].split():
                self.cur["band"].append(float(pt.split(",")[1]))
        elif tag == "line" and cls == "band":
            self.cur["band"] += [float(a["y1"]), float(a["y2"])]
    def handle_data(self, data):
        if self.text_of is not None:
            self.buf += data
    def handle_endtag(self, tag):
        if tag == "table":
            self.in_ranking = False
        if tag == "text" and self.text_of is not None and self.cur is not None:
            cls, a = self.text_of
            if cls == "ytick":
                self.cur["ticks"].append((float(a["x"]), self.buf.strip(), float(a["y"])))
            elif cls == "scale":
                self.cur["scale_label"] = self.buf.strip() == "log scale"
            elif a.get("font-weight") == "bold":
                self.cur["title"] = self.buf.strip()
            self.text_of = None
        if tag == "svg":
            self.cur = None

def round_step(d):
    m = d / 10 ** math.floor(math.log10(d))
    return any(abs(m - k) < 1e-6 for k in (1, 2, 5, 10))

def main():
    dom = Dom()
    dom.feed(open(sys.argv[1], encoding="utf-8").read())
    npoints = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    bad = []
    if not dom.charts:
        bad.append("no charts")
    for c in dom.charts:
        t = c["title"]
        if len(c["ticks"]) < 2:
            bad.append(f"{t}: fewer than 2 y ticks")
            continue
        for x, label, _ in c["ticks"]:
            if x - 5.5 * len(label) < 0:
                bad.append(f"{t}: tick label {label!r} at x={x} runs off the left edge")
            if not re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", label):
                bad.append(f"{t}: tick label {label!r} is not a compact number")
        vals = [float(l) for _, l, _ in c["ticks"]]
        # Higher on the chart is a larger value: a label that lost its '-' breaks the order.
        order = [v for v, _ in sorted(zip(vals, [-y for _, _, y in c["ticks"]]), key=lambda p: p[1])]
        if order != sorted(order) or len(set(order)) != len(order):
            bad.append(f"{t}: tick labels {[l for _, l, _ in c['ticks']]} do not increase upwards (a label lost its sign?)")
        log = c["attrs"].get("data-scale") == "log"
        decades = log and all(v > 0 and abs(math.log10(v) - round(math.log10(v))) < 1e-9 for v in vals)
        if not decades:
            steps = [b - a for a, b in zip(vals, vals[1:])]
            s = steps[0]
            if not (s > 0 and round_step(s) and all(abs(d - s) <= 1e-6 * s for d in steps)):
                bad.append(f"{t}: ticks {vals} are not evenly spaced 1-2-5 x 10^k steps")
            elif any(abs(v / s - round(v / s)) > 1e-6 for v in vals):
                bad.append(f"{t}: ticks {vals} are not multiples of their step")
        bottom, top = float(c["attrs"]["data-plot-bottom"]), float(c["attrs"]["data-plot-top"])
        if any(y > bottom + 0.05 or y < top - 0.05 for y in c["band"]):
            bad.append(f"{t}: band outside the plot ({min(c['band'])}..{max(c['band'])} vs {top}..{bottom})")
        if "perplexity" in t and not (log and c["scale_label"]):
            bad.append(f"{t}: perplexity chart is not marked log scale")
    if not any("perplexity" in c["title"] for c in dom.charts):
        bad.append("no perplexity chart")
    if dom.ranking_rows < 2:
        bad.append("no ranking table")
    if npoints and len(dom.sections) != npoints - 1:
        bad.append(f"{len(dom.sections)} per-item sections for {npoints - 1} non-baseline points")
    for b in bad:
        print("dashboard_check:", b)
    return 1 if bad else 0

sys.exit(main())
