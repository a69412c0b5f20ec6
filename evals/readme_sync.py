#!/usr/bin/python3
"""evals/readme_sync.py — README.md's demo table and pipeline file are generated, not typed:

  readme_sync.py --write RUN_DIR      rewrite both blocks from RUN_DIR/summary.json (a `make demo`
                                      run) and evals/pipelines/seed-scenario.json
  readme_sync.py --write-pipeline     rewrite only the pipeline block
  readme_sync.py --check-pipeline     exit 1 if README's pipeline block is not the shipped file
  readme_sync.py --check-table RUN    exit 1 if README's demo table is not what RUN printed

Blocks sit between <!-- BEGIN name --> and <!-- END name --> markers. Standard library only.
"""
import json, re, sys

README = "README.md"
PIPELINE = "evals/pipelines/seed-scenario.json"
ROWS = ["alignment.i2t_r1", "alignment.t2i_r1", "caption.nll_per_token", "general.perplexity",
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
    elif sys.argv[1:] == ["--write-pipeline"]:
        t = open(README).read()
        open(README, "w").write(put(t, "seed-scenario.json", pipeline()))
    elif sys.argv[1:] == ["--check-pipeline"]:
        check("seed-scenario.json", pipeline())
    elif len(sys.argv) == 3 and sys.argv[1] == "--check-table":
        check("demo-table", table(sys.argv[2]))
    else:
        sys.exit(__doc__)
