#!/usr/bin/python3
"""tests/bench/merge_make_inputs.py DIR — synthetic Llama-3.2-1B-shaped inputs for the merge
benchmark, cached in DIR: base/ (bf16, 16 layers, hidden 2048, intermediate 8192, 32 heads /
8 kv heads, vocab 128256, tied embeddings: ~2.47 GB), lora/ (rank 16 on q,k,v,o,gate,up,down,
fp32 as PEFT keeps it), ft1..ft3/ (base with small random bf16 perturbations, for TIES).
Values are random but finite bf16 built from bits (fast; no float RNG over 1.2 B values).
BENCH_MERGE_LAYERS / BENCH_MERGE_VOCAB shrink the model for a quick trial of the bench."""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import merge_st  # noqa: E402

H, I, L, V, NH, KV = 2048, 8192, 16, 128256, 32, 8
L = int(os.environ.get("BENCH_MERGE_LAYERS", L))
V = int(os.environ.get("BENCH_MERGE_VOCAB", V))
HD = H // NH


def llama_layer_shapes(p, h, inter, kv_dim):
    """the tensors of one Llama decoder layer under prefix p (shared with merge_make_8b.py)"""
    yield p + "input_layernorm.weight", (h,)
    yield p + "self_attn.q_proj.weight", (h, h)
    yield p + "self_attn.k_proj.weight", (kv_dim, h)
    yield p + "self_attn.v_proj.weight", (kv_dim, h)
    yield p + "self_attn.o_proj.weight", (h, h)
    yield p + "post_attention_layernorm.weight", (h,)
    yield p + "mlp.gate_proj.weight", (inter, h)
    yield p + "mlp.up_proj.weight", (inter, h)
    yield p + "mlp.down_proj.weight", (h, inter)


def shapes():
    yield "model.embed_tokens.weight", (V, H)
    for i in range(L):
        yield from llama_layer_shapes(f"model.layers.{i}.", H, I, KV * HD)
    yield "model.norm.weight", (H,)


def rand_bf16(rng, shape):
    """random finite bf16: random sign/mantissa, exponent in [2^-9, 2^-5]"""
    x = rng.integers(0, 1 << 16, size=shape, dtype=np.uint16)
    e = (118 + ((x >> 7) & 3)).astype(np.uint16) << 7
    return torch.from_numpy(((x & 0x807F) | e).view(np.int16)).view(torch.bfloat16)


CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H,
          "intermediate_size": I, "num_hidden_layers": L, "num_attention_heads": NH,
          "num_key_value_heads": KV, "vocab_size": V, "tie_word_embeddings": True,
          "torch_dtype": "bfloat16"}


def write_model(d, tensors):
    os.makedirs(d, exist_ok=True)
    merge_st.write(os.path.join(d, "model.safetensors.tmp"), tensors, {"format": "pt"})
    os.rename(os.path.join(d, "model.safetensors.tmp"), os.path.join(d, "model.safetensors"))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=1)


def main(root):
    rng = np.random.default_rng(0)
    base_dir = os.path.join(root, "base")
    if not os.path.exists(os.path.join(base_dir, "model.safetensors")):
        tensors = [(n, torch.ones(s, dtype=torch.bfloat16) if len(s) == 1 else rand_bf16(rng, s)) for n, s in shapes()]
        write_model(base_dir, tensors)
        del tensors
    lora_dir = os.path.join(root, "lora")
    if not os.path.exists(os.path.join(lora_dir, "adapter_model.safetensors")):
        os.makedirs(lora_dir, exist_ok=True)
        r = 16
        items = []
        for n, s in shapes():
            if len(s) == 2 and n.split(".")[-2].endswith("_proj"):
                mod = n[:-len(".weight")]
                items.append((f"base_model.model.{mod}.lora_A.weight",
                              torch.from_numpy(rng.standard_normal((r, s[1]), dtype=np.float32) * 0.01)))
                items.append((f"base_model.model.{mod}.lora_B.weight",
                              torch.from_numpy(rng.standard_normal((s[0], r), dtype=np.float32) * 0.01)))
        merge_st.write(os.path.join(lora_dir, "adapter_model.safetensors"), items, {"format": "pt"})
        with open(os.path.join(lora_dir, "adapter_config.json"), "w") as f:
            json.dump({"peft_type": "LORA", "r": r, "lora_alpha": 32, "task_type": "CAUSAL_LM",
                       "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]},
                      f, indent=1)
    h, off, mm, _ = merge_st.open_lazy(os.path.join(base_dir, "model.safetensors"))
    for k in (1, 2, 3):
        d = os.path.join(root, f"ft{k}")
        if os.path.exists(os.path.join(d, "model.safetensors")):
            continue
        items = []
        for n, s in shapes():
            b = merge_st.tensor(h, off, mm, n).view(torch.int16).numpy()
            noise = rng.integers(-8, 9, size=b.shape, dtype=np.int16)   # a few bf16 ulps
            items.append((n, torch.from_numpy(b + noise).view(torch.bfloat16)))
        write_model(d, items)
        del items


if __name__ == "__main__":
    main(sys.argv[1])
