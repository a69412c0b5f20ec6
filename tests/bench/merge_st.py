"""tests/bench/merge_st.py — minimal safetensors read/write for the merge benchmark peers
(the safetensors package is not a Debian package here). Read: header + np.memmap, tensors as
torch views without copying. Write: header, then each tensor's bytes in order."""
import json
import struct

import numpy as np
import torch

NP = {"BF16": np.int16, "F16": np.float16, "F32": np.float32}
TORCH_NAME = {torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32"}


def read_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    return h, 8 + n


def open_lazy(path):
    """{name: (dtype, shape, offset, nbytes)} plus a memmap of the file."""
    h, base = read_header(path)
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    meta = h.pop("__metadata__", None)
    return h, base, mm, meta


def tensor(h, base, mm, name):
    info = h[name]
    s, e = info["data_offsets"]
    raw = mm[base + s: base + e].view(NP[info["dtype"]]).reshape(info["shape"])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # read-only mmap views; the peers never write them
        t = torch.from_numpy(raw)
    return t.view(torch.bfloat16) if info["dtype"] == "BF16" else t


def write(path, items, metadata=None):
    """items: list of (name, torch tensor) — written in that order."""
    header, off = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in items:
        nb = t.numel() * t.element_size()
        header[name] = {"dtype": TORCH_NAME[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + nb]}
        off += nb
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, t in items:
            t = t.contiguous()
            if t.dtype == torch.bfloat16:
                t = t.view(torch.int16)
            f.write(memoryview(t.numpy()).cast("B"))
