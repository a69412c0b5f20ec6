#!/usr/bin/env python3
"""tests/standin_vlm_eval.py — a stand-in for an external VLM benchmark harness driven by the
exec evaluator: `standin_vlm_eval.py MODEL DATASET OUT` checks MODEL is a checkpoint folder
(config.json + safetensors), scores each record of the JSONL DATASET (1 when the model's
weights checksum and the item id agree on a bit: deterministic, different per model), writes
OUT/vlm_items.jsonl and prints the metrics JSON on stdout, as the exec evaluator reads it."""
import hashlib
import json
import os
import sys

model, dataset, out = sys.argv[1:4]
if not os.path.exists(os.path.join(model, "config.json")):
    sys.exit(f"{model}: not a model folder (no config.json)")
h = hashlib.sha256()
for fn in sorted(os.listdir(model)):
    if fn.endswith(".safetensors"):
        with open(os.path.join(model, fn), "rb") as f:
            h.update(f.read())
key = h.digest()
os.makedirs(out, exist_ok=True)
with open(dataset) as f, open(os.path.join(out, "vlm_items.jsonl"), "w") as o:
    for n, line in enumerate(f):
        if not line.strip():
            continue
        rec = json.loads(line)
        rid = str(rec.get("id", f"line{n + 1}"))
        bit = hashlib.sha256(key + rid.encode()).digest()[0] & 1
        o.write(json.dumps({"id": rid, "correct": bit}) + "\n")
print("harness log line")
print(json.dumps({"accuracy": {"num": "correct", "binary": True,
                               "doc": "stand-in VLM benchmark accuracy"}}))
