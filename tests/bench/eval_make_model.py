"""tests/bench/eval_make_model.py — a randomly initialised default tinyvlm checkpoint for the
eval benchmark (config.json + model.safetensors, mergeval naming), written with PyTorch from
tests/golden/torch_models.py so both sides of the benchmark load identical weights.
Usage: eval_make_model.py OUT_DIR"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from torch_models import Cfg, TinyVLM, save_safetensors  # noqa: E402

CONFIG = {
    "architectures": ["TinyVLM"], "model_type": "minicpmv", "hidden_size": 128,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 4,
    "intermediate_size": 344, "vocab_size": 258, "max_position_embeddings": 256,
    "rms_norm_eps": 1e-5, "rope_theta": 10000, "tie_word_embeddings": False,
    "bos_token_id": 256, "eos_token_id": 257, "hidden_act": "silu", "query_num": 8,
    "resampler_num_heads": 4, "image_size": 32, "patch_size": 8,
    "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
    "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 96,
                      "intermediate_size": 384, "num_hidden_layers": 2,
                      "num_attention_heads": 4, "image_size": 32, "patch_size": 8,
                      "layer_norm_eps": 1e-6, "hidden_act": "gelu_pytorch_tanh"},
    "torch_dtype": "float32",
}

out = sys.argv[1]
if os.path.exists(os.path.join(out, "model.safetensors")):
    sys.exit(0)
os.makedirs(out, exist_ok=True)
torch.manual_seed(1)
m = TinyVLM(Cfg(CONFIG))
with torch.no_grad():
    for n, p in m.named_parameters():
        if "norm" in n or ".ln_" in n or "layer_norm" in n:
            p.fill_(1.0) if n.endswith("weight") else p.zero_()
        elif n.endswith("bias"):
            p.zero_()
        else:
            p.normal_(0, 0.05)
save_safetensors(os.path.join(out, "model.safetensors"), dict(m.state_dict()))
json.dump(CONFIG, open(os.path.join(out, "config.json"), "w"), indent=1)
