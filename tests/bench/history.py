#!/usr/bin/python3
"""tests/bench/history.py — the bench results file: `append` prints one benchmark row in the
common format and appends it as one JSON line to the history (build/bench/history.jsonl);
`view` prints, for each row of a run, that run against the previous and the best earlier run
on the same host and flags slowdowns. Timing itself is done by the shell (tests/bench/lib.sh).

  history.py append HISTORY key=value...   (fields: see ROW_FIELDS; numbers stay numbers)
  history.py view HISTORY [--run ID] [--threshold 0.10]
"""
import datetime
import json
import os
import subprocess
import sys

# What a row may carry (anything else is refused, so a typo in a bench script fails loudly).
ROW_FIELDS = {
    "bench": "script short name (merge, model, ...)",
    "row": "row name, unique within the bench",
    "unit": "unit of mv/peer/bound: s, steps/s, pairs/s, ...",
    "better": "lower (times) or higher (rates)",
    "mv": "mergeval's measure", "peer": "the peer's measure (same unit)",
    "peer_name": "who the peer is", "bound": "physical bound, same unit as mv",
    "bound_what": "what the bound measured", "bound_goal": "goal for mergeval/bound (x)",
    "mv_rss_mb": "mergeval peak RSS", "peer_rss_mb": "peer peak RSS",
    "rss_goal_mb": "RSS goal", "load_start": "1-min load at the row's start",
    "load_end": "1-min load at the row's end", "blas_mv": "OpenBLAS core mergeval used",
    "blas_peer": "OpenBLAS core the peer used", "note": "free text",
}
# Filled from the environment lib.sh exports (the host line), not per row.
ENV_FIELDS = {"run": "BENCH_RUN", "host": "BENCH_HOSTNAME", "cpu": "BENCH_CPU",
              "cores": "BENCH_CORES", "blas_mv": "BENCH_BLAS_MV", "blas_peer": "BENCH_BLAS_PEER",
              "openblas_coretype_env": "BENCH_CORETYPE_ENV"}


def number(text):
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text else value


def git_state():
    """(short commit, dirty?) of the checkout we run in; ("unknown", None) outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"]).returncode != 0
        return commit, dirty
    except (OSError, subprocess.CalledProcessError):
        return "unknown", None


def advantage(row):
    """mergeval's advantage over the peer (x, > 1 = mergeval better), or None."""
    mv, peer = row.get("mv"), row.get("peer")
    if not isinstance(mv, (int, float)) or not isinstance(peer, (int, float)) or mv <= 0 or peer <= 0:
        return None
    return peer / mv if row.get("better", "lower") == "lower" else mv / peer


def to_bound(row):
    """how far mergeval is from the physical bound (x, >= 1; 1 = at the bound), or None."""
    mv, bound = row.get("mv"), row.get("bound")
    if not isinstance(mv, (int, float)) or not isinstance(bound, (int, float)) or mv <= 0 or bound <= 0:
        return None
    return mv / bound if row.get("better", "lower") == "lower" else bound / mv


def fmt(value, unit=""):
    if not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return "%d%s" % (value, (" " + unit) if unit else "")
    digits = 2 if abs(value) < 100 else 1 if abs(value) < 1000 else 0
    return "%.*f%s" % (digits, value, (" " + unit) if unit else "")


def row_line(row):
    """The one-line form of a row every bench script prints."""
    unit = row.get("unit", "")
    lower = row.get("better", "lower") == "lower"
    parts = ["mergeval %s" % fmt(row["mv"], unit)]
    if "mv_rss_mb" in row:
        parts[-1] += ", %.0f MB RSS" % row["mv_rss_mb"]
        if "rss_goal_mb" in row:
            parts[-1] += " (goal <= %g MB: %s)" % (row["rss_goal_mb"], "met" if row["mv_rss_mb"] <= row["rss_goal_mb"] else "NOT met")
    if "peer" in row:
        parts.append("%s %s" % (row.get("peer_name", "peer"), fmt(row["peer"], unit))
                     + (", %.0f MB RSS" % row["peer_rss_mb"] if "peer_rss_mb" in row else ""))
    adv = advantage(row)
    if adv is not None:
        parts.append("ratio %.2fx" % adv)
    dist = to_bound(row)
    if dist is not None:
        goal = row.get("bound_goal")
        parts.append("bound %s (%s): %s %.2fx%s" % (
            fmt(row["bound"], unit), row.get("bound_what", "?"),
            "mergeval/bound" if lower else "bound/mergeval", dist,
            "" if goal is None else " (goal <= %gx: %s)" % (goal, "met" if dist <= goal else "NOT met")))
    else:
        parts.append("bound: none measured")
    if "load_start" in row:
        parts.append("load %s -> %s" % (row["load_start"], row.get("load_end", "?")))
    return "ROW %s/%s | %s" % (row["bench"], row["row"], " | ".join(parts))


