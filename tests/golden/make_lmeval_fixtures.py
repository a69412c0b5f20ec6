#!/usr/bin/python3
"""Writes lm-evaluation-harness output folders into tests/data/lmeval/ (run from the repo root
with /usr/bin/python3; standard library only). The files follow what the harness itself
writes with `--log_samples --output_path DIR` (lm_eval/loggers/evaluation_tracker.py,
lm_eval/evaluator.py): DIR/<model_name_sanitized>/results_<date_id>.json and
samples_<task>_<date_id>.jsonl, per-sample keys doc_id/doc/target/arguments/resps/
filtered_resps/filter/metrics/doc_hash/prompt_hash/target_hash plus the metric values. The
aggregates in results_*.json are computed here independently, the way the harness does
(lm_eval/api/metrics.py): mean; weighted_perplexity = exp(-sum ll / sum n);
bits_per_byte = -sum ll / sum bytes / ln 2; mmlu groups weighted by size.

Folders:
  run_a/  model org/model-a: arc_easy, gsm8k (strict-match + flexible-extract), wikitext,
          mmlu (3 subtasks); also an OLDER results file (fewer docs, other values) that the
          importer must not pick.
  run_b/  model org/model-b: the same tasks; arc_easy differs from run_a on known docs
          (see expected.json), gsm8k samples gzip-compressed (.jsonl.gz).
  old/    the 0.4.0-0.4.2 layout: results.json + <model_args>_<task>.jsonl holding a JSON
          array, no "filter"/"metrics" keys, no n-samples.
expected.json: per folder, the metric values mergeval must import, and the arc_easy
discordant pairs between run_a and run_b.
"""
import gzip, hashlib, json, math, os, random, shutil

OUT = "tests/data/lmeval"


