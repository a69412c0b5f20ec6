#!/usr/bin/python3
"""Golden fixtures for the merge tests, written ONCE and committed (tests/data/merge/).

An independent implementation of every method, written from the formulas (PEFT's LoRA
merge, mergekit's task-vector family, slerp) with numpy/torch — not a port of the C code.
Run: /usr/bin/python3 tests/golden/make_merge_goldens.py  (deterministic: fixed seeds)
"""
import json
import math
import os
import re
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "merge")
DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def st_write(path, tensors, metadata=None):
    """Minimal safetensors writer: {name: torch tensor} in insertion order."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
    for name, t in tensors.items():
        t = t.contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype in (torch.float16, torch.bfloat16) \
            else t.numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def rnd(g, *shape, scale=1.0):
    return torch.from_numpy(g.standard_normal(shape).astype(np.float32) * scale)


# ---------------------------------------------------------------- kernel-level goldens
def ties_like(base, models, weights, densities, sparsify, consensus, normalize, lam=1.0):
    """mergekit's generalized task arithmetic, from the formulas."""
    deltas = []
    for m, d in zip(models, densities):
        delta = (m - base).numpy().astype(np.float32).ravel().copy()
        if sparsify is not None:
            delta = sparsify(delta, d)
        deltas.append(delta)
    D = np.stack(deltas)
    W = np.array(weights, dtype=np.float32)[:, None]
    WD = D * W
    if consensus:
        sg = np.sign(WD)
        sw = WD.sum(0) if consensus == "sum" else sg.sum(0)
        maj = np.where(sw >= 0, 1.0, -1.0).astype(np.float32)
        mask = (sg == maj).astype(np.float32)
        mix = (WD * mask).sum(0)
        div = (W * mask).sum(0)
        div[div == 0] = 1
    else:
        mix = WD.sum(0)
        div = np.full_like(mix, W.sum())
        div[np.abs(div) < 1e-8] = 1
    if normalize:
        mix = mix / div
    return base + torch.from_numpy((lam * mix).astype(np.float32).reshape(base.shape))


def topk_mag(x, density):
    k = int(density * x.size)
    keep = np.argsort(-np.abs(x), kind="stable")[:k]
    out = np.zeros_like(x)
    out[keep] = x[keep]
    return out


def outliers(gamma):
    def f(x, density):
        n = x.size
        target, n_top = int(density * n), int(gamma * n)
        n_bot = n - target - n_top
        if n_bot < 0:
            n_top += n_bot
            n_bot = 0
        # ranks by descending |x|, ties by position (mergekit's torch.sort leaves ties unordered)
        order = np.argsort(-np.abs(x), kind="stable")
        keep = order[n_top:n - n_bot]
        out = np.zeros_like(x)
        out[keep] = x[keep]
        return out
    return f


def slerp(t, v0, v1, thr=0.9995):
    a, b = v0.double().ravel(), v1.double().ravel()
    na, nb = a.norm(), b.norm()
    dot = float((a / na) @ (b / nb))
    if abs(dot) > thr:
        return (1 - t) * v0 + t * v1, True
    th0 = math.acos(dot)
    th = th0 * t
    s0 = math.sin(th0 - th) / math.sin(th0)
    s1 = math.sin(th) / math.sin(th0)
    return (s0 * v0.double() + s1 * v1.double()).float(), False


