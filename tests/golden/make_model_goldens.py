"""tests/golden/make_model_goldens.py — writes tests/data/models/{llama,tinyvlm}/: a tiny
random checkpoint (model.safetensors + config.json), test inputs and the logits PyTorch
(tests/golden/torch_models.py) computes for them. tests/test_model_golden.c loads the same
checkpoint through mergeval and must reproduce the logits.

Files per model: model.safetensors, config.json, cases.json (token lists, image index,
offset into expected.bin; "grads": name, offset into grads.bin, numel), images.bin (uint8 RGB
32×32 images), expected.bin (little-endian f32: for each case, the next-token logits after
each prefix of its text, (n + 1) × V), grads.bin (f32: PyTorch autograd gradients of the
summed NLL of every text token of every case, for a few parameters of each kind).
Run: /usr/bin/python3 tests/golden/make_model_goldens.py (deterministic, seed 1234).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import Cfg, LlamaForCausalLM, TinyVLM, save_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "models")

LLAMA = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
         "intermediate_size": 48, "vocab_size": 258, "max_position_embeddings": 64,
         "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
         "bos_token_id": 256, "eos_token_id": 257}
VLM = dict(LLAMA, architectures=["TinyVLM"], model_type="minicpmv", tie_word_embeddings=True,
           rope_theta=500000.0, query_num=4, resampler_num_heads=2, image_size=32, patch_size=8,
           image_mean=[0.5, 0.4, 0.3], image_std=[0.25, 0.5, 0.2],
           vision_config={"hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 2,
                          "num_attention_heads": 2, "image_size": 32, "patch_size": 8,
                          "layer_norm_eps": 1e-6})

TEXTS = ["a red circle", "Hello, world! ", "x", "the blue square at the top left"]


def randomise(model, g):
    """Weights well away from the usual init so every part matters to the logits."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or ".ln_" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g) if name.endswith("weight")
                        else 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=g))


GRAD_NAMES = {
    "llama": ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
              "model.layers.0.self_attn.k_proj.weight", "model.layers.1.mlp.down_proj.weight",
              "model.layers.1.input_layernorm.weight", "model.norm.weight", "lm_head.weight"],
    "tinyvlm": ["llm.model.layers.0.self_attn.v_proj.weight", "llm.model.layers.1.mlp.gate_proj.weight",
                "resampler.query", "resampler.attn.in_proj_weight", "resampler.proj",
                "resampler.ln_kv.bias", "vpm.embeddings.patch_embedding.weight",
                "vpm.encoder.layers.0.self_attn.q_proj.bias", "vpm.encoder.layers.1.mlp.fc1.weight",
                "vpm.post_layernorm.weight"],
}


def grads_of(model, dirname, loss):
    """Backprop loss; return (list of {name, offset, numel}, flat f32 array)."""
    model.zero_grad()
    loss.backward()
    params = dict(model.named_parameters())
    meta, flat, off = [], [], 0
    for n in GRAD_NAMES[dirname]:
        g = params[n].grad.detach().reshape(-1).numpy()
        meta.append({"name": n, "offset": off, "numel": int(g.size)})
        flat.append(g)
        off += g.size
    return meta, np.concatenate(flat)


def write(dirname, model, cfg_dict, cases, images, expected, grads=None):
    d = os.path.join(OUT, dirname)
    os.makedirs(d, exist_ok=True)
    sd = {k: v for k, v in model.state_dict().items()}
    save_safetensors(os.path.join(d, "model.safetensors"), sd)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg_dict, f, indent=2)
    doc = {"vocab_size": cfg_dict["vocab_size"], "cases": cases}
    if grads is not None:
        doc["grads"] = grads[0]
        grads[1].astype("<f4").tofile(os.path.join(d, "grads.bin"))
    with open(os.path.join(d, "cases.json"), "w") as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(d, "images.bin"), "wb") as f:
        f.write(images.tobytes())
    np.concatenate(expected).astype("<f4").tofile(os.path.join(d, "expected.bin"))


def main():
    torch.manual_seed(1234)
    g = torch.Generator().manual_seed(1234)
    torch.set_num_threads(1)

    # ---------------- llama (untied head)
    c = Cfg(LLAMA)
    m = LlamaForCausalLM(c).eval()
    randomise(m, g)
    cases, expected, off = [], [], 0
    with torch.no_grad():
        for t in TEXTS:
            ids = torch.tensor([list(t.encode())], dtype=torch.int64)
            logits = m(ids)[0]  # (n + 1, V): row k predicts token k
            cases.append({"tokens": ids[0].tolist(), "image": -1, "offset": off})
            expected.append(logits.numpy().reshape(-1))
            off += logits.numel()
    loss = 0
    for t in TEXTS:  # summed NLL of every text token (BOS predicts the first)
        ids = torch.tensor([list(t.encode())], dtype=torch.int64)
        lg = m(ids)[0][:-1]
        loss = loss + F.cross_entropy(lg, ids[0], reduction="sum")
    write("llama", m, LLAMA, cases, np.zeros(0, np.uint8), expected, grads_of(m, "llama", loss))

    # ---------------- tinyvlm (tied head inside llm.*)
    c = Cfg(VLM)
    m = TinyVLM(c).eval()
    randomise(m, g)
    rng = np.random.default_rng(1234)
    images = rng.integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    images[1, :16] = 200  # some structure
    cases, expected, off = [], [], 0
    with torch.no_grad():
        pix = m.preprocess(torch.from_numpy(images))
        vis = m.encode_images(pix)
        for i, t in enumerate(TEXTS):
            img = [0, 1, -1, 1][i]
            ids = torch.tensor([list(t.encode())], dtype=torch.int64)
            if img >= 0:
                logits = m(None, ids, vis=vis[img:img + 1])[0][c.Q:]
            else:
                logits = m.llm(ids)[0]
            cases.append({"tokens": ids[0].tolist(), "image": img, "offset": off})
            expected.append(logits.numpy().reshape(-1))
            off += logits.numel()
    loss = 0
    pix = m.preprocess(torch.from_numpy(images))
    for i, t in enumerate(TEXTS):
        img = [0, 1, -1, 1][i]
        ids = torch.tensor([list(t.encode())], dtype=torch.int64)
        if img >= 0:
            lg = m(pix[img:img + 1], ids)[0][c.Q:-1]
        else:
            lg = m.llm(ids)[0][:-1]
        loss = loss + F.cross_entropy(lg, ids[0], reduction="sum")
    write("tinyvlm", m, VLM, cases, images, expected, grads_of(m, "tinyvlm", loss))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
