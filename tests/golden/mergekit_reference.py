#!/usr/bin/env python3
"""tests/golden/mergekit_reference.py — mergekit configs run through `mergeval merge` and
checked against numpy re-implementations of mergekit's math (merge_methods/*.py, sparsify.py,
config.py's evaluate_setting, plan.py's t). Usage: mergekit_reference.py MERGEVAL WORKDIR.
Prints one line per check and exits 1 when any failed."""
import json, os, struct, subprocess, sys
import numpy as np

MV, WORK = sys.argv[1], sys.argv[2]
L, H = 3, 8
fails = 0

RAW = {"F8_E4M3": np.uint8, "I32": np.int32, "F32": np.float32, "F64": np.float64}

def save(path, tensors, config=None):
    os.makedirs(path, exist_ok=True)
    hdr, off, blobs = {}, 0, []
    for k in sorted(tensors):
        dt, a = tensors[k] if isinstance(tensors[k], tuple) else ("F32", tensors[k])
        a = np.ascontiguousarray(a, dtype=RAW[dt])
        hdr[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
        blobs.append(a.tobytes())
    h = json.dumps(hdr).encode()
    with open(os.path.join(path, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)
    cfg = config or {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "num_hidden_layers": L,
                     "hidden_size": H, "torch_dtype": "float32"}
    with open(os.path.join(path, "config.json"), "w") as f: json.dump(cfg, f)

def load(path):
    with open(os.path.join(path, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]; hdr = json.loads(f.read(n)); data = f.read()
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__": continue
        dt = {"F32": np.float32, "F16": np.float16, "F8_E4M3": np.uint8, "I32": np.int32, "F64": np.float64}.get(v["dtype"])
        a, b = v["data_offsets"]
        if v["dtype"] in ("F8_E4M3", "I32", "F64"):
            out[k] = np.frombuffer(data[a:b], dtype=dt).reshape(v["shape"])
        elif v["dtype"] == "BF16":
            u = np.frombuffer(data[a:b], dtype=np.uint16).astype(np.uint32) << 16
            out[k] = u.view(np.float32).reshape(v["shape"])
        else:
            out[k] = np.frombuffer(data[a:b], dtype=dt).reshape(v["shape"]).astype(np.float32)
    return out, hdr

def names():
    n = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"]
    for l in range(L):
        n += [f"model.layers.{l}.self_attn.q_proj.weight", f"model.layers.{l}.mlp.up_proj.weight",
              f"model.layers.{l}.input_layernorm.weight"]
    return n

def model(seed, base=None, scale=0.3):
    g = np.random.default_rng(seed)
    t = {}
    for k in names():
        shape = (H,) if k.endswith("norm.weight") else (H, H)
        t[k] = (base[k] if base else 0) + g.standard_normal(shape).astype(np.float32) * (scale if base else 1)
    return t

def check(name, ok, detail=""):
    global fails
    print(f"{'ok  ' if ok else 'FAIL'} {name} {detail if not ok or detail.startswith('max') or detail.startswith('rel') else ''}")
    fails += 0 if ok else 1

def run(name, yml, expect_rc=0):
    p = os.path.join(WORK, name + ".yml")
    with open(p, "w") as f: f.write(yml)
    out = os.path.join(WORK, "out-" + name)
    r = subprocess.run([MV, "--quiet", "merge", p, "--out", out], capture_output=True, text=True)
    if r.returncode != expect_rc:
        check(f"{name}: exit {r.returncode} (expected {expect_rc})", False, r.stderr[:600])
        return None, r
    return out, r

# mergekit's evaluate_setting and plan.py's t
def layer_t(k):
    parts = k.split(".")
    if "layers" not in parts: return 0.0
    i = int(parts[parts.index("layers") + 1])
    return i / (L - 1) if L > 1 else 1.0

def setting(v, k, t):
    if isinstance(v, (int, float)): return float(v)
    if all(isinstance(e, (int, float)) for e in v):
        s = t * (len(v) - 1); i0 = int(s); i1 = min(len(v) - 1, i0 + 1); f = s - i0
        return (1 - f) * v[i0] + f * v[i1]
    for c in v:
        if c.get("filter") in (None, "*") or c["filter"] in k: return setting(c["value"], k, t)
    return None

def close(name, got, want, tol=2e-5):
    err = max(float(np.max(np.abs(got[k].astype(np.float64) - want[k]))) for k in want)
    check(name, err <= tol, f"max abs err {err:.2e}")

os.makedirs(WORK, exist_ok=True)
B = model(1); A = model(2, B); C = model(3, B); D = model(4, B)
for n, t in (("base", B), ("a", A), ("c", C), ("d", D)): save(os.path.join(WORK, n), t)
for f, text in (("tokenizer.json", "{}"), ("tokenizer_config.json", '{"chat_template": "x"}'),
                ("special_tokens_map.json", "{}"), ("generation_config.json", '{"do_sample": false}'),
                ("preprocessor_config.json", "{}"), ("modeling_minicpmv.py", "# remote code\n"),
                ("chat_template.jinja", "{{ x }}")):
    with open(os.path.join(WORK, "base", f), "w") as fh: fh.write(text)
W = WORK
ks = names()

# linear (weights, normalize default true)
out, _ = run("linear", f"merge_method: linear\nmodels:\n  - model: {W}/a\n    parameters: {{weight: 0.7}}\n"
             f"  - model: {W}/c\n    parameters: {{weight: 0.3}}\ndtype: float32\n")
if out: close("linear", load(out)[0], {k: (0.7 * A[k] + 0.3 * C[k]) / 1.0 for k in ks})

# task_arithmetic, mergekit's own form: the base listed among the models, normalize true
out, _ = run("ta", f"merge_method: task_arithmetic\nbase_model: {W}/base\nmodels:\n  - model: {W}/base\n"
             f"  - model: {W}/a\n    parameters: {{weight: 0.5}}\n  - model: {W}/c\n    parameters: {{weight: 1.0}}\n"
             f"parameters:\n  normalize: true\n  lambda: 0.9\ndtype: float32\n")
if out: close("task_arithmetic (base among models, normalize)", load(out)[0],
              {k: B[k] + 0.9 * ((0.5 * (A[k] - B[k]) + 1.0 * (C[k] - B[k])) / 1.5) for k in ks})

# the JSON form with mergekit's meanings: the base among the models, dtype as the output dtype
pj = os.path.join(W, "ta.json")
with open(pj, "w") as f:
    json.dump({"merge_method": "task_arithmetic", "base_model": f"{W}/base", "dtype": "float16",
               "models": [{"model": f"{W}/base"}, {"model": f"{W}/a", "parameters": {"weight": 0.5}},
                          {"model": f"{W}/c", "parameters": {"weight": 1.0}}],
               "parameters": {"normalize": True, "lambda": 0.9}}, f)
r = subprocess.run([MV, "--quiet", "merge", pj, "--out", f"{W}/out-ta-json"], capture_output=True, text=True)
check("JSON form: runs", r.returncode == 0, r.stderr[:300])
if r.returncode == 0:
    got, hdr = load(f"{W}/out-ta-json")
    want = {k: np.float16(B[k] + 0.9 * ((0.5 * (A[k] - B[k]) + 1.0 * (C[k] - B[k])) / 1.5)).astype(np.float64) for k in ks}
    check("JSON form: dtype float16 is the output dtype", all(v["dtype"] == "F16" for k, v in hdr.items() if k != "__metadata__"))
    close("JSON form: base among models dropped (float16, within one rounding)", got, want, 8e-3)

def magnitude(d, dens):
    if dens >= 1: return d
    k = int(dens * d.size); flat = d.reshape(-1); m = np.zeros_like(flat)
    m[np.argsort(-np.abs(flat), kind="stable")[:k]] = 1
    return (flat * m).reshape(d.shape)

def outliers(d, dens, gamma):
    if dens >= 1: return d
    n = d.size; tgt = int(dens * n); top = int(gamma * n); bot = n - tgt - top
    if bot < 0: top += bot; bot = 0
    flat = d.reshape(-1); idx = np.argsort(np.abs(flat), kind="stable"); m = np.zeros_like(flat)
    m[idx[bot:n - top]] = 1
    return (flat * m).reshape(d.shape)

def gta(models, params, sp, consensus, normalize, lam=1.0):
    res = {}
    for k in ks:
        t = layer_t(k); ds, ws = [], []
        for M, p in zip(models, params):
            w = setting(p["weight"], k, t); dn = setting(p.get("density", 1), k, t)
            d = M[k].astype(np.float64) - B[k]
            d = sp(d, dn, p) if sp else d
            ds.append(d); ws.append(w)
        ds = np.stack(ds); ws = np.array(ws).reshape(-1, *([1] * (ds.ndim - 1)))
        wd = ds * ws
        if consensus:
            sign = np.sign(wd); maj = np.where(wd.sum(0) >= 0, 1, -1)
            mask = (sign == maj).astype(np.float64)
            mix = (wd * mask).sum(0); div = (ws * mask).sum(0); div[div == 0] = 1
        else:
            mix = wd.sum(0); div = ws.sum(0) * np.ones_like(mix); div[np.abs(div) < 1e-8] = 1
        if normalize: mix = mix / div
        res[k] = B[k] + lam * mix
    return res

# ties: density gradient, weight gradient, filter-conditioned weight (examples/ties.yml's shape)
pa = {"density": [1, 0.7, 0.1], "weight": 1.0}
pc = {"density": 0.5, "weight": [0, 0.3, 0.7, 1]}
pd = {"density": 0.33, "weight": [{"filter": "mlp", "value": 0.5}, {"value": 0}]}
out, _ = run("ties", f"""models:
  - model: {W}/a
    parameters:
      density: [1, 0.7, 0.1] # density gradient
      weight: 1.0
  - model: {W}/c
    parameters:
      density: 0.5
      weight: [0, 0.3, 0.7, 1] # weight gradient
  - model: {W}/d
    parameters:
      density: 0.33
      weight:
        - filter: mlp
          value: 0.5
        - value: 0
merge_method: ties
base_model: {W}/base
parameters:
  normalize: true
  int8_mask: true
dtype: float32
""")
if out: close("ties (gradients, filter, non-layer t=0)", load(out)[0],
              gta([A, C, D], [pa, pc, pd], lambda d, dn, p: magnitude(d, dn), True, True), 5e-5)

# breadcrumbs_ties with a global density (a tensor parameter given globally)
out, _ = run("bct", f"merge_method: breadcrumbs_ties\nbase_model: {W}/base\nmodels:\n  - model: {W}/a\n"
             f"    parameters: {{weight: 0.6}}\n  - model: {W}/c\n    parameters: {{weight: 0.4, gamma: 0.05}}\n"
             f"parameters: {{density: 0.6}}\ndtype: float32\n")
if out: close("breadcrumbs_ties (global density)", load(out)[0],
              gta([A, C], [{"weight": 0.6, "density": 0.6, "gamma": 0.01}, {"weight": 0.4, "density": 0.6, "gamma": 0.05}],
                  lambda d, dn, p: outliers(d, dn, p["gamma"]), True, False), 5e-5)

# slerp with filter-conditioned gradients (examples/gradient-slerp.yml's shape)
def slerp(t, v0, v1, thr=0.9995, eps=1e-8):
    a, b = v0 / (np.linalg.norm(v0) if np.linalg.norm(v0) > eps else 1), v1 / (np.linalg.norm(v1) if np.linalg.norm(v1) > eps else 1)
    dot = np.sum(a * b)
    if abs(dot) > thr: return (1 - t) * v0 + t * v1
    th = np.arccos(dot); s = np.sin(th)
    return np.sin(th - th * t) / s * v0 + np.sin(th * t) / s * v1
tset = [{"filter": "self_attn", "value": [0, 0.5, 0.3, 0.7, 1]}, {"filter": "mlp", "value": [1, 0.5, 0.7, 0.3, 0]}, {"value": 0.5}]
out, _ = run("slerp", f"""slices:
  - sources:
      - model: {W}/base
        layer_range: [0, {L}]
      - model: {W}/a
        layer_range: [0, {L}]
merge_method: slerp
base_model: {W}/base
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - value: 0.5 # fallback for rest of tensors
dtype: float32
""")
if out: close("slerp (slices, filter gradients)", load(out)[0],
              {k: slerp(setting(tset, k, layer_t(k)), B[k].astype(np.float64), A[k].astype(np.float64)) for k in ks})

# nuslerp with a base: slerp of the task vectors, t = w1 / (w0 + w1)
def nuslerp(t, v0, v1):
    a = v0.reshape(-1); b = v1.reshape(-1)
    ua = a / max(np.linalg.norm(a), 1e-7); ub = b / max(np.linalg.norm(b), 1e-7)
    th = np.arccos(np.clip(np.sum(ua * ub), -1, 1)); s = np.sin(th)
    r = (1 - t) * a + t * b if abs(s) < 1e-8 else (np.sin((1 - t) * th) * a + np.sin(t * th) * b) / s
    return r.reshape(v0.shape)
out, _ = run("nuslerp", f"merge_method: nuslerp\nbase_model: {W}/base\nmodels:\n  - model: {W}/a\n"
             f"    parameters: {{weight: 1.0}}\n  - model: {W}/c\n    parameters: {{weight: 3.0}}\ndtype: float32\n")
if out: close("nuslerp (base)", load(out)[0], {k: B[k] + nuslerp(0.75, A[k] - B[k].astype(np.float64), C[k] - B[k].astype(np.float64)) for k in ks})

# model_stock
def stock(k, Ms):
    w0 = B[k].astype(np.float64).reshape(-1); offs = [M[k].reshape(-1) - w0 for M in Ms]
    cs = []
    for i in range(len(offs)):
        for j in range(i + 1, len(offs)):
            cs.append(np.clip(np.dot(offs[i], offs[j]) / max(np.linalg.norm(offs[i]) * np.linalg.norm(offs[j]), 1e-6), -1, 1))
    c = np.mean(cs); N = len(offs); t = N * c / (1 + (N - 1) * c)
    return (t * (sum(M[k].reshape(-1) for M in Ms) / N) + (1 - t) * w0).reshape(B[k].shape)
out, _ = run("stock", f"merge_method: model_stock\nbase_model: {W}/base\nmodels:\n  - model: {W}/a\n  - model: {W}/c\n  - model: {W}/d\ndtype: float32\n")
if out: close("model_stock", load(out)[0], {k: stock(k, [A, C, D]) for k in ks})

# passthrough frankenmerge (examples/orcamini-platy-44layer.yml's shape): layers renumbered
out, _ = run("pass", f"slices:\n  - sources:\n    - model: {W}/a\n      layer_range: [0, 2]\n"
             f"  - sources:\n    - model: {W}/c\n      layer_range: [1, 3]\nmerge_method: passthrough\ndtype: float16\n")
if out:
    got, hdr = load(out)
    want = {"model.embed_tokens.weight": A["model.embed_tokens.weight"], "model.norm.weight": C["model.norm.weight"],
            "lm_head.weight": C["lm_head.weight"]}
    for i, (M, src) in enumerate(((A, 0), (A, 1), (C, 1), (C, 2))):
        for leaf in ("self_attn.q_proj.weight", "mlp.up_proj.weight", "input_layernorm.weight"):
            want[f"model.layers.{i}.{leaf}"] = M[f"model.layers.{src}.{leaf}"].astype(np.float16).astype(np.float64)
    for k in list(want): want[k] = np.asarray(want[k], dtype=np.float16).astype(np.float64)
    check("passthrough: 4 layers renumbered", sorted(got) == sorted(want), str(sorted(got)))
    if sorted(got) == sorted(want): close("passthrough values (float16)", got, want, 0)
    cfg = json.load(open(os.path.join(out, "config.json")))
    check("passthrough: num_hidden_layers 4, torch_dtype float16", cfg.get("num_hidden_layers") == 4 and cfg.get("torch_dtype") == "float16", str(cfg))

# dare_linear / della_linear: current mergekit rescales to the task vector's L1 norm
for meth, extra in (("dare_linear", ""), ("della_linear", ", epsilon: 0.1")):
    out, _ = run(meth, f"merge_method: {meth}\nbase_model: {W}/base\nmodels:\n  - model: {W}/a\n"
                 f"    parameters: {{weight: 1.0, density: 0.5{extra}}}\ndtype: float32\nseed: 7\n")
    if out:
        got = load(out)[0]; worst = 0; kept = 0; total = 0
        for k in ks:
            d = got[k].astype(np.float64) - B[k]; want = np.abs(A[k].astype(np.float64) - B[k]).sum()
            worst = max(worst, abs(np.abs(d).sum() - want) / want); kept += np.count_nonzero(np.abs(d) > 1e-6); total += d.size
        check(f"{meth}: L1 norm of each task vector kept", worst < 1e-4, f"rel err {worst:.1e}")
        check(f"{meth}: about half the entries kept", 0.35 < kept / total < 0.65, f"{kept}/{total}")

# the merged folder is a drop-in model folder
out = os.path.join(W, "out-ta")
for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
          "preprocessor_config.json", "modeling_minicpmv.py", "chat_template.jinja", "README.md", "config.json"):
    check(f"drop-in folder has {f}", os.path.exists(os.path.join(out, f)))
card = open(os.path.join(out, "README.md")).read() if os.path.exists(os.path.join(out, "README.md")) else ""
check("model card names method, base sha256 and version", "task_arithmetic" in card and "sha256" in card and "mergeval" in card)

# a LoRA merge's output is a drop-in folder too
ad = {}
for l in range(L):
    ad[f"base_model.model.model.layers.{l}.self_attn.q_proj.lora_A.weight"] = np.full((2, H), 0.01, np.float32)
    ad[f"base_model.model.model.layers.{l}.self_attn.q_proj.lora_B.weight"] = np.full((H, 2), 0.02, np.float32)
save(os.path.join(W, "lora"), ad)
os.rename(os.path.join(W, "lora", "model.safetensors"), os.path.join(W, "lora", "adapter_model.safetensors"))
with open(os.path.join(W, "lora", "adapter_config.json"), "w") as f:
    json.dump({"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj"]}, f)
os.remove(os.path.join(W, "lora", "config.json"))
r = subprocess.run([MV, "--quiet", "merge", "--base", f"{W}/base", "--adapter", f"{W}/lora", "--out-dtype", "bfloat16",
                    "--out", f"{W}/out-lora"], capture_output=True, text=True)
check("LoRA merge runs", r.returncode == 0, r.stderr[:300])
for f in ("tokenizer.json", "modeling_minicpmv.py", "generation_config.json", "README.md"):
    check(f"LoRA merge output has {f}", os.path.exists(os.path.join(W, "out-lora", f)))
if r.returncode == 0:
    cfg = json.load(open(os.path.join(W, "out-lora", "config.json")))
    check("LoRA merge: torch_dtype follows --out-dtype", cfg.get("torch_dtype") == "bfloat16", str(cfg))
    check("LoRA merge card names the adapter and its sha256", "lora" in open(os.path.join(W, "out-lora", "README.md")).read()
          and "adapter_model.safetensors" in open(os.path.join(W, "out-lora", "README.md")).read())

# bad input: every problem at once, with its YAML path and line
_, r = run("bad", f"merge_method: ties\nbase_model: {W}/base\nmodels:\n  - model: {W}/a\n    parameters: {{desnity: 0.5}}\n"
           f"  - model: some-org/some-model\nparameters:\n  normalise: true\nfoo: 1\n", expect_rc=2)
if r is not None:
    e = r.stderr
    for want in ("models[0].parameters.desnity (line 5", "models[1].model (line 6", "huggingface-cli download some-org/some-model",
                 "parameters.normalise (line 8", "foo (line 9"):
        check(f"bad config reports {want!r}", want in e, e[:800])
    check("nothing written on failure", not os.path.exists(os.path.join(W, "out-bad")))
_, r = run("hub", "merge_method: slerp\nbase_model: meta-llama/Meta-Llama-3-8B\nmodels:\n  - model: x/y\nparameters: {t: 0.5}\n", expect_rc=2)
# every tensor kind: FP8 merged through fp32 and re-encoded, integer tensors must agree,
# zero-element tensors merge
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fp8_golden import encode
def dec_e4m3(b):
    vals = np.array([np.nan if (c & 0x7f) == 0x7f else (-1) ** (c >> 7) * (((c & 7) / 8) * 2.0 ** -6 if (c >> 3) & 15 == 0
                     else (1 + (c & 7) / 8) * 2.0 ** (((c >> 3) & 15) - 7)) for c in range(256)])
    return vals[b]
g = np.random.default_rng(5)
f8 = [encode(g.standard_normal(64).astype(np.float32) * 8, 4, 3, 7, True) for _ in range(2)]
ids = np.arange(16, dtype=np.int32)
f64s = [1 + g.standard_normal(32) * 1e-9, 1 + g.standard_normal(32) * 1e-9]
for n, q, i2 in (("k1", f8[0], ids), ("k2", f8[1], ids), ("k3", f8[1], ids[::-1].copy())):
    save(os.path.join(W, n), {"w.f8": ("F8_E4M3", q.reshape(8, 8)), "position_ids": ("I32", i2),
                             "w.f64": ("F64", f64s[0 if n == "k1" else 1]),
                             "empty.weight": np.zeros((0, 4), np.float32), "x.weight": np.ones((2, 2), np.float32)})
out, _ = run("kinds", f"merge_method: linear\nmodels:\n  - model: {W}/k1\n    parameters: {{weight: 0.25}}\n"
             f"  - model: {W}/k2\n    parameters: {{weight: 0.75}}\n")
if out:
    got, hdr = load(out)
    want = encode((0.25 * dec_e4m3(f8[0]) + 0.75 * dec_e4m3(f8[1])).astype(np.float32), 4, 3, 7, True)
    check("F8_E4M3 merged through fp32, re-encoded exactly", hdr["w.f8"]["dtype"] == "F8_E4M3" and
          np.array_equal(got["w.f8"].reshape(-1), want), str(hdr["w.f8"]))
    check("I32 tensor carried when the inputs agree", np.array_equal(got["position_ids"], ids))
    e64 = np.max(np.abs(got["w.f64"] - (0.25 * f64s[0] + 0.75 * f64s[1])))
    check("F64 merged in F64", hdr["w.f64"]["dtype"] == "F64" and e64 < 1e-15, f"max abs err {e64:.1e}")
    check("zero-element tensor merged", got["empty.weight"].shape == (0, 4))
out, _ = run("kinds-ties", f"merge_method: ties\nbase_model: {W}/k1\nmodels:\n  - model: {W}/k2\n"
             f"    parameters: {{weight: 0.8, density: 0.5}}\n")
if out:
    got, hdr = load(out)
    want = f64s[0] + magnitude(f64s[1] - f64s[0], 0.5)
    e64 = np.max(np.abs(got["w.f64"] - want))
    check("F64 ties (top-k, sign election, normalize) in F64", hdr["w.f64"]["dtype"] == "F64" and e64 < 1e-15, f"max abs err {e64:.1e}")
_, r = run("kinds-bad", f"merge_method: linear\nmodels:\n  - model: {W}/k1\n  - model: {W}/k3\n", expect_rc=2)
if r is not None: check("differing I32 tensors: an error naming the tensor", "position_ids" in r.stderr, r.stderr[:300])

print(f"mergekit_reference: {fails} failed")
sys.exit(1 if fails else 0)