def kernel_goldens():
    g = np.random.default_rng(1234)
    tensors, params = {}, {}
    weights, dens = [0.5, 0.3, 0.8], [0.5, 0.7, 0.3]
    params["models"] = {"weights": weights, "densities": dens, "lambda": 0.9, "gamma": 0.1, "t": 0.3,
                        "breadcrumbs_density": 0.6}
    base32 = rnd(g, 12, 10)
    m32 = [base32 + rnd(g, 12, 10, scale=0.1) for _ in range(3)]
    lw = rnd(g, 24, 16)
    la, lb = rnd(g, 4, 16, scale=0.3), rnd(g, 24, 4, scale=0.3)
    fw = rnd(g, 16, 24)
    mag = torch.from_numpy(np.abs(g.standard_normal(24)).astype(np.float32) + 0.5)
    scale = 2.0
    params["lora"] = {"scale": scale}
    for dn, dt in DT.items():
        base = base32.to(dt)
        ms = [m.to(dt) for m in m32]
        bf, mf = base.float(), [m.float() for m in ms]
        tensors[f"{dn}.base"] = base
        for i, m in enumerate(ms):
            tensors[f"{dn}.m{i}"] = m
        tensors[f"{dn}.task_arithmetic"] = ties_like(bf, mf, weights, dens, None, None, False, 0.9).to(dt)
        tensors[f"{dn}.ties_sum"] = ties_like(bf, mf, weights, dens, topk_mag, "sum", True).to(dt)
        tensors[f"{dn}.ties_count"] = ties_like(bf, mf, weights, dens, topk_mag, "count", True).to(dt)
        tensors[f"{dn}.breadcrumbs"] = ties_like(bf, mf, weights, [0.6] * 3, outliers(0.1), None, False).to(dt)
        lin = sum(w * m for w, m in zip(weights, mf)) / sum(weights)
        tensors[f"{dn}.linear"] = lin.to(dt)
        s, fell = slerp(0.3, bf, mf[0])
        assert not fell
        tensors[f"{dn}.slerp"] = s.to(dt)
        col = (bf * 2.0).to(dt)                      # colinear with base: lerp fallback
        tensors[f"{dn}.colinear"] = col
        s, fell = slerp(0.3, bf, col.float())
        assert fell
        tensors[f"{dn}.slerp_colinear"] = s.to(dt)
        # LoRA: fp32 delta, one rounding to the stored dtype
        w = lw.to(dt)
        tensors[f"{dn}.lora.w"] = w
        tensors[f"{dn}.lora.a"] = la
        tensors[f"{dn}.lora.b"] = lb
        tensors[f"{dn}.lora.out"] = (w.float() + scale * (lb @ la)).to(dt)
        f = fw.to(dt)                                # fan_in_fan_out: W stored (in, out)
        tensors[f"{dn}.fifo.w"] = f
        tensors[f"{dn}.fifo.out"] = (f.float() + scale * (lb @ la).T).to(dt)
        merged = w.float() + scale * (lb @ la)       # DoRA: rescale rows to the magnitude
        norm = merged.double().norm(dim=1)
        tensors[f"{dn}.dora.out"] = ((mag.double() / norm)[:, None] * merged.double()).float().to(dt)
    tensors["dora.mag"] = mag
    st_write(os.path.join(OUT, "kernels.safetensors"), tensors)
    with open(os.path.join(OUT, "kernels.json"), "w") as fh:
        json.dump(params, fh, indent=1)


# ---------------------------------------------------------------- PEFT end-to-end goldens
H, KV, FF, V, L = 16, 8, 24, 40, 2


def llama_base(g, dt, prefix="", lm_head="lm_head", extra=None):
    t = {f"{prefix}model.embed_tokens.weight": rnd(g, V, H)}
    for i in range(L):
        p = f"{prefix}model.layers.{i}."
        t[p + "input_layernorm.weight"] = torch.ones(H)
        t[p + "self_attn.q_proj.weight"] = rnd(g, H, H)
        t[p + "self_attn.k_proj.weight"] = rnd(g, KV, H)
        t[p + "self_attn.v_proj.weight"] = rnd(g, KV, H)
        t[p + "self_attn.o_proj.weight"] = rnd(g, H, H)
        t[p + "mlp.gate_proj.weight"] = rnd(g, FF, H)
        t[p + "mlp.up_proj.weight"] = rnd(g, FF, H)
        t[p + "mlp.down_proj.weight"] = rnd(g, H, FF)
    t[f"{prefix}model.norm.weight"] = torch.ones(H)
    t[f"{prefix}{lm_head}.weight"] = rnd(g, V, H)
    if extra:
        t.update(extra)
    return {k: v.to(dt) for k, v in t.items()}


def pattern_lookup(patterns, name):
    for k, v in patterns.items():       # PEFT: key equal, or (.*\.)?(key)$ from the start
        if k == name or re.fullmatch(r"(.*\.)?(%s)" % k, name):
            return v
    return None