def append(path, pairs):
    row = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in ROW_FIELDS:
            sys.exit("history.py: bad field '%s' (known: %s)" % (pair, ", ".join(ROW_FIELDS)))
        if value != "":
            row[key] = number(value)
    for key in ("bench", "row", "mv"):
        if key not in row:
            sys.exit("history.py: a row needs %s=" % key)
    record = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    record["commit"], record["dirty"] = git_state()
    for key, var in ENV_FIELDS.items():
        if os.environ.get(var, "") != "":
            record[key] = number(os.environ[var])
    record.update(row)
    adv, dist = advantage(record), to_bound(record)
    if adv is not None:
        record["ratio"] = round(adv, 4)
    if dist is not None:
        record["bound_ratio"] = round(dist, 4)
    print(row_line(record))
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


def slower(row, ref):
    """fraction by which row is slower than ref (negative = faster)."""
    if row.get("better", "lower") == "lower":
        return row["mv"] / ref["mv"] - 1
    return ref["mv"] / row["mv"] - 1


def view(path, run, threshold):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    print("history.py: %s:%d is not JSON, skipped" % (path, n))
    rows = [r for r in rows if isinstance(r.get("mv"), (int, float)) and r["mv"] > 0]
    if not rows:
        print("regression view: no rows in %s yet" % path)
        return 0
    run = run or rows[-1].get("run")
    current = [r for r in rows if r.get("run") == run]
    print("regression view (%s): run %s vs earlier runs on the same host; (+N%% = slower), slower by > %.0f%% is flagged"
          % (path, run, threshold * 100))
    print("%-28s %16s %20s %20s" % ("row", "this run", "previous", "best"))
    flagged = 0
    for row in current:
        same = [r for r in rows if r.get("run") != run and r.get("host") == row.get("host")
                and r.get("cpu") == row.get("cpu") and r.get("bench") == row.get("bench")
                and r.get("row") == row.get("row") and r.get("date", "") <= row.get("date", "")]
        cells = []
        flags = []
        if same:
            prev = same[-1]
            pick = min if row.get("better", "lower") == "lower" else max
            best = pick(same, key=lambda r: r["mv"])
            for name, ref in (("previous", prev), ("best", best)):
                s = slower(row, ref)
                cells.append("%s (%+.1f%%)" % (fmt(ref["mv"]), 100 * s))
                if s > threshold:
                    flags.append("%.0f%% slower than %s (%s, %s)" % (100 * s, name, ref.get("date", "?"), ref.get("commit", "?")))
        else:
            cells = ["-", "-"]
        label = "%s/%s" % (row["bench"], row["row"])
        print("%-28s %16s %20s %20s%s" % (label, fmt(row["mv"], row.get("unit", "")), cells[0], cells[1],
                                          ("  SLOWER: " + "; ".join(flags)) if flags else ""))
        flagged += bool(flags)
    print("%d of %d rows slower by more than %.0f%%" % (flagged, len(current), threshold * 100))
    return flagged


def main(argv):
    if len(argv) >= 2 and argv[0] == "append":
        append(argv[1], argv[2:])
        return 0
    if len(argv) >= 2 and argv[0] == "view":
        run, threshold, rest = None, 0.10, argv[2:]
        while rest:
            if rest[0] == "--run" and len(rest) > 1:
                run, rest = rest[1], rest[2:]
            elif rest[0] == "--threshold" and len(rest) > 1:
                threshold, rest = float(rest[1]), rest[2:]
            else:
                sys.exit("history.py: unknown view option %s" % rest[0])
        if not os.path.exists(argv[1]):
            print("regression view: no history at %s yet" % argv[1])
            return 0
        view(argv[1], run, threshold)
        return 0  # slowdowns are reported, never a failure: benchmarks are not timed tests
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
