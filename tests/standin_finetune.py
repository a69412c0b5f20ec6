#!/usr/bin/env python3
"""tests/standin_finetune.py — a stand-in for `torchrun finetune.py` (MiniCPM-V's LoRA
finetuning script under HF Trainer + PEFT), python3 stdlib only, for the exec trainer's
end-to-end tests. It takes finetune.py's argument names, checks {data} is MiniCPM-V finetune
JSON, and writes what HF Trainer + PEFT write into --output_dir: adapter_config.json,
adapter_model.safetensors (keys base_model.model.<module>.lora_A/B.weight with the shapes of
the model's own tensors, read from its safetensors header), trainer_state.json with a
log_history, checkpoint-N/ folders every --save_steps, and resumes with
--resume_from_checkpoint. The LoRA B is small and random: a real, small change to merge.

Stand-in-only options (to produce bad outputs for tests):
  --standin_fail no-adapter      exit 0 without writing the adapter
  --standin_fail wrong-modules   adapter keys for the base LLM's names (model.layers...)
  --standin_fail bad-state       trainer_state.json that is not JSON
  --standin_fail bin-only        adapter_model.bin instead of safetensors
  --standin_parse_only           check the arguments and exit (the recipe test)
  --standin_crash_after_step N   exit 1 right after saving checkpoint-N (resume tests;
                                 also from $STANDIN_CRASH_AFTER_STEP)
"""
import argparse
import array
import json
import math
import os
import random
import re
import struct
import sys
import time


