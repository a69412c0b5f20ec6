#!/usr/bin/python3
"""tests/bench/merge_make_8b.py DIR — a synthetic checkpoint with the real MiniCPM-Llama3-V-2.5
shapes (Llama-3-8B LLM under llm., SigLIP-400M vision tower under vpm., the resampler;
~17 GB bf16 in 4 shards + model.safetensors.index.json) and a rank-16 LoRA on the plain
Llama-3 names (q,k,v,o,gate,up,down; the seed scenario's key_map model. -> llm.model.).
Tensor bytes are a 64 MB block of random finite bf16 repeated (streamed: the generator holds
one block, never a tensor), so 17 GB are written at disk speed. BENCH_8B_TINY=1 keeps the widths
but has 2 LLM + 2 vision layers and a 8192 vocabulary (~1.2 GB): a quick trial of the bench."""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from merge_make_inputs import llama_layer_shapes  # noqa: E402

H, I, L, V, NH, KV = 4096, 14336, 32, 128256, 32, 8
HD = H // NH
VH, VI, VL, PATCHES = 1152, 4304, 27, 4900     # SigLIP so400m/14 at 980 px (70 x 70 patches)
if os.environ.get("BENCH_8B_TINY") == "1":
    L, VL, V = 2, 2, 8192
Q = 96                                         # resampler queries


def shapes():
    yield "llm.model.embed_tokens.weight", (V, H)
    for i in range(L):
        yield from llama_layer_shapes(f"llm.model.layers.{i}.", H, I, KV * HD)
    yield "llm.model.norm.weight", (H,)
    yield "llm.lm_head.weight", (V, H)
    yield "vpm.embeddings.patch_embedding.weight", (VH, 3, 14, 14)
    yield "vpm.embeddings.patch_embedding.bias", (VH,)
    yield "vpm.embeddings.position_embedding.weight", (PATCHES, VH)
    for i in range(VL):
        p = f"vpm.encoder.layers.{i}."
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            yield p + f"self_attn.{n}.weight", (VH, VH)
            yield p + f"self_attn.{n}.bias", (VH,)
        yield p + "layer_norm1.weight", (VH,)
        yield p + "layer_norm1.bias", (VH,)
        yield p + "mlp.fc1.weight", (VI, VH)
        yield p + "mlp.fc1.bias", (VI,)
        yield p + "mlp.fc2.weight", (VH, VI)
        yield p + "mlp.fc2.bias", (VH,)
        yield p + "layer_norm2.weight", (VH,)
        yield p + "layer_norm2.bias", (VH,)
    yield "vpm.post_layernorm.weight", (VH,)
    yield "vpm.post_layernorm.bias", (VH,)
    yield "resampler.query", (Q, H)
    yield "resampler.kv_proj.weight", (H, VH)
    yield "resampler.attn.in_proj_weight", (3 * H, H)
    yield "resampler.attn.in_proj_bias", (3 * H,)
    yield "resampler.attn.out_proj.weight", (H, H)
    yield "resampler.attn.out_proj.bias", (H,)
    for n in ("ln_q", "ln_kv", "ln_post"):
        yield f"resampler.{n}.weight", (H,)
        yield f"resampler.{n}.bias", (H,)
    yield "resampler.proj", (H, H)


BLOCK = 64 << 20


def block():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 1 << 16, size=BLOCK // 2, dtype=np.uint16)
    return (((x & 0x807F) | ((118 + ((x >> 7) & 3)).astype(np.uint16) << 7))).tobytes()   # |x| in [2^-9, 2^-5)


def write_shard(path, items, blk):
    hdr, off = {}, 0
    for n, s in items:
        nb = int(np.prod(s)) * 2
        hdr[n] = {"dtype": "BF16", "shape": list(s), "data_offsets": [off, off + nb]}
        off += nb
    hdr["__metadata__"] = {"format": "pt"}
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        left = off
        while left:
            k = min(left, BLOCK)
            f.write(blk[:k])
            left -= k
    os.rename(path + ".tmp", path)
    return off


def main(root):
    base = os.path.join(root, "vlm")
    idx = os.path.join(base, "model.safetensors.index.json")
    if not os.path.exists(idx):
        os.makedirs(base, exist_ok=True)
        items = list(shapes())
        total = sum(int(np.prod(s)) * 2 for _, s in items)
        per = total / 4
        shards, cur, acc = [], [], 0
        for it in items:
            nb = int(np.prod(it[1])) * 2
            if cur and acc + nb > per * 1.02 and len(shards) < 3:
                shards.append(cur); cur, acc = [], 0
            cur.append(it); acc += nb
        shards.append(cur)
        blk = block()
        wmap = {}
        for k, sh in enumerate(shards):
            name = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
            write_shard(os.path.join(base, name), sh, blk)
            for n, _ in sh:
                wmap[n] = name
        with open(os.path.join(base, "config.json"), "w") as f:
            json.dump({"architectures": ["MiniCPMV"], "model_type": "minicpmv", "hidden_size": H,
                       "intermediate_size": I, "num_hidden_layers": L, "num_attention_heads": NH,
                       "num_key_value_heads": KV, "vocab_size": V, "torch_dtype": "bfloat16"}, f, indent=1)
        with open(idx + ".tmp", "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": wmap}, f)
        os.rename(idx + ".tmp", idx)
    lora = os.path.join(root, "lora")
    if not os.path.exists(os.path.join(lora, "adapter_model.safetensors")):
        os.makedirs(lora, exist_ok=True)
        rng = np.random.default_rng(1)
        r, hdr, blobs, off = 16, {}, [], 0
        for n, s in shapes():
            if not n.startswith("llm.model.layers.") or not n.split(".")[-2].endswith("_proj"):
                continue
            mod = n[len("llm."):-len(".weight")]
            for part, shp in (("lora_A", (r, s[1])), ("lora_B", (s[0], r))):
                a = (rng.standard_normal(shp, dtype=np.float32) * 0.01).tobytes()
                hdr[f"base_model.model.{mod}.{part}.weight"] = {"dtype": "F32", "shape": list(shp),
                                                              "data_offsets": [off, off + len(a)]}
                off += len(a)
                blobs.append(a)
        h = json.dumps(hdr).encode()
        h += b" " * (-len(h) % 8)
        with open(os.path.join(lora, "adapter_model.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", len(h))); f.write(h)
            for b in blobs:
                f.write(b)
        with open(os.path.join(lora, "adapter_config.json"), "w") as f:
            json.dump({"peft_type": "LORA", "r": r, "lora_alpha": 32, "task_type": "CAUSAL_LM",
                       "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}, f)


if __name__ == "__main__":
    main(sys.argv[1])
