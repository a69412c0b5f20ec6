#!/usr/bin/python3
"""evals/power_sim.py — is the seed scenario's test set large enough? Simulates, from the
demo's own discordance, how often a true 3-point drop of R@1 would be detected.

For each 0/1 alignment metric it reads, from RUN/summary.json (default build/demo/run), the
final-vs-baseline comparison: n paired items and the discordant share r = (b + c) / n (items
whose hit changed between the two evaluations). It then draws 20000 synthetic comparisons of
n paired items with the same discordance and a true drop d (default 0.03): each item is
"lost" with probability (r + d) / 2, "gained" with (r - d) / 2, else unchanged; the exact
McNemar test (as mergeval computes it) flags the drop when p < alpha and b < c. Detection is
reported at alpha = 0.05 (one comparison) and at alpha / m with m the report's number of
primary comparisons (Bonferroni: the least favourable step of Holm's procedure).

--items N simulates N paired items instead of the run's own n (sizing a test set from the
discordance measured on a smaller one).

usage: evals/power_sim.py [RUN_DIR] [--drop 0.03] [--items N] [--sims 20000] [--seed 1]"""
import argparse
import json
import math
import os
import sys

import numpy as np


def mcnemar_p(b, c):
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
            for i in range(k + 1)]
    return min(1.0, 2.0 * sum(math.exp(x) for x in logs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", nargs="?", default="build/demo/run")
    ap.add_argument("--drop", type=float, default=0.03)
    ap.add_argument("--sims", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--items", type=int, default=0)
    a = ap.parse_args()
    path = os.path.join(a.run, "summary.json")
    try:
        s = json.load(open(path))
    except OSError as e:
        sys.exit(f"power_sim: {path}: {e.strerror} (run `make demo` first)")
    alpha = s["statistics"]["alpha"]
    m = max(1, int(s["statistics"].get("comparisons_primary", 1)))
    rng = np.random.default_rng(a.seed)
    cache = {}
    worst = 1.0
    for metric in s["metrics"]:
        if not metric["name"].startswith("alignment.") or not metric["binary"]:
            continue
        c = metric["vs_baseline"][-1]
        if not c or c.get("discordant_better") is None:
            continue
        n = int(c["n_paired"])
        r = (c["discordant_better"] + c["discordant_worse"]) / n
        if a.items > 0:
            n = a.items
        d = a.drop
        if r < d:
            print(f"{metric['name']}: discordance {r:.3f} < drop {d}: a drop that large needs more discordant items; skipped")
            continue
        counts = rng.multinomial(n, [(r + d) / 2, (r - d) / 2, 1 - r], size=a.sims)
        hits = {alpha: 0, alpha / m: 0}
        for worse, better, _ in counts:
            key = (int(better), int(worse))
            if key not in cache:
                cache[key] = mcnemar_p(*key)
            for lvl in hits:
                hits[lvl] += cache[key] < lvl and better < worse
        p1, pm = hits[alpha] / a.sims, hits[alpha / m] / a.sims
        worst = min(worst, p1)
        print(f"{metric['name']}: n = {n}, discordance {r:.4f} (final vs baseline): a true drop of "
              f"{d:g} is detected in {100 * p1:.1f}% of {a.sims} simulations at alpha {alpha:g}, "
              f"{100 * pm:.1f}% at alpha/{m} (Bonferroni over the {m} primary comparisons)")
    return 0 if worst < 1.0 else 1


sys.exit(main())