def lora_weights(g, base, cfg, prefix_in_base="", fifo=False, dora=False, embed=False):
    """Adapter tensors (PEFT key layout) for every module the config targets in base."""
    ad, mods = {}, {}
    for name, w in base.items():
        if not name.endswith(".weight") or w.dim() != 2:
            continue
        mod = name[:-len(".weight")][len(prefix_in_base):] if name.startswith(prefix_in_base) else None
        if mod is None:
            continue
        leaf = mod.split(".")[-1]
        if embed and leaf == "embed_tokens":
            r = cfg["r"]
            ad[f"base_model.model.{mod}.lora_embedding_A"] = rnd(g, r, w.shape[0], scale=0.3)
            ad[f"base_model.model.{mod}.lora_embedding_B"] = rnd(g, w.shape[1], r, scale=0.3)
            mods[mod] = "embedding"
            continue
        if leaf not in cfg["target_modules"]:
            continue
        r = pattern_lookup(cfg.get("rank_pattern", {}), mod) or cfg["r"]
        out_f, in_f = (w.shape[1], w.shape[0]) if fifo else (w.shape[0], w.shape[1])
        ad[f"base_model.model.{mod}.lora_A.weight"] = rnd(g, r, in_f, scale=0.3)
        ad[f"base_model.model.{mod}.lora_B.weight"] = rnd(g, out_f, r, scale=0.3)
        if dora:
            ad[f"base_model.model.{mod}.lora_magnitude_vector"] = \
                torch.from_numpy(np.abs(g.standard_normal(out_f)).astype(np.float32) + 0.5)
        mods[mod] = "linear"
    return ad, mods


def peft_merge(base, adapters, key_prefix=""):
    """PEFT's merge_and_unload, from the formulas: per adapter in order, fp32
    W += w * s * B@A (transposed for fan_in_fan_out / embeddings), DoRA rescales rows
    of W+delta to the magnitude; one rounding to the stored dtype at the end."""
    out = {k: v.float().clone() for k, v in base.items()}
    for cfg, ad, weight in adapters:
        mods = sorted({k[len("base_model.model."):].rsplit(".lora_", 1)[0] for k in ad if ".lora_" in k})
        for mod in mods:
            tname = key_prefix + mod + ".weight"
            r_eff = pattern_lookup(cfg.get("rank_pattern", {}), mod) or cfg["r"]
            alpha = pattern_lookup(cfg.get("alpha_pattern", {}), mod) or cfg["lora_alpha"]
            s = alpha / math.sqrt(r_eff) if cfg.get("use_rslora") else alpha / r_eff
            kA = f"base_model.model.{mod}.lora_A.weight"
            if kA in ad:
                A, B = ad[kA].double(), ad[f"base_model.model.{mod}.lora_B.weight"].double()
                delta = weight * s * (B @ A)
                if cfg.get("fan_in_fan_out"):
                    delta = delta.T
            else:
                A = ad[f"base_model.model.{mod}.lora_embedding_A"].double()
                B = ad[f"base_model.model.{mod}.lora_embedding_B"].double()
                delta = (weight * s * (B @ A)).T
            W = out[tname].double() + delta
            km = f"base_model.model.{mod}.lora_magnitude_vector"
            if km in ad:
                Wt = W.T if cfg.get("fan_in_fan_out") else W
                norm = Wt.norm(dim=1)
                Wt = (ad[km].double() / norm)[:, None] * Wt
                W = Wt.T if cfg.get("fan_in_fan_out") else Wt
            out[tname] = W.float()
        for k, v in ad.items():       # modules_to_save: full tensors replace the base's
            if ".lora_" not in k:
                out[key_prefix + k[len("base_model.model."):]] = v.float()
    return {k: out[k].to(base[k].dtype) for k in base}


def write_adapter(d, cfg, ad):
    os.makedirs(d, exist_ok=True)
    full = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "bias": "none", "lora_dropout": 0.0}
    full.update(cfg)
    with open(os.path.join(d, "adapter_config.json"), "w") as f:
        json.dump(full, f, indent=1)
    st_write(os.path.join(d, "adapter_model.safetensors"), ad)


