"""tests/golden/torch_models.py — plain PyTorch implementations of mergeval's reference
architectures, written from the math with the same parameter names, so a state_dict loads
straight from a mergeval checkpoint:

* LlamaForCausalLM: HF Llama (RMSNorm, rotary embeddings with rotate_half, grouped-query
  attention, SwiGLU MLP, tied or untied lm_head), byte vocabulary + BOS 256 / EOS 257.
* TinyVLM: a SigLIP vision tower (`vpm.*`), the MiniCPM-V resampler (`resampler.*`, built on
  torch.nn.MultiheadAttention) and the Llama decoder under `llm.*`; the sequence is BOS, the
  visual tokens, then the text.

Used by make_model_goldens.py (golden logits) and by tests/bench (the PyTorch peer).
Not a training framework: just modules and a config reader.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Cfg:
    """Attribute view of an HF-style config.json dict, with the plugin's defaults."""

    def __init__(self, d):
        self.C = d.get("hidden_size", 128)
        self.L = d.get("num_hidden_layers", 4)
        self.NH = d.get("num_attention_heads", 4)
        self.NKV = d.get("num_key_value_heads", self.NH)
        self.F = d.get("intermediate_size", 344)
        self.V = d.get("vocab_size", 258)
        self.maxpos = d.get("max_position_embeddings", 256)
        self.eps = d.get("rms_norm_eps", 1e-5)
        self.theta = d.get("rope_theta", 10000.0)
        self.tied = d.get("tie_word_embeddings", False)
        v = d.get("vision_config", {})
        self.vD = v.get("hidden_size", 96)
        self.vF = v.get("intermediate_size", 384)
        self.vL = v.get("num_hidden_layers", 2)
        self.vNH = v.get("num_attention_heads", 4)
        self.veps = v.get("layer_norm_eps", 1e-6)
        self.S = d.get("image_size", 32)
        self.ps = d.get("patch_size", 8)
        self.Q = d.get("query_num", 8)
        self.rNH = d.get("resampler_num_heads", 4)
        self.mean = d.get("image_mean", [0.5, 0.5, 0.5])
        self.std = d.get("image_std", [0.5, 0.5, 0.5])


# ---------------------------------------------------------------------------- Llama
class RMSNorm(nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_cos_sin(T, hs, theta, device=None):
    inv_freq = 1.0 / (theta ** (torch.arange(0, hs, 2, dtype=torch.int64).float() / hs))
    t = torch.arange(T, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class LlamaAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.NH, self.NKV, self.HS = c.NH, c.NKV, c.C // c.NH
        self.q_proj = nn.Linear(c.C, self.NH * self.HS, bias=False)
        self.k_proj = nn.Linear(c.C, self.NKV * self.HS, bias=False)
        self.v_proj = nn.Linear(c.C, self.NKV * self.HS, bias=False)
        self.o_proj = nn.Linear(self.NH * self.HS, c.C, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.NH, self.HS).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.NKV, self.HS).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.NKV, self.HS).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.NH // self.NKV
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.HS)
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, self.NH * self.HS)
        return self.o_proj(y)


class LlamaMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c.C, c.F, bias=False)
        self.up_proj = nn.Linear(c.C, c.F, bias=False)
        self.down_proj = nn.Linear(c.F, c.C, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c.C, c.eps)
        self.self_attn = LlamaAttention(c)
        self.post_attention_layernorm = RMSNorm(c.C, c.eps)
        self.mlp = LlamaMLP(c)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.V, c.C)
        self.layers = nn.ModuleList([LlamaDecoderLayer(c) for _ in range(c.L)])
        self.norm = RMSNorm(c.C, c.eps)


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = LlamaModel(c)
        if not c.tied:
            self.lm_head = nn.Linear(c.C, c.V, bias=False)

    def head_weight(self):
        return self.model.embed_tokens.weight if self.c.tied else self.lm_head.weight

    def forward_embeds(self, h):
        """h (B, T, C) input embeddings -> logits (B, T, V)."""
        T = h.shape[1]
        cos, sin = rope_cos_sin(T, self.c.C // self.c.NH, self.c.theta)
        for layer in self.model.layers:
            h = layer(h, cos, sin)
        return F.linear(self.model.norm(h), self.head_weight())

    def forward(self, ids):
        """ids (B, T) text tokens; BOS is prepended -> logits (B, T + 1, V)."""
        bos = torch.full((ids.shape[0], 1), 256, dtype=ids.dtype)
        return self.forward_embeds(self.model.embed_tokens(torch.cat([bos, ids], 1)))


# ---------------------------------------------------------------------------- SigLIP ViT
class SiglipEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.patch_embedding = nn.Conv2d(3, c.vD, c.ps, stride=c.ps)
        self.position_embedding = nn.Embedding((c.S // c.ps) ** 2, c.vD)

    def forward(self, pix):
        x = self.patch_embedding(pix).flatten(2).transpose(1, 2)
        return x + self.position_embedding.weight


class SiglipAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.NH, self.HS = c.vNH, c.vD // c.vNH
        self.q_proj = nn.Linear(c.vD, c.vD)
        self.k_proj = nn.Linear(c.vD, c.vD)
        self.v_proj = nn.Linear(c.vD, c.vD)
        self.out_proj = nn.Linear(c.vD, c.vD)

    def forward(self, x):
        B, T, D = x.shape
        sh = lambda t: t.view(B, T, self.NH, self.HS).transpose(1, 2)
        q, k, v = sh(self.q_proj(x)), sh(self.k_proj(x)), sh(self.v_proj(x))
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(self.HS)).softmax(-1)
        return self.out_proj((att @ v).transpose(1, 2).reshape(B, T, D))


class SiglipMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Linear(c.vD, c.vF)
        self.fc2 = nn.Linear(c.vF, c.vD)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class SiglipEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(c.vD, eps=c.veps)
        self.self_attn = SiglipAttention(c)
        self.layer_norm2 = nn.LayerNorm(c.vD, eps=c.veps)
        self.mlp = SiglipMLP(c)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class SiglipEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([SiglipEncoderLayer(c) for _ in range(c.vL)])


class SiglipVision(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = SiglipEmbeddings(c)
        self.encoder = SiglipEncoder(c)
        self.post_layernorm = nn.LayerNorm(c.vD, eps=c.veps)

    def forward(self, pix):
        x = self.embeddings(pix)
        for layer in self.encoder.layers:
            x = layer(x)
        return self.post_layernorm(x)


# ---------------------------------------------------------------------------- resampler
class Resampler(nn.Module):
    """MiniCPM-V's resampler without its 2-D position embedding: learned queries attend over
    the (projected, normalised) vision tokens; out = ln_post(attn) @ proj."""

    def __init__(self, c):
        super().__init__()
        D = c.C
        self.query = nn.Parameter(torch.zeros(c.Q, D))
        self.kv_proj = nn.Linear(c.vD, D, bias=False)
        self.attn = nn.MultiheadAttention(D, c.rNH)
        self.ln_q = nn.LayerNorm(D, eps=1e-6)
        self.ln_kv = nn.LayerNorm(D, eps=1e-6)
        self.ln_post = nn.LayerNorm(D, eps=1e-6)
        self.proj = nn.Parameter(torch.zeros(D, D))

    def forward(self, x):
        B = x.shape[0]
        x = self.ln_kv(self.kv_proj(x)).permute(1, 0, 2)  # (P, B, D)
        q = self.ln_q(self.query).unsqueeze(1).repeat(1, B, 1)  # (Q, B, D)
        out = self.attn(q, x, x, need_weights=False)[0].permute(1, 0, 2)  # (B, Q, D)
        return self.ln_post(out) @ self.proj


class TinyVLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.vpm = SiglipVision(c)
        self.resampler = Resampler(c)
        self.llm = LlamaForCausalLM(c)

    def preprocess(self, rgb_uint8):
        """(B, S, S, 3) uint8 -> (B, 3, S, S) normalised floats (no resize needed)."""
        x = rgb_uint8.float().div(255.0).permute(0, 3, 1, 2)
        mean = torch.tensor(self.c.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.c.std).view(1, 3, 1, 1)
        return (x - mean) / std

    def encode_images(self, pix):
        return self.resampler(self.vpm(pix))  # (B, Q, C)

    def forward(self, pix, ids, vis=None):
        """pix (B, 3, S, S), ids (B, T) -> logits (B, 1 + Q + T, V)."""
        if vis is None:
            vis = self.encode_images(pix)
        emb = self.llm.model.embed_tokens
        bos = emb(torch.full((ids.shape[0], 1), 256, dtype=ids.dtype))
        return self.llm.forward_embeds(torch.cat([bos, vis, emb(ids)], 1))


# ---------------------------------------------------------------------------- safetensors
def save_safetensors(path, tensors):
    """Minimal F32 safetensors writer (no dependency on the safetensors package)."""
    import json
    import struct

    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
