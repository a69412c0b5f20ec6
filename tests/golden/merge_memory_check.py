#!/usr/bin/python3
"""tests/golden/merge_memory_check.py MERGEVAL DIR — the streaming merge's memory bound,
checked structurally: a ~640 MB generated LoRA merge (512 MB bf16 base, 128 MB fp32 adapter)
must peak within a fixed budget above the same merge of a tiny checkpoint, because input
pages are released behind the reader (adapter included) and output goes through fixed-size
per-worker buffers (core/include/mv_merge_engine.h: MG_DROP_BYTES, MG_STAGE_BYTES). Without
either, the peak grows with the input. Also checks the merged values against numpy. Prints
"ok ..." / "FAIL ..." lines; no timing is involved."""
import json
import os
import struct
import subprocess
import sys

import numpy as np

MV, ROOT = sys.argv[1], sys.argv[2]
WORKERS, N, RANK, DIM = 2, 8, 512, 4096
# Per worker: the output stage (4 MB), one batch of input pages awaiting release (8 MB, up
# to twice as a batch straddles a tensor's end), one raw-copy chunk (8 MB), the fp32 A and B
# of the module at hand (2 x RANK x DIM floats = 16 MB); once, the writer's direct-I/O
# buffers (plugins/safetensors/st_dio.c: 6 x 4 MB); plus slack for the allocator and
# huge-page rounding. Not released, the adapter alone (N modules = 128 MB) breaks it.
BUDGET_MB = WORKERS * (4 + 16 + 8 + 2 * RANK * DIM * 4 // 2**20) + 24 + 16
fails = 0


def check(ok, what):
    global fails
    print(("ok " if ok else "FAIL ") + what)
    fails += not ok


def bf16_bits(x):
    """float32 array -> bf16 bit patterns (round to nearest even), as uint16."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_float(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def write_st(path, items):
    hdr, off = {}, 0
    for name, dtype, shape, raw in items:
        hdr[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for item in items:
            f.write(item[3])


def make(dirpath, n, rank, tiny):
    """n projections (q_proj in layers 0..n-1) + n untouched tensors of the same size."""
    rng = np.random.default_rng(7)
    dim = 64 if tiny else DIM
    os.makedirs(dirpath + "/base", exist_ok=True)
    os.makedirs(dirpath + "/lora", exist_ok=True)
    base, lora, ref = [], [], {}
    # one block of weights reused by every tensor keeps generation at disk speed
    w = bf16_bits(rng.standard_normal((dim, dim), dtype=np.float32) * 0.02)
    for i in range(n):
        base.append((f"model.layers.{i}.self_attn.q_proj.weight", "BF16", (dim, dim), w.tobytes()))
        base.append((f"model.layers.{i}.mlp.up_proj.weight", "BF16", (dim, dim), w.tobytes()))
        a = rng.standard_normal((rank, dim), dtype=np.float32) * 0.01
        b = rng.standard_normal((dim, rank), dtype=np.float32) * 0.01
        lora.append((f"base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight", "F32", a.shape, a.tobytes()))
        lora.append((f"base_model.model.model.layers.{i}.self_attn.q_proj.lora_B.weight", "F32", b.shape, b.tobytes()))
        if i in (0, n - 1):
            ref[i] = (a, b)
    write_st(dirpath + "/base/model.safetensors", base)
    write_st(dirpath + "/lora/adapter_model.safetensors", lora)
    with open(dirpath + "/lora/adapter_config.json", "w") as f:
        json.dump({"peft_type": "LORA", "r": rank, "lora_alpha": rank, "target_modules": ["q_proj"]}, f)
    return w, ref


# The peak is measured by a fresh small Python that runs the command: a child forked from
# this (large) process would report this process's resident set, kept across exec.
PEAK = ("import os, resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
        "sys.stderr.write(p.stderr.decode(errors='replace'))\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def peak_kb(args):
    """(exit code, peak resident set in KB of the command and its children, stderr)."""
    env = dict(os.environ, MERGEVAL_MERGE_WORKERS=str(WORKERS))
    p = subprocess.run([sys.executable, "-c", PEAK] + args, env=env, capture_output=True, text=True)
    rc, kb = p.stdout.split()
    return int(rc), int(kb), p.stderr


def merge(d):
    return [MV, "-q", "--threads", str(WORKERS), "merge", "--base", d + "/base", "--adapter", d + "/lora",
            "--out", d + "/out"]


tiny, big = ROOT + "/tiny", ROOT + "/big"
make(tiny, 2, 4, True)
w, ref = make(big, N, RANK, False)
rc, base_kb, err = peak_kb(merge(tiny))
check(rc == 0, f"tiny merge exits 0 ({err.strip()[:200]})")
rc, big_kb, err = peak_kb(merge(big))
check(rc == 0, f"640 MB merge exits 0 ({err.strip()[:200]})")
grow = (big_kb - base_kb) / 1024
check(grow <= BUDGET_MB, f"peak RSS of the 640 MB merge is {big_kb // 1024} MB, {grow:.0f} MB above the tiny "
      f"merge's {base_kb // 1024} MB (budget {BUDGET_MB} MB, input 640 MB)")

# the values: merged q_proj = bf16(W + (alpha/r) B A) (numpy fp32, <= 1 bf16 ulp apart
# from OpenBLAS's summation order), untouched tensors byte-identical to the base
out = ROOT + "/big/out/model.safetensors"
with open(out, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(n))
mm = np.memmap(out, dtype=np.uint8, mode="r")
start = 8 + n


def tensor(name):
    s, e = hdr[name]["data_offsets"]
    return np.asarray(mm[start + s:start + e]).view(np.uint16).reshape(hdr[name]["shape"])


wf = bf16_float(w)
for i, (a, b) in ref.items():
    got = bf16_float(tensor(f"model.layers.{i}.self_attn.q_proj.weight"))
    want = bf16_float(bf16_bits(wf + b @ a))
    tol = np.abs(want) * 2.0 ** -7 + 1e-6   # + fp32 summation error where W + BA nearly cancel
    bad = int(np.sum(np.abs(got - want) > tol))
    check(bad == 0, f"layer {i} q_proj matches numpy within one bf16 ulp ({bad} elements off)")
    check(np.array_equal(tensor(f"model.layers.{i}.mlp.up_proj.weight"), w),
          f"layer {i} up_proj (untouched) copied byte for byte")
sys.exit(1 if fails else 0)
