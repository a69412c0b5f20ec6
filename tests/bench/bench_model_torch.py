"""tests/bench/bench_model_torch.py — the PyTorch peer of bench_model.c: the same default
tinyvlm (tests/golden/torch_models.py), batch, text length and fp32; times training steps
(forward + backward + torch.optim.AdamW) and forward-only scoring (images encoded inside,
log-probabilities of the text tokens). Prints one JSON line.
Usage: bench_model_torch.py --threads N --steps S [--batch B] [--text T] [--llama] [--config F]"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from torch_models import Cfg, LlamaForCausalLM, TinyVLM  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--text", type=int, default=32)
    ap.add_argument("--llama", action="store_true")
    ap.add_argument("--config", help="config.json written by bench_model --config-out")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    cfg = {"architectures": ["LlamaForCausalLM"]} if a.llama else {"architectures": ["TinyVLM"]}
    if a.config:
        with open(a.config) as f:
            cfg = json.load(f)
    c = Cfg(cfg)
    model = LlamaForCausalLM(c) if a.llama else TinyVLM(c)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "norm" in n or ".ln_" in n:
                p.fill_(1.0) if n.endswith("weight") else p.zero_()
            elif n.endswith("bias"):
                p.zero_()
            else:
                p.normal_(0, 0.02)
    B, T, S = a.batch, a.text, c.S
    ids = torch.tensor([[32 + (b * 7 + t * 13) % 90 for t in range(T)] for b in range(B)])
    px = torch.arange(B * S * S * 3, dtype=torch.int64).mul(2654435761).remainder(2 ** 32)
    px = (px >> 24).to(torch.uint8).view(B, S, S, 3)
    nv = 0 if a.llama else c.Q

    def logits_of():
        if a.llama:
            return model(ids)
        return model(model.preprocess(px), ids)

    def text_logits(lg):  # rows predicting text token j: position nv + j
        return lg[:, nv:nv + T, :]

    # default implementation: foreach=True measured no faster here (74-75 vs 77-80 CPU ms/step)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    for s in range(-2, a.steps):
        if s == 0:
            t0, c0 = time.perf_counter(), time.process_time()
        lg = text_logits(logits_of())
        loss = F.cross_entropy(lg.reshape(-1, c.V), ids.reshape(-1), reduction="mean")
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    train_s = (time.perf_counter() - t0) / a.steps
    train_cpu = (time.process_time() - c0) / a.steps
    reps = a.steps * 2
    with torch.inference_mode():  # PyTorch's fastest no-autograd mode
        for s in range(-2, reps):
            if s == 0:
                t0, c0 = time.perf_counter(), time.process_time()
            lp = text_logits(logits_of()).log_softmax(-1).gather(-1, ids.unsqueeze(-1))
    score_s = (time.perf_counter() - t0) / reps
    score_cpu = (time.process_time() - c0) / reps
    # alignment-style: every image against every caption, images encoded once per round
    pairs_per_s = 0.0
    if not a.llama:
        preps = max(1, a.steps // 4)
        with torch.inference_mode():
            for s in range(-1, preps):
                if s == 0:
                    t0 = time.perf_counter()
                vis = model.encode_images(model.preprocess(px))          # (B, Q, C)
                v = vis.repeat_interleave(B, dim=0)                       # image i for B captions
                tid = ids.repeat(B, 1)                                    # every caption
                lg = model(None, tid, vis=v)[:, nv:nv + T, :]
                lp = lg.log_softmax(-1).gather(-1, tid.unsqueeze(-1))
        pairs_per_s = B * B / ((time.perf_counter() - t0) / preps)
    print(json.dumps({"impl": "torch", "torch": torch.__version__, "model": "llama" if a.llama else "tinyvlm",
                      "params": sum(p.numel() for p in model.parameters()), "batch": B, "text": T,
                      "threads": a.threads, "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
                      "train_step_s": round(train_s, 5), "train_steps_per_s": round(1 / train_s, 2),
                      "score_seqs_per_s": round(B / score_s, 1), "train_cpu_s": round(train_cpu, 5), "score_cpu_s": round(score_cpu, 5),
                      "align_pairs_per_s": round(pairs_per_s, 1),
                      "final_loss": round(float(loss), 4)}))


if __name__ == "__main__":
    main()
