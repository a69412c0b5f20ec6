#!/usr/bin/python3
"""tests/golden/stats_reference.py — an independent reimplementation of mergeval's report
statistics (numpy, exact integer arithmetic), run by tests/test_stats_sim.c over the numbers
the C code produced: exact McNemar p, Holm adjustment, the seeded paired percentile bootstrap
(xoshiro256** seeded by splitmix64, rejection sampling, numpy's linear percentile) and the
power formulas. Exits 1 on any disagreement."""
import json
import math
import sys
from fractions import Fraction
from statistics import NormalDist

import numpy as np

M64 = (1 << 64) - 1
fails = []


def check(what, got, want, tol):
    ok = abs(got - want) <= tol * max(1.0, abs(want))
    print(f"{'ok ' if ok else 'BAD'} {what}: C {got!r} reference {want!r}")
    if not ok:
        fails.append(what)


def mcnemar(b, c):
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    tail = Fraction(sum(math.comb(n, i) for i in range(k + 1)), 2 ** n)
    return float(min(Fraction(1), 2 * tail))


def holm(p):
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adj = np.maximum.accumulate(adj)
    out = np.empty(m)
    out[order] = adj
    return out


class Rng:
    def __init__(self, seed):
        x = seed
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & M64

    def next(self):
        s = self.s
        result = (self.rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
        s[2] ^= t
        s[3] = self.rotl(s[3], 45)
        return result

    def below(self, n):
        limit = M64 - (M64 % n)   # UINT64_MAX - (UINT64_MAX % n), as the C code
        while True:
            x = self.next()
            if x < limit:
                return x % n


def bootstrap(a, b, resamples, seed):
    d = np.asarray(b) - np.asarray(a)
    n = len(d)
    rng = Rng(seed)
    vals = np.empty(resamples)
    for r in range(resamples):
        counts = np.zeros(n)
        for _ in range(n):
            counts[rng.below(n)] += 1
        vals[r] = (counts * d).sum() / counts.sum()
    lo, hi = np.percentile(vals, [2.5, 97.5])   # numpy's default: linear interpolation
    return lo, hi, vals.std(ddof=1)


def main():
    data = json.load(open(sys.argv[1]))
    for b, c, p in data["mcnemar"]:
        check(f"McNemar exact b={b} c={c}", p, mcnemar(b, c), 1e-12)
    for k, h in enumerate(data["holm"]):
        ref = holm(h["p"])
        for i, (got, want) in enumerate(zip(h["adjusted"], ref)):
            check(f"Holm set {k} p[{i}]", got, want, 1e-15)
    for k, bs in enumerate(data["bootstrap"]):
        lo, hi, se = bootstrap(bs["a"], bs["b"], bs["resamples"], bs["seed"])
        check(f"bootstrap set {k} CI low", bs["lo"], lo, 1e-12)
        check(f"bootstrap set {k} CI high", bs["hi"], hi, 1e-12)
        check(f"bootstrap set {k} se", bs["se"], se, 1e-9)
    z = NormalDist().inv_cdf
    pw = data["power"]
    r, d = 0.12, 0.03
    want = math.ceil(((z(0.975) * math.sqrt(r) + z(0.9) * math.sqrt(r - d * d)) / d) ** 2)
    check("items, McNemar (Connor 1987)", pw["items_mcnemar"], want, 0)
    check("items, paired means", pw["items_paired"], math.ceil(((z(0.995) + z(0.8)) * 0.3 / 0.02) ** 2), 0)
    check("MDE at 80% power", pw["mde"], (z(0.975) + z(0.8)) * 0.013, 1e-9)
    check("normal quantile 0.995", pw["quantile"], z(0.995), 1e-12)
    if fails:
        print(f"{len(fails)} disagreement(s)")
        sys.exit(1)


if __name__ == "__main__":
    main()
