"""tests/bench/bench_train_torch.py — the PyTorch peer of `mergeval train` in bench_train.sh:
the default tinyvlm (tests/golden/torch_models.py) trained on the same image-text JSONL with
the same recipe — batches of B random items, caption bytes + EOS as targets (mean token NLL),
AdamW, gradient clipping at 1.0, warmup + cosine schedule. Images are decoded once up front
(the best case for the peer). Times the optimizer steps after two warm-up steps and prints
one JSON line. Usage: bench_train_torch.py DATA.jsonl --steps S [--batch B] [--max-len T]
[--threads N] [--init DIR]  (--init: start from a mergeval checkpoint, so the loss columns
of both sides start from the same weights)"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

try:
    from PIL import Image
except ImportError:  # python3-pil is not in the bench dependencies: a minimal PNG reader
    Image = None

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from torch_models import Cfg, TinyVLM  # noqa: E402

BOS, EOS, PAD = 256, 257, -100


def read_png_rgb(path):
    """8-bit, non-interlaced grey/RGB/RGBA PNG -> (H, W, 3) uint8 (what mergeval gen writes)."""
    if Image is not None:
        return np.asarray(Image.open(path).convert("RGB"))
    import struct
    import zlib
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, w = 8, b"", 0
    while pos < len(raw):
        n, kind = struct.unpack(">I4s", raw[pos:pos + 8])
        body = raw[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and ctype in (0, 2, 6), path
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    ch = {0: 1, 2: 3, 6: 4}[ctype]
    data, stride = zlib.decompress(idat), w * ch
    out = np.zeros((h, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        ft = data[y * (stride + 1)]
        row = np.frombuffer(data, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = cur[x - ch] if x >= ch else 0
            b = prev[x]
            c = prev[x - ch] if x >= ch else 0
            if ft == 0:
                p = 0
            elif ft == 1:
                p = a
            elif ft == 2:
                p = b
            elif ft == 3:
                p = (a + b) // 2
            else:  # Paeth
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (row[x] + p) & 255
        out[y], prev = cur, cur
    img = out.reshape(h, w, ch).astype(np.uint8)
    return np.repeat(img, 3, axis=2) if ch == 1 else img[:, :, :3]


def load_safetensors(path):
    """Minimal F32 safetensors reader (no dependency on the safetensors package)."""
    import struct
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", name
        a, b = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").copy()).view(e["shape"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--init", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    random.seed(0)
    c = Cfg({"architectures": ["TinyVLM"]})
    model = TinyVLM(c)
    if a.init:
        sd = load_safetensors(os.path.join(a.init, "model.safetensors"))
        missing, unexpected = model.load_state_dict(sd, strict=True), None
    root = os.path.dirname(os.path.abspath(a.data))
    items = []
    with open(a.data) as f:
        for line in f:
            r = json.loads(line)
            img = read_png_rgb(os.path.join(root, r["image"]))
            toks = list(r["text"].encode("utf-8"))[: a.max_len]
            if len(toks) < a.max_len:
                toks.append(EOS)
            items.append((torch.from_numpy(img.copy()), toks))
    total = a.steps + 2
    warmup = max(1, total // 20)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)

    def lr_at(s):  # Hugging Face cosine-with-warmup, as the sft trainer
        if s < warmup:
            return s / warmup
        p = (s - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1 + math.cos(math.pi * p)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    nv = c.Q
    losses = []
    n_tok = 0
    for s in range(total):
        if s == 2:
            t0, c0, n_tok = time.perf_counter(), time.process_time(), 0
        batch = [items[random.randrange(len(items))] for _ in range(a.batch)]
        T = max(len(t) for _, t in batch)
        ids = torch.full((a.batch, T), EOS, dtype=torch.int64)
        tgt = torch.full((a.batch, T), PAD, dtype=torch.int64)
        for b, (_, t) in enumerate(batch):
            ids[b, : len(t)] = torch.tensor(t)
            tgt[b, : len(t)] = torch.tensor(t)
        px = torch.stack([im for im, _ in batch])
        # position nv + j (BOS + visual tokens + text[:j]) predicts text token j
        lg = model(model.preprocess(px), ids)[:, nv:nv + T, :]
        loss = F.cross_entropy(lg.reshape(-1, c.V), tgt.reshape(-1), ignore_index=PAD)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss))
        n_tok += int((tgt != PAD).sum())
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(json.dumps({"impl": "torch", "torch": torch.__version__, "threads": a.threads,
                      "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
                      "steps": a.steps, "batch": a.batch, "steps_per_s": round(a.steps / wall, 3),
                      "tokens_per_s": round(n_tok / wall, 1), "cpu_s_per_step": round(cpu / a.steps, 4),
                      "first_loss": round(losses[0], 4), "final_loss": round(losses[-1], 4)}))


if __name__ == "__main__":
    main()
