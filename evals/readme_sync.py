#!/usr/bin/python3
"""evals/readme_sync.py — README.md's demo table and pipeline file are generated, not typed:

  readme_sync.py --write RUN_DIR      rewrite both blocks from RUN_DIR/summary.json (a `make demo`
                                      run) and evals/pipelines/seed-scenario.json
  readme_sync.py --write-pipeline     rewrite only the pipeline block
  readme_sync.py --check-pipeline     exit 1 if README's pipeline block is not the shipped file
  readme_sync.py --check-table RUN    exit 1 if README's demo table is not what RUN printed
  readme_sync.py --write-time DEMO    rewrite the demo-time line from DEMO/demo_time.json (written
                                      by evals/demo.sh; not checked: every run's time differs)
  readme_sync.py --write-bench HIST   rewrite the bench table from the bench history
                                      (tests/bench/history.jsonl format): the latest row of
                                      each benchmark
  readme_sync.py --check-bench HIST   exit 1 if README's bench table is not what HIST holds

Blocks sit between <!-- BEGIN name --> and <!-- END name --> markers. Standard library only.
"""
import json, re, sys

README = "README.md"
PIPELINE = "evals/pipelines/seed-scenario.json"
ROWS = ["alignment.i2t_r1", "alignment.t2i_r1", "alignment.caption_nll_per_token", "general.perplexity",
        "clinical.perplexity"]
MARK = {"regressed": " 🔻", "improved": " 🟢"}


def fmt(v):
    if v is None:
        return "–"
    a = abs(v)
    return "%.1f" % v if a >= 10 else "%.3f" % v if a >= 0.1 else "%.4f" % v


def table(run):
    s = json.load(open(run + "/summary.json"))
    labels = [p["label"] for p in s["points"]]
    gates = {}
    for g in s.get("gates", []):
        for c in g.get("checks", []):
            if c.get("point") == labels[-1] and c.get("ref_point") == labels[0]:
                gates[g["metric"]] = (c.get("decision"), c.get("margin"), g.get("status"))
    head = "| metric | " + " | ".join(labels) + " | final vs baseline |"
    out = [head, "|---|" + "---:|" * len(labels) + "---|"]
    by = {m["name"]: m for m in s["metrics"]}
    for name in ROWS:
        m = by.get(name)
        if not m:
            continue
        cells = []
        for i, v in enumerate(m["values"]):
            c = m["vs_baseline"][i] if i < len(m["vs_baseline"]) else None
            cells.append(fmt(v) + (MARK.get((c or {}).get("verdict"), "")))
        last = m["vs_baseline"][-1] or {}
        if name in gates and gates[name][0] == "non-inferior":
            final = "non-inferior (gate margin %.3g)" % gates[name][1]
        else:
            final = last.get("verdict", "")
            if final == "no significant change" and last.get("ci95"):
                final += " (CI [%+.3g, %+.3g])" % tuple(last["ci95"])
        out.append("| %s (%s is better) | %s | %s |" % (name, m["direction"], " | ".join(cells), final))
    passed, failed = s.get("gates_passed", 0), s.get("gates_failed", 0)
    inc = s.get("gates_inconclusive", 0)
    out.append("")
    out.append("Gates: %d passed, %d failed, %d inconclusive; exit code %d. Test set: %d paired "
               "image-text items." % (passed, failed, inc, s.get("exit_code", -1),
                                      (by["alignment.i2t_r1"]["vs_baseline"][-1] or {}).get("n_paired", 0)))
    return "\n".join(out)


def demo_time(demo):
    t = json.load(open(demo + "/demo_time.json"))
    how = ("fresh: data, four trainings and the pipeline" if t["fresh"] else
           "with cached steps: " + ", ".join(t["cached"]))
    return ("`make demo` took **%.0f s** wall (%s) on %s, %d cores, load average %.2f at the "
            "start and %.2f at the end, commit %s." % (t["seconds"], how, t["cpu"], t["cores"],
                                                       t["load_start"], t["load_end"], t["commit"]))


def num(v, unit=""):
    if not isinstance(v, (int, float)):
        return "–"
    a = abs(v)
    s = "%.0f" % v if a >= 100 else "%.1f" % v if a >= 10 else "%.2f" % v if a >= 1 else "%.3g" % v
    return s + (" " + unit if unit else "")


