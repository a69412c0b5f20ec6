#!/usr/bin/python3
"""tests/bench/merge_peer_ties.py BASE_DIR OUT_FILE FT1 FT2 FT3 — the PyTorch peer of the
3-model TIES merge with mergekit's math (generalized_task_arithmetic + sparsify.magnitude):
per tensor, fp32 task vectors, top-k by argsort of |delta|, weighted deltas, sum sign
election, disjoint mean (normalize), base + mix rounded to bf16; tensors streamed one at a
time like mergekit's lazy loader, written to safetensors."""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import merge_st  # noqa: E402

WEIGHTS, DENSITY = [0.5, 0.3, 0.8], 0.5


def magnitude(t, density):
    k = int(density * t.numel())
    mask = torch.zeros_like(t)
    w = t.abs().view(-1)
    topk = torch.argsort(w, descending=True)[:k]
    mask.view(-1)[topk] = 1
    return t * mask


def main(base_dir, out, *fts):
    t0 = time.time()
    h, off, mm, _ = merge_st.open_lazy(os.path.join(base_dir, "model.safetensors"))
    models = [merge_st.open_lazy(os.path.join(d, "model.safetensors")) for d in fts]
    result = []
    with torch.no_grad():
        for n in h:
            base = merge_st.tensor(h, off, mm, n)
            bf = base.float()
            deltas = [magnitude(merge_st.tensor(mh, mo, mmm, n).float() - bf, DENSITY) for mh, mo, mmm, _ in models]
            deltas = torch.stack(deltas, dim=0)
            weights = torch.tensor(WEIGHTS, dtype=deltas.dtype)
            while len(deltas.shape) > len(weights.shape):
                weights.unsqueeze_(-1)
            wd = deltas * weights
            sign = wd.sign()
            majority = (wd.sum(dim=0) >= 0).to(wd.dtype) * 2 - 1
            mask = sign == majority
            mixed = (wd * mask).sum(dim=0)
            div = (weights * mask).sum(dim=0)
            div[div == 0] = 1
            mixed /= div
            result.append((n, (bf + mixed).to(base.dtype)))
    merge_st.write(out, result, {"format": "pt"})
    print(f"torch ties merge: {time.time() - t0:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
