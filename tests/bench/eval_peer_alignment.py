"""tests/bench/eval_peer_alignment.py — the PyTorch peer of `mergeval eval --evaluator alignment`:
the same tinyvlm weights (tests/golden/torch_models.py loads mergeval's model.safetensors), the
same dataset files, the same retrieval protocol (each image vs its caption + K distractor
captions, each caption vs its image + K distractor images, every unique (image, caption) pair
scored once with the mean token log-probability incl. EOS), done the way one would in PyTorch:
PIL decoding, batched padded forward under inference_mode. Prints one JSON line with the
number of unique scored pairs and the wall time from reading files to the final metrics.

Also `--decode-only`: PIL decode + resize of every image (the decode-rate peer).
Usage: eval_peer_alignment.py MODEL_DIR DATASET.jsonl --distractors K [--batch B] [--threads N]"""
import argparse
import json
import os
import random
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from torch_models import Cfg, TinyVLM  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        assert h["dtype"] == "F32", h["dtype"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy()).view(h["shape"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("dataset")
    ap.add_argument("--distractors", type=int, default=15)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--decode-only", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    root = os.path.dirname(os.path.abspath(a.dataset))
    recs = [json.loads(l) for l in open(a.dataset) if l.strip()]
    recs = [r for r in recs if r.get("image") and r.get("text")]
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    c = Cfg(cfg)
    S = c.S
    imgs = []
    for r in recs:
        im = Image.open(os.path.join(root, r["image"])).convert("RGB")
        if im.size != (S, S):
            im = im.resize((S, S), Image.BOX if im.size[0] > S else Image.BILINEAR)
        imgs.append(np.asarray(im))
    if a.decode_only:
        dt = time.perf_counter() - t0
        print(json.dumps({"images": len(imgs), "seconds": dt}))
        return
    model = TinyVLM(c)
    model.load_state_dict(load_safetensors(os.path.join(a.model, "model.safetensors")), strict=True)
    model.eval()
    N = len(recs)
    caps = [list(r["text"].encode()) + [257] for r in recs]
    rng = random.Random(1)
    pairs = set()
    for i in range(N):
        others = [j for j in range(N) if recs[j]["text"] != recs[i]["text"]]
        k = min(a.distractors, len(others))
        pairs.add((i, i))
        for j in rng.sample(others, k):
            pairs.add((i, j))      # image i, distractor caption j
        for j in rng.sample(others, k):
            pairs.add((j, i))      # distractor image j, caption i
    pairs = sorted(pairs)
    scores, sums = {}, {}
    with torch.inference_mode():
        pix = model.preprocess(torch.from_numpy(np.stack(imgs)))
        vis = torch.cat([model.encode_images(pix[s:s + 256]) for s in range(0, N, 256)])
        Q = vis.shape[1]
        emb = model.llm.model.embed_tokens
        bos = emb(torch.tensor([256]))
        # sort by caption length so padding is small (what a careful PyTorch user does)
        order = sorted(pairs, key=lambda p: len(caps[p[1]]))
        for s in range(0, len(order), a.batch):
            chunk = order[s:s + a.batch]
            T = max(len(caps[j]) for _, j in chunk)
            ids = torch.zeros((len(chunk), T), dtype=torch.long)
            mask = torch.zeros((len(chunk), T))
            for b, (_, j) in enumerate(chunk):
                ids[b, :len(caps[j])] = torch.tensor(caps[j])
                mask[b, :len(caps[j])] = 1
            h = torch.cat([bos.expand(len(chunk), 1, -1), vis[[i for i, _ in chunk]], emb(ids)], 1)
            logits = model.llm.forward_embeds(h)[:, Q:Q + T]  # predicts text tokens
            lp = F.log_softmax(logits, -1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)
            tot = (lp * mask).sum(1)
            mean = tot / mask.sum(1)
            for b, p in enumerate(chunk):
                scores[p] = mean[b].item()
                if p[0] == p[1]:
                    sums[p[0]] = tot[b].item()
    # ranks (pessimistic ties), as the mergeval evaluator
    r1 = 0
    for i in range(N):
        t = scores[(i, i)]
        r1 += all(v < t for (x, y), v in ((p, scores[p]) for p in ((i, j) for j in range(N) if (i, j) in scores and j != i)))
    dt = time.perf_counter() - t0
    nll_tok = -sum(sums.values()) / sum(len(caps[i]) for i in range(N))
    print(json.dumps({"pairs": len(pairs), "seconds": dt, "items": N, "i2t_r1": r1 / N,
                      "caption_nll_per_token": nll_tok}))


if __name__ == "__main__":
    main()
