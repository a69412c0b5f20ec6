#!/usr/bin/python3
"""tests/golden/select_reference.py IN OUT — numpy reference for the merge kernels' streaming
rank selection (tests/test_merge_kernels.c): IN holds uint64 n, uint64 m, m (from, to) uint64
pairs, then n float32; OUT gets, per window, the n float32 with only the elements whose rank
by descending |x| (ties: lower position first, numpy's stable sort) lies in [from, to) kept."""
import sys

import numpy as np


def main(src, dst):
    raw = open(src, "rb").read()
    n, m = np.frombuffer(raw, dtype=np.uint64, count=2)
    win = np.frombuffer(raw, dtype=np.uint64, count=2 * int(m), offset=16).reshape(-1, 2)
    x = np.frombuffer(raw, dtype=np.float32, count=int(n), offset=16 + 16 * int(m))
    order = np.argsort(-np.abs(x.astype(np.float64)), kind="stable")
    with open(dst, "wb") as f:
        for lo, hi in win:
            out = np.zeros_like(x)
            keep = order[int(lo):int(hi)]
            out[keep] = x[keep]
            f.write(out.tobytes())


if __name__ == "__main__":
    main(*sys.argv[1:])