def bench_table(hist):
    rows = [json.loads(l) for l in open(hist) if l.strip()]
    latest = {}
    for r in rows:            # file order is time order: the last row of each name wins
        latest[(r["bench"], r["row"])] = r
    if not latest:
        sys.exit("readme_sync: %s has no benchmark rows" % hist)
    out = ["| benchmark | mergeval | peer | mergeval vs peer | physical bound (same run) | "
           "host, OpenBLAS core, load, date |", "|---|---:|---:|---:|---|---|"]
    for (bench, name), r in sorted(latest.items()):
        unit = r.get("unit", "")
        mv = num(r.get("mv"), unit) + (", %s MB RSS" % num(r["mv_rss_mb"]) if "mv_rss_mb" in r else "")
        peer = "–"
        if isinstance(r.get("peer"), (int, float)):
            peer = "%s %s" % (r.get("peer_name", "peer"), num(r["peer"], unit)) + \
                   (", %s MB RSS" % num(r["peer_rss_mb"]) if "peer_rss_mb" in r else "")
        ratio = "**%.2f×**" % r["ratio"] if isinstance(r.get("ratio"), (int, float)) else "–"
        bound = "–"
        if isinstance(r.get("bound"), (int, float)) and isinstance(r.get("mv"), (int, float)):
            rel = ("mergeval/bound %.2f×" if r.get("better", "lower") == "lower"
                   else "mergeval at %.2f× the bound's rate") % (r["mv"] / r["bound"])
            bound = "%s (%s): %s%s" % (num(r["bound"], unit), r.get("bound_what", ""), rel,
                                        " (goal ≤ %s×)" % r["bound_goal"] if "bound_goal" in r else "")
        host = "%s ×%s, %s/%s, load %s→%s, %s" % (
            r.get("cpu", "?"), r.get("cores", "?"), r.get("blas_mv", "?"), r.get("blas_peer", "?"),
            r.get("load_start", "?"), r.get("load_end", "?"), r.get("date", "?")[:10])
        out.append("| %s/%s | %s | %s | %s | %s | %s |" % (bench, name, mv, peer, ratio, bound, host))
    return "\n".join(out)


def pipeline():
    return "```json\n" + open(PIPELINE).read().rstrip("\n") + "\n```"


def block(text, name):
    m = re.search(r"<!-- BEGIN %s -->\n(.*?)<!-- END %s -->" % (name, name), text, re.S)
    if not m:
        sys.exit("readme_sync: README.md has no <!-- BEGIN %s --> block" % name)
    return m


def put(text, name, body):
    m = block(text, name)
    return text[:m.start(1)] + body + "\n" + text[m.end(1):]


def check(name, want):
    got = block(open(README).read(), name).group(1).rstrip("\n")
    if got != want:
        sys.stderr.write("readme_sync: README.md's %s block differs from what the code produced:\n"
                         "--- README\n%s\n--- produced\n%s\nrun `python3 evals/readme_sync.py "
                         "--write build/demo/run` after `make demo`\n" % (name, got, want))
        sys.exit(1)
    print("readme_sync: README %s block matches" % name)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        t = open(README).read()
        t = put(put(t, "demo-table", table(sys.argv[2])), "seed-scenario.json", pipeline())
        open(README, "w").write(t)
    elif len(sys.argv) == 3 and sys.argv[1] == "--write-time":
        t = open(README).read()
        open(README, "w").write(put(t, "demo-time", demo_time(sys.argv[2])))
    elif len(sys.argv) == 3 and sys.argv[1] == "--write-bench":
        t = open(README).read()
        open(README, "w").write(put(t, "bench-table", bench_table(sys.argv[2])))
    elif len(sys.argv) == 3 and sys.argv[1] == "--check-bench":
        check("bench-table", bench_table(sys.argv[2]))
    elif sys.argv[1:] == ["--write-pipeline"]:
        t = open(README).read()
        open(README, "w").write(put(t, "seed-scenario.json", pipeline()))
    elif sys.argv[1:] == ["--check-pipeline"]:
        check("seed-scenario.json", pipeline())
    elif len(sys.argv) == 3 and sys.argv[1] == "--check-table":
        check("demo-table", table(sys.argv[2]))
    else:
        sys.exit(__doc__)