def sha(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def mean(xs):
    return sum(xs) / len(xs)


def stderr_mean(xs):
    if len(xs) < 2:
        return "N/A"
    mu = mean(xs)
    return math.sqrt(sum((x - mu) ** 2 for x in xs) / (len(xs) - 1)) / math.sqrt(len(xs))


def sample(doc_id, doc, target, args, resps, filtered, filt, metrics):
    """One samples_*.jsonl record as save_results_samples writes it."""
    arguments = {}
    for i, arg in enumerate(args):
        arguments[f"gen_args_{i}"] = {f"arg_{j}": a for j, a in enumerate(arg)}
    rec = {
        "doc_id": doc_id,
        "doc": doc,
        "target": str(target),
        "arguments": arguments,
        "resps": resps,
        "filtered_resps": filtered,
        "filter": filt,
        "metrics": list(metrics.keys()),
        "doc_hash": sha(json.dumps(doc, indent=2, ensure_ascii=False)),
        "prompt_hash": sha(args[0][0]),
        "target_hash": sha(str(target)),
    }
    rec.update(metrics)
    return rec


# ---------------------------------------------------------------- tasks
def arc_easy(rng, n, correct):
    """Multiple choice: acc from the raw loglikelihoods, acc_norm from length-normalised ones.
    correct[i] decides whether the gold choice wins on the raw score."""
    recs = []
    for i in range(n):
        choices = [f"choice {c} of question {i}" + " word" * rng.randint(0, 3) for c in range(4)]
        gold = rng.randrange(4)
        lls = [round(-rng.uniform(2.0, 9.0), 4) for _ in range(4)]
        best = max(range(4), key=lambda c: lls[c])
        if correct[i] != (best == gold):
            if correct[i]:
                lls[gold], lls[best] = lls[best], lls[gold]
            else:
                lls[gold] = round(min(lls) - 0.5, 4)
        acc = 1.0 if max(range(4), key=lambda c: lls[c]) == gold else 0.0
        norm = [lls[c] / len(" " + choices[c]) for c in range(4)]
        acc_norm = 1.0 if max(range(4), key=lambda c: norm[c]) == gold else 0.0
        q = f"Question: what is item {i}?\nAnswer:"
        doc = {"id": f"Mercury_{7000 + i}", "question": f"what is item {i}?",
               "choices": {"text": choices, "label": ["A", "B", "C", "D"]}, "answerKey": "ABCD"[gold]}
        args = [(q, " " + c) for c in choices]
        resps = [[[str(ll), "False"]] for ll in lls]
        filtered = [[str(ll), "False"] for ll in lls]
        recs.append(sample(i, doc, gold, args, resps, filtered, "none",
                           {"acc": acc, "acc_norm": acc_norm}))
    return recs


def gsm8k(rng, n, p_strict, p_flex):
    """Generation with two filters: each doc is logged once per filter (filter loop outside)."""
    docs = []
    for i in range(n):
        ans = rng.randint(1, 500)
        strict_ok = rng.random() < p_strict
        flex_ok = strict_ok or rng.random() < p_flex
        docs.append((i, ans, strict_ok, flex_ok))
    recs = []
    for filt in ("strict-match", "flexible-extract"):
        for i, ans, strict_ok, flex_ok in docs:
            q = f"Question: Tom has {ans} apples...\nAnswer:"
            text = f"He has {ans if flex_ok else ans + 1} apples." + (f" #### {ans}" if strict_ok else "")
            ok = strict_ok if filt == "strict-match" else flex_ok
            extracted = str(ans) if ok else ("[invalid]" if filt == "strict-match" else str(ans + 1))
            doc = {"question": q, "answer": f"... #### {ans}"}
            args = [(q, {"until": ["Question:", "</s>", "<|im_end|>"], "do_sample": False, "temperature": 0.0})]
            recs.append(sample(i, doc, f"... #### {ans}", args, [[text]], [extracted], filt,
                               {"exact_match": 1.0 if ok else 0.0}))
    return recs


def wikitext(rng, n, scale):
    recs = []
    for i in range(n):
        words = rng.randint(1, 400)
        nbytes = words * rng.randint(4, 7) + rng.randint(0, 9)
        ll = -scale * words * rng.uniform(2.0, 3.5)
        page = " ".join(f"w{i}_{k}" for k in range(min(words, 6)))
        doc = {"page": page}
        recs.append(sample(i, doc, "", [(page,)], [[str(ll)]], [str(ll)], "none",
                           {"word_perplexity": [ll, words], "byte_perplexity": [ll, nbytes],
                            "bits_per_byte": [ll, nbytes]}))
    return recs


def mmlu_sub(rng, n, p):
    recs = []
    for i in range(n):
        gold = rng.randrange(4)
        ok = rng.random() < p
        lls = [round(-rng.uniform(1, 5), 3) for _ in range(4)]
        best = max(range(4), key=lambda c: lls[c])
        if ok and best != gold:
            lls[gold], lls[best] = lls[best], lls[gold]
        if not ok and best == gold:
            lls[gold] = round(min(lls) - 1, 3)
        q = f"The following are multiple choice questions.\n\nQ{i}?\nAnswer:"
        doc = {"question": f"Q{i}?", "choices": ["a", "b", "c", "d"], "answer": gold}
        args = [(q, " " + l) for l in "ABCD"]
        acc = 1.0 if max(range(4), key=lambda c: lls[c]) == gold else 0.0
        recs.append(sample(i, doc, gold, args, [[[str(x), "False"]] for x in lls],
                           [[str(x), "False"] for x in lls], "none", {"acc": acc}))
    return recs


# ---------------------------------------------------------------- aggregation (the harness's)
def aggregate(task, recs):
    """results[task] the way _compute_task_aggregations builds it."""
    out = {"alias": task}
    by = {}
    for r in recs:
        for m in r["metrics"]:
            by.setdefault((m, r["filter"]), []).append(r[m])
    for (m, f), items in by.items():
        if m in ("word_perplexity", "byte_perplexity"):
            v = math.exp(-sum(a for a, _ in items) / sum(b for _, b in items))
            se = "N/A"
        elif m == "bits_per_byte":
            v = -(sum(a for a, _ in items) / sum(b for _, b in items)) / math.log(2)
            se = "N/A"
        else:
            v = mean(items)
            se = stderr_mean(items)
        out[f"{m},{f}"] = v
        out[f"{m}_stderr,{f}"] = se
    return out, len(recs) // len({r["filter"] for r in recs})


HIB = {"arc_easy": {"acc": True, "acc_norm": True}, "gsm8k": {"exact_match": True},
       "wikitext": {"word_perplexity": False, "byte_perplexity": False, "bits_per_byte": False},
       "mmlu_abstract_algebra": {"acc": True}, "mmlu_anatomy": {"acc": True},
       "mmlu_astronomy": {"acc": True}, "mmlu": {"acc": True}}
MMLU_SUBS = ["mmlu_abstract_algebra", "mmlu_anatomy", "mmlu_astronomy"]


def results_doc(model, tasks, date_id):
    results, nsamp, configs, versions, nshot, hib = {}, {}, {}, {}, {}, {}
    for t, recs in tasks.items():
        res, n = aggregate(t, recs)
        res = {"name": t, **res, "sample_len": n}
        results[t] = res
        nsamp[t] = {"original": n + 7, "effective": n}
        configs[t] = {"task": t, "dataset_path": t, "output_type": "multiple_choice",
                      "metric_list": [{"metric": m, "higher_is_better": h} for m, h in HIB[t].items()]}
        versions[t] = 1.0
        nshot[t] = 0
        hib[t] = HIB[t]
    groups = {}
    subs = [s for s in MMLU_SUBS if s in tasks]
    if subs:
        # weight_by_size: the mean over all subtask docs
        allacc = [r["acc"] for s in subs for r in tasks[s]]
        results = {"mmlu": {"acc,none": mean(allacc), "acc_stderr,none": stderr_mean(allacc),
                            "alias": "mmlu"}, **{k: (dict(v, alias=" - " + k) if k in subs else v)
                                                 for k, v in results.items()}}
        groups = {"mmlu": {"acc,none": results["mmlu"]["acc,none"],
                           "acc_stderr,none": results["mmlu"]["acc_stderr,none"], "alias": "mmlu"}}
        hib["mmlu"] = HIB["mmlu"]
        versions["mmlu"] = 2
    doc = {"results": results}
    if groups:
        doc["groups"] = groups
    doc.update({
        "group_subtasks": {"mmlu": subs} if subs else {},
        "configs": dict(sorted(configs.items())),
        "versions": dict(sorted(versions.items())),
        "n-shot": dict(sorted(nshot.items())),
        "higher_is_better": dict(sorted(hib.items())),
        "n-samples": nsamp,
        "config": {"model": "hf", "model_args": f"pretrained={model}", "batch_size": "auto",
                   "device": "cuda:0", "limit": None, "bootstrap_iters": 100000},
        "git_hash": "4e7e0d47f",
        "date": 1764584430.5,
        "transformers_version": "4.46.0",
        "task_hashes": {t: sha("".join(r["doc_hash"] + r["prompt_hash"] + r["target_hash"] for r in recs))
                        for t, recs in tasks.items()},
        "model_source": "hf",
        "model_name": model,
        "model_name_sanitized": model.replace("/", "__"),
        "system_instruction": None,
        "start_time": 1234.5,
        "end_time": 2345.25,
        "total_evaluation_time_seconds": "1110.75",
    })
    return doc


def write_run(folder, model, tasks, date_id, gz=()):
    d = os.path.join(OUT, folder, model.replace("/", "__"))
    os.makedirs(d, exist_ok=True)
    doc = results_doc(model, tasks, date_id)
    with open(os.path.join(d, f"results_{date_id}.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=2, ensure_ascii=False))
    for t, recs in tasks.items():
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
        name = os.path.join(d, f"samples_{t}_{date_id}.jsonl")
        if t in gz:
            with open(name + ".gz", "wb") as raw:
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
                    f.write(text.encode("utf-8"))
        else:
            with open(name, "w", encoding="utf-8") as f:
                f.write(text)
    return doc


def expected_metrics(doc):
    """metric name -> value, in mergeval's naming: <task>.<metric>[.<filter>]."""
    out = {}
    for t, res in doc["results"].items():
        for k, v in res.items():
            if "," not in k or not isinstance(v, (int, float)):
                continue
            m, f = k.split(",", 1)
            if m.endswith("_stderr"):
                continue
            out[f"{t}.{m}" + ("" if f == "none" else f".{f}")] = v
    return out


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    n_arc = 40
    rng = random.Random(20261207)
    corr_a = [rng.random() < 0.6 for _ in range(n_arc)]
    # B: fixes 9 docs A got wrong and breaks 2 A got right (known discordant pairs)
    wrong_a = [i for i in range(n_arc) if not corr_a[i]]
    right_a = [i for i in range(n_arc) if corr_a[i]]
    fixed, broken = wrong_a[:9], right_a[:2]
    corr_b = [(not c) if i in fixed or i in broken else c for i, c in enumerate(corr_a)]

    tasks_a = {"arc_easy": arc_easy(random.Random(1), n_arc, corr_a),
               "gsm8k": gsm8k(random.Random(2), 30, 0.4, 0.3),
               "wikitext": wikitext(random.Random(3), 10, 1.0)}
    tasks_b = {"arc_easy": arc_easy(random.Random(1), n_arc, corr_b),
               "gsm8k": gsm8k(random.Random(12), 30, 0.5, 0.3),
               "wikitext": wikitext(random.Random(3), 10, 0.9)}
    for k, s in enumerate(MMLU_SUBS):
        tasks_a[s] = mmlu_sub(random.Random(100 + k), 8 + 3 * k, 0.5)
        tasks_b[s] = mmlu_sub(random.Random(200 + k), 8 + 3 * k, 0.6)

    # an older evaluation of model A in the same folder: must not be picked by default
    old_date = "2026-11-30T09-15-02.000001"
    write_run("run_a", "org/model-a", {"arc_easy": arc_easy(random.Random(9), 12, [True] * 12)}, old_date)
    doc_a = write_run("run_a", "org/model-a", tasks_a, "2026-12-01T10-20-30.123456")
    doc_b = write_run("run_b", "org/model-b", tasks_b, "2026-12-02T08-00-00.654321", gz=("gsm8k",))

    # 0.4.0-0.4.2 layout
    old_tasks = {"arc_easy": arc_easy(random.Random(5), 10, [i % 3 != 0 for i in range(10)])}
    old_doc = results_doc("org/model-c", old_tasks, "")
    for k in ("n-samples", "model_name", "model_name_sanitized", "task_hashes", "group_subtasks"):
        old_doc.pop(k, None)
    od = os.path.join(OUT, "old")
    os.makedirs(od, exist_ok=True)
    with open(os.path.join(od, "results.json"), "w") as f:
        f.write(json.dumps(old_doc, indent=2))
    recs = [{k: v for k, v in r.items() if k not in ("filter", "metrics", "doc_hash", "prompt_hash", "target_hash")}
            for r in old_tasks["arc_easy"]]
    with open(os.path.join(od, "pretrained__org__model-c_arc_easy.jsonl"), "w") as f:
        f.write(json.dumps(recs, indent=2))

    a_ok = {i for i in range(n_arc) if tasks_a["arc_easy"][i]["acc"] == 1.0}
    b_ok = {i for i in range(n_arc) if tasks_b["arc_easy"][i]["acc"] == 1.0}
    exp = {"run_a": expected_metrics(doc_a), "run_b": expected_metrics(doc_b),
           "old": expected_metrics(old_doc),
           "arc_easy_acc": {"b_better": len(b_ok - a_ok), "b_worse": len(a_ok - b_ok)}}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write(json.dumps(exp, indent=1, sort_keys=True))


main()
