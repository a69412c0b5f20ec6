#!/usr/bin/python3
"""tests/bench/merge_peer_lora.py BASE_DIR ADAPTER_DIR OUT_FILE — the PyTorch peer of
`mergeval merge --base --adapter`: what PEFT's merge_and_unload + save_pretrained do on CPU:
load the state dict, per target W <- bf16(W.float() + scaling * (B @ A)) (fp32 delta, one
rounding), write safetensors."""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import merge_st  # noqa: E402


def main(base_dir, ad_dir, out):
    t0 = time.time()
    h, off, mm, _ = merge_st.open_lazy(os.path.join(base_dir, "model.safetensors"))
    state = {n: merge_st.tensor(h, off, mm, n).clone() for n in h}          # from_pretrained
    ah, aoff, amm, _ = merge_st.open_lazy(os.path.join(ad_dir, "adapter_model.safetensors"))
    cfg = json.load(open(os.path.join(ad_dir, "adapter_config.json")))
    scaling = cfg["lora_alpha"] / cfg["r"]
    with torch.no_grad():
        for k in ah:
            if not k.endswith(".lora_A.weight"):
                continue
            mod = k[len("base_model.model."):-len(".lora_A.weight")]
            A = merge_st.tensor(ah, aoff, amm, k).float()
            B = merge_st.tensor(ah, aoff, amm, k.replace("lora_A", "lora_B")).float()
            w = state[mod + ".weight"]
            state[mod + ".weight"] = (w.float() + scaling * (B @ A)).to(w.dtype)
    merge_st.write(out, list(state.items()), {"format": "pt"})           # save_pretrained
    print(f"torch lora merge: {time.time() - t0:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:4])