def write_base(d, base, arch="LlamaForCausalLM"):
    os.makedirs(d, exist_ok=True)
    st_write(os.path.join(d, "model.safetensors"), base)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"architectures": [arch], "model_type": "llama", "hidden_size": H}, f, indent=1)


def peft_goldens():
    root = os.path.join(OUT, "peft")
    for dn, dt in DT.items():
        g = np.random.default_rng(7)
        base = llama_base(g, dt)
        cfg = {"r": 4, "lora_alpha": 8, "use_rslora": True,
               "target_modules": ["q_proj", "v_proj", "down_proj"],
               "rank_pattern": {"down_proj": 2}, "alpha_pattern": {"model.layers.1.self_attn.q_proj": 3},
               "modules_to_save": ["lm_head"]}
        ad, _ = lora_weights(g, base, cfg)
        ad["base_model.model.lm_head.weight"] = rnd(g, V, H).to(dt)
        case = os.path.join(root, f"basic_{dn.lower()}")
        write_base(os.path.join(case, "base"), base)
        write_adapter(os.path.join(case, "adapter"), cfg, ad)
        st_write(os.path.join(case, "expected.safetensors"), peft_merge(base, [(cfg, ad, 1.0)]))
        if dn == "BF16":
            # a second adapter merged with weights 0.7 / 0.3 (plain alpha/r scaling)
            cfg2 = {"r": 2, "lora_alpha": 4, "target_modules": ["k_proj", "q_proj"]}
            ad2, _ = lora_weights(g, base, cfg2)
            write_adapter(os.path.join(case, "adapter2"), cfg2, ad2)
            st_write(os.path.join(case, "expected_multi.safetensors"),
                     peft_merge(base, [(cfg, ad, 0.7), (cfg2, ad2, 0.3)]))
    # fan_in_fan_out (GPT-2 Conv1D layout: W stored (in, out))
    g = np.random.default_rng(11)
    base = {"transformer.h.0.attn.c_attn.weight": rnd(g, H, 3 * H).to(torch.bfloat16),
            "transformer.h.0.attn.c_proj.weight": rnd(g, H, H).to(torch.bfloat16),
            "transformer.ln_f.weight": torch.ones(H).to(torch.bfloat16)}
    cfg = {"r": 4, "lora_alpha": 16, "fan_in_fan_out": True, "target_modules": ["c_attn"]}
    ad, _ = lora_weights(g, base, cfg, fifo=True)
    case = os.path.join(root, "fifo")
    write_base(os.path.join(case, "base"), base, "GPT2LMHeadModel")
    write_adapter(os.path.join(case, "adapter"), cfg, ad)
    st_write(os.path.join(case, "expected.safetensors"), peft_merge(base, [(cfg, ad, 1.0)]))
    # DoRA + lora_embedding
    g = np.random.default_rng(13)
    base = llama_base(g, torch.float16)
    cfg = {"r": 4, "lora_alpha": 8, "use_dora": True, "target_modules": ["q_proj", "o_proj", "embed_tokens"]}
    ad, _ = lora_weights(g, base, cfg, dora=True, embed=True)
    case = os.path.join(root, "dora")
    write_base(os.path.join(case, "base"), base)
    write_adapter(os.path.join(case, "adapter"), cfg, ad)
    st_write(os.path.join(case, "expected.safetensors"), peft_merge(base, [(cfg, ad, 1.0)]))
    # the seed: adapter trained on a plain Llama (model.*) vs a VLM base (llm.model.*)
    g = np.random.default_rng(17)
    plain = llama_base(g, torch.bfloat16)
    vlm = {"llm." + k: v for k, v in plain.items()}
    vlm["vpm.embeddings.patch_embedding.weight"] = rnd(g, H, 3 * 64).to(torch.bfloat16)
    vlm["vpm.encoder.layers.0.self_attn.q_proj.weight"] = rnd(g, H, H).to(torch.bfloat16)
    vlm["resampler.query"] = rnd(g, 4, H).to(torch.bfloat16)
    cfg = {"r": 4, "lora_alpha": 8,
           "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
    ad, _ = lora_weights(g, plain, cfg)
    case = os.path.join(root, "seed")
    write_base(os.path.join(case, "base"), vlm, "MiniCPMV")
    write_adapter(os.path.join(case, "adapter"), cfg, ad)
    st_write(os.path.join(case, "expected.safetensors"), peft_merge(vlm, [(cfg, ad, 1.0)], key_prefix="llm."))
    # the other direction: a regex requiring llm\. against a plain Llama
    cfg = {"r": 4, "lora_alpha": 8, "target_modules": r"llm\.model\.layers\.\d+\.self_attn\.(q|v)_proj"}
    ad, _ = lora_weights(g, vlm, {"r": 4, "target_modules": ["q_proj", "v_proj"]}, prefix_in_base="")
    ad = {k: v for k, v in ad.items() if ".vpm." not in k and "base_model.model.vpm" not in k}
    write_adapter(os.path.join(root, "regex_llm", "adapter"), cfg, ad)


def peft_targets(cfg, key):
    """PEFT's check_target_module_exists (tuners_utils.py) for the list form:
    exclude_modules first, then target equal / ends with "." + entry, then the layer index
    from ".<layer-list>.<digits>." against layers_to_transform."""
    if any(key == e or key.endswith("." + e) for e in cfg.get("exclude_modules", [])):
        return False
    if not any(key == t or key.endswith("." + t) for t in cfg["target_modules"]):
        return False
    layers = cfg.get("layers_to_transform")
    if layers is None:
        return True
    m = re.match(r".*\.[^.]*\.(\d+)\.", key)
    return bool(m) and int(m.group(1)) in layers


def lora_bias_goldens():
    """PEFT >= 0.14 lora_bias: lora_B carries a bias; merge adds s * bias_B to the base
    layer's bias (LoRA Linear.merge). The file also holds LoRA pairs the config does not
    target (other layer, excluded or unlisted modules): PEFT never creates those layers,
    so they must not be merged."""
    root = os.path.join(OUT, "peft", "lora_bias")
    g = np.random.default_rng(19)
    extra = {}
    for i in range(L):
        for proj, n in (("q_proj", H), ("k_proj", KV), ("v_proj", KV)):
            extra[f"model.layers.{i}.self_attn.{proj}.bias"] = rnd(g, n)
    base = llama_base(g, torch.bfloat16, extra=extra)
    cfg = {"r": 4, "lora_alpha": 8, "lora_bias": True, "target_modules": ["q_proj", "k_proj", "v_proj"],
           "exclude_modules": ["v_proj"], "layers_to_transform": [1]}
    # pairs for every attention projection of every layer (untargeted ones included)
    ad, _ = lora_weights(g, base, {"r": 4, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]})
    targeted = []
    for k in list(ad):
        if k.endswith(".lora_B.weight"):
            mod = k[len("base_model.model."):-len(".lora_B.weight")]
            if mod.endswith(("q_proj", "k_proj", "v_proj")):
                ad[k[:-len("weight")] + "bias"] = rnd(g, ad[k].shape[0], scale=0.3)
            if peft_targets(cfg, mod):
                targeted.append(mod)
    assert sorted(targeted) == ["model.layers.1.self_attn.k_proj", "model.layers.1.self_attn.q_proj"]
    s = cfg["lora_alpha"] / cfg["r"]
    out = {k: v.float().clone() for k, v in base.items()}
    for mod in targeted:
        A = ad[f"base_model.model.{mod}.lora_A.weight"].double()
        B = ad[f"base_model.model.{mod}.lora_B.weight"].double()
        out[mod + ".weight"] = (out[mod + ".weight"].double() + s * (B @ A)).float()
        out[mod + ".bias"] = (out[mod + ".bias"].double()
                              + s * ad[f"base_model.model.{mod}.lora_B.bias"].double()).float()
    write_base(os.path.join(root, "base"), base)
    write_adapter(os.path.join(root, "adapter"), cfg, ad)
    st_write(os.path.join(root, "expected.safetensors"), {k: out[k].to(base[k].dtype) for k in base})
    # the same adapter against a base whose q/k projections have no bias: PEFT refuses
    write_base(os.path.join(root, "base_nobias"), llama_base(np.random.default_rng(23), torch.bfloat16))


if __name__ == "__main__":
    kernel_goldens()
    peft_goldens()
    lora_bias_goldens()
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({total} bytes)")