def str2bool(v):
    if isinstance(v, bool):
        return v
    if v.lower() in ("yes", "true", "t", "y", "1"):
        return True
    if v.lower() in ("no", "false", "f", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(
        f"Truthy value expected: got {v} but expected one of yes/no, true/false, t/f, y/n, 1/0 (case insensitive).")


def parser():
    p = argparse.ArgumentParser(prog="finetune.py", allow_abbrev=False)
    b = dict(type=str2bool, nargs="?", const=True)
    # ModelArguments, DataArguments
    p.add_argument("--model_name_or_path", default="openbmb/MiniCPM-V-2")
    p.add_argument("--data_path", default=None)
    p.add_argument("--eval_data_path", default=None)
    # TrainingArguments (finetune.py's own fields and the HF ones finetune_lora.sh passes)
    p.add_argument("--output_dir", required=True)
    p.add_argument("--logging_dir", default=None)
    p.add_argument("--llm_type", default="minicpm")
    p.add_argument("--model_max_length", type=int, default=2048)
    p.add_argument("--max_slice_nums", type=int, default=9)
    p.add_argument("--tune_vision", default=True, **b)
    p.add_argument("--tune_llm", default=False, **b)
    p.add_argument("--use_lora", default=False, **b)
    p.add_argument("--remove_unused_columns", default=True, **b)
    p.add_argument("--label_names", nargs="+", default=None)
    p.add_argument("--prediction_loss_only", default=False, **b)
    for f in ("bf16", "bf16_full_eval", "fp16", "fp16_full_eval", "do_train", "do_eval",
              "gradient_checkpointing", "overwrite_output_dir"):
        p.add_argument("--" + f, default=False, **b)
    p.add_argument("--save_safetensors", default=True, **b)
    p.add_argument("--max_steps", type=int, default=-1)
    p.add_argument("--num_train_epochs", type=float, default=3.0)
    p.add_argument("--eval_steps", type=float, default=None)
    p.add_argument("--logging_strategy", default="steps")
    p.add_argument("--logging_steps", type=float, default=500)
    p.add_argument("--per_device_train_batch_size", type=int, default=8)
    p.add_argument("--per_device_eval_batch_size", type=int, default=8)
    p.add_argument("--gradient_accumulation_steps", type=int, default=1)
    p.add_argument("--evaluation_strategy", "--eval_strategy", dest="eval_strategy", default="no")
    p.add_argument("--save_strategy", default="steps")
    p.add_argument("--save_steps", type=float, default=500)
    p.add_argument("--save_total_limit", type=int, default=None)
    p.add_argument("--learning_rate", type=float, default=5e-5)
    p.add_argument("--weight_decay", type=float, default=0.0)
    p.add_argument("--adam_beta2", type=float, default=0.999)
    p.add_argument("--warmup_ratio", type=float, default=0.0)
    p.add_argument("--lr_scheduler_type", default="linear")
    p.add_argument("--deepspeed", default=None)
    p.add_argument("--report_to", default=None)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--resume_from_checkpoint", default=None)
    # LoraArguments
    p.add_argument("--lora_r", type=int, default=64)
    p.add_argument("--lora_alpha", type=int, default=64)
    p.add_argument("--lora_dropout", type=float, default=0.05)
    p.add_argument("--lora_target_modules", default=r"llm\..*layers\.\d+\.self_attn\.(q_proj|k_proj|v_proj)")
    p.add_argument("--lora_bias", default="none")
    # stand-in only
    p.add_argument("--standin_fail", default=None,
                   choices=["no-adapter", "wrong-modules", "bad-state", "bin-only"])
    p.add_argument("--standin_parse_only", action="store_true")
    p.add_argument("--standin_crash_after_step", type=int,
                   default=int(os.environ.get("STANDIN_CRASH_AFTER_STEP") or 0))
    return p


def die(msg):
    print(f"finetune.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def read_data(path):
    """What SupervisedDataset + preprocess() need: a list of {"image"?, "conversations"}."""
    if not path or not os.path.exists(path):
        die(f"--data_path {path} does not exist")
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, list) or not data:
        die(f"{path}: expected a non-empty JSON list of samples")
    n_img = 0
    for i, rec in enumerate(data):
        conv = rec.get("conversations")
        if not isinstance(rec.get("id"), str) or not isinstance(conv, list) or len(conv) < 2:
            die(f"{path}[{i}]: needs \"id\" (string) and \"conversations\" with >= 2 turns")
        if conv[0].get("role") != "user":
            die(f"{path}[{i}]: the first role must be user")
        for t in conv:
            if t.get("role") not in ("user", "assistant") or not isinstance(t.get("content"), str):
                die(f"{path}[{i}]: turns are {{\"role\": user|assistant, \"content\": str}}")
        if "image" in rec:
            if not os.path.isabs(rec["image"]) and not os.path.exists(rec["image"]):
                die(f"{path}[{i}]: image {rec['image']} not found from {os.getcwd()}")
            if not os.path.exists(rec["image"]):
                die(f"{path}[{i}]: image {rec['image']} not found")
            n_img += 1
        elif "<image>" in conv[0]["content"]:
            die(f"{path}[{i}]: <image> placeholder without an \"image\"")
    return data, n_img


def safetensors_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def check_remote_code(model_dir):
    """AutoModel.from_pretrained(trust_remote_code=True) imports the modules config.json's
    auto_map names from the model folder (MiniCPM-V ships modeling_minicpmv.py etc.)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    for ref in (cfg.get("auto_map") or {}).values():
        module = ref.split("--")[-1].rsplit(".", 1)[0]
        if not os.path.exists(os.path.join(model_dir, module + ".py")):
            die(f"{model_dir} does not appear to have a file named {module}.py")


def model_tensors(model_dir):
    """name -> (dtype, shape) of every tensor of the model (single file or sharded)."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    files = []
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    elif os.path.exists(os.path.join(model_dir, "model.safetensors")):
        files = ["model.safetensors"]
    else:
        die(f"{model_dir}: no model.safetensors(.index.json)")
    out = {}
    for fn in files:
        for k, v in safetensors_header(os.path.join(model_dir, fn)).items():
            if k != "__metadata__":
                out[k] = (v["dtype"], v["shape"])
    return out


def write_safetensors(path, tensors):
    """tensors: name -> (shape, list of floats) written as F32, names sorted like torch does."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        data = array.array("f", values).tobytes()
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")  # TrainerState.save_to_json
    os.replace(tmp, path)


def lora_weights(args, modules, rng):
    """PEFT init: A Kaiming-uniform-like, B zeros — here B small random so the merge changes
    the model a little (as a trained B would)."""
    r = args.lora_r
    out = {}
    for name, (dtype, shape) in modules:
        o, i = shape
        key = "base_model.model." + name
        if args.standin_fail == "wrong-modules":
            key = "base_model.model." + re.sub(r"^llm\.", "", name)
        bound = 1.0 / math.sqrt(i)
        out[key + ".lora_A.weight"] = ([r, i], [rng.uniform(-bound, bound) for _ in range(r * i)])
        out[key + ".lora_B.weight"] = ([o, r], [rng.uniform(-0.02, 0.02) for _ in range(o * r)])
    return out


def adapter_config(args):
    return {
        "alpha_pattern": {}, "auto_mapping": None,
        "base_model_name_or_path": args.model_name_or_path, "bias": args.lora_bias,
        "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
        "layer_replication": None, "layers_pattern": None, "layers_to_transform": None,
        "loftq_config": {}, "lora_alpha": args.lora_alpha, "lora_dropout": args.lora_dropout,
        "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
        "peft_type": "LORA", "r": args.lora_r, "rank_pattern": {}, "revision": None,
        "target_modules": args.lora_target_modules, "task_type": "CAUSAL_LM",
        "use_dora": False, "use_rslora": False,
    }


def save_adapter(args, folder, weights):
    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, "adapter_config.json"), adapter_config(args))
    if args.standin_fail == "bin-only":
        with open(os.path.join(folder, "adapter_model.bin"), "wb") as f:
            f.write(b"PK\x03\x04 not really a torch pickle")
        return
    write_safetensors(os.path.join(folder, "adapter_model.safetensors"), weights)


def state(args, step, max_steps, steps_per_epoch, history, batch):
    return {
        "best_metric": None, "best_model_checkpoint": None,
        "epoch": step / steps_per_epoch, "eval_steps": int(args.eval_steps or 500),
        "global_step": step, "is_hyper_param_search": False, "is_local_process_zero": True,
        "is_world_process_zero": True, "log_history": history,
        "logging_steps": int(args.logging_steps), "max_steps": max_steps,
        "num_input_tokens_seen": 0, "num_train_epochs": math.ceil(max_steps / steps_per_epoch),
        "save_steps": int(args.save_steps),
        "stateful_callbacks": {"TrainerControl": {"args": {
            "should_epoch_stop": False, "should_evaluate": False, "should_log": False,
            "should_save": True, "should_training_stop": step >= max_steps}, "attributes": {}}},
        "total_flos": float(step * 1000), "train_batch_size": batch,
        "trial_name": None, "trial_params": None,
    }


def lr_at(args, step, max_steps):
    warm = math.ceil(args.warmup_ratio * max_steps)
    if step < warm:
        return args.learning_rate * step / max(1, warm)
    progress = (step - warm) / max(1, max_steps - warm)
    if args.lr_scheduler_type == "cosine":
        return args.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))
    return args.learning_rate * (1 - progress)


def main():
    p = parser()
    args, unknown = p.parse_known_args()
    if unknown:
        # HfArgumentParser.parse_args_into_dataclasses raises on leftovers
        die(f"Some specified arguments are not used by the HfArgumentParser: {unknown}")
    if args.standin_parse_only:
        return
    if args.use_lora and args.tune_llm:
        die("The model cannot simultaneously adjust LLM parameters and apply LoRA.")
    if not args.use_lora:
        die("the stand-in only implements --use_lora true")
    data, n_img = read_data(args.data_path)
    check_remote_code(args.model_name_or_path)
    tensors = model_tensors(args.model_name_or_path)
    target = re.compile(args.lora_target_modules)
    modules = [(k[: -len(".weight")], v) for k, v in sorted(tensors.items())
               if k.endswith(".weight") and len(v[1]) == 2 and target.fullmatch(k[: -len(".weight")])]
    if not modules:
        die(f"Target modules {args.lora_target_modules} not found in the base model. "
            "Please check the target modules and try again.")
    print(f"Loading data... {len(data)} samples ({n_img} with images)")
    print({"Total": sum(math.prod(s) for _, s in tensors.values()),
           "Trainable": sum(args.lora_r * (s[0] + s[1]) for _, (_, s) in modules)})

    batch = args.per_device_train_batch_size * args.gradient_accumulation_steps
    steps_per_epoch = max(1, math.ceil(len(data) / batch))
    max_steps = args.max_steps if args.max_steps > 0 else int(args.num_train_epochs * steps_per_epoch)
    history, start = [], 0
    if args.resume_from_checkpoint:
        st_path = os.path.join(args.resume_from_checkpoint, "trainer_state.json")
        if not os.path.exists(st_path):
            die(f"Can't find a valid checkpoint at {args.resume_from_checkpoint}")
        with open(st_path) as f:
            prev = json.load(f)
        start, history = prev["global_step"], prev["log_history"]
        print(f"resuming from {args.resume_from_checkpoint} at step {start}")

    rng = random.Random(args.seed * 1000003 + start)
    save_every = max(1, int(args.save_steps))
    log_every = max(1, int(args.logging_steps))
    loss = 2.5 * math.exp(-0.02 * start)
    t0 = time.time()
    for step in range(start + 1, max_steps + 1):
        loss = loss * 0.98 + rng.uniform(-0.01, 0.01)
        if step % log_every == 0:
            history.append({"epoch": round(step / steps_per_epoch, 4), "grad_norm": abs(rng.gauss(1.0, 0.2)),
                            "learning_rate": lr_at(args, step, max_steps), "loss": round(loss, 4),
                            "step": step})
        if args.do_eval and args.eval_steps and step % int(args.eval_steps) == 0:
            history.append({"epoch": round(step / steps_per_epoch, 4), "eval_loss": loss + 0.1,
                            "eval_runtime": 0.5, "eval_samples_per_second": 10.0,
                            "eval_steps_per_second": 5.0, "step": step})
        if step % save_every == 0 or step == max_steps:
            ck = os.path.join(args.output_dir, f"checkpoint-{step}")
            save_adapter(args, ck, lora_weights(args, modules, random.Random(args.seed + step)))
            write_json(os.path.join(ck, "trainer_state.json"),
                       state(args, step, max_steps, steps_per_epoch, history, batch))
            if args.save_total_limit:
                cks = sorted((int(d.split("-")[1]), d) for d in os.listdir(args.output_dir)
                             if re.fullmatch(r"checkpoint-\d+", d))
                for _, d in cks[: max(0, len(cks) - args.save_total_limit)]:
                    for fn in os.listdir(os.path.join(args.output_dir, d)):
                        os.remove(os.path.join(args.output_dir, d, fn))
                    os.rmdir(os.path.join(args.output_dir, d))
            if args.standin_crash_after_step and step >= args.standin_crash_after_step:
                print(f"crashing after checkpoint-{step} (stand-in)", file=sys.stderr)
                sys.exit(1)
    losses = [h["loss"] for h in history if "loss" in h]
    history.append({"epoch": round(max_steps / steps_per_epoch, 4), "step": max_steps,
                    "total_flos": float(max_steps * 1000),
                    "train_loss": sum(losses) / max(1, len(losses)),
                    "train_runtime": round(time.time() - t0, 4),
                    "train_samples_per_second": 100.0, "train_steps_per_second": 10.0})
    # trainer.save_state() then safe_save_model_for_hf_trainer(): the adapter at output_dir
    if args.standin_fail == "bad-state":
        with open(os.path.join(args.output_dir, "trainer_state.json"), "w") as f:
            f.write("{\"log_history\": [ truncated")
    else:
        write_json(os.path.join(args.output_dir, "trainer_state.json"),
                   state(args, max_steps, max_steps, steps_per_epoch, history, batch))
    if args.standin_fail != "no-adapter":
        save_adapter(args, args.output_dir, lora_weights(args, modules, random.Random(args.seed + max_steps)))
    print(f"saved to {args.output_dir}")


if __name__ == "__main__":
    main()
