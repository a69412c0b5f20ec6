#!/usr/bin/python3
"""Golden for mv_regex (tests/test_regex.c): Python's own re.fullmatch over patterns x names,
as PEFT applies target_modules / exclude_modules. Written ONCE and committed
(tests/data/regex/fullmatch.json); the C side must agree on every pair.
Run: /usr/bin/python3 tests/golden/make_regex_golden.py
"""
import json
import os
import re

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "regex")

PATTERNS = [
    r"^(?!.*vpm).*\.(q_proj|v_proj)$",                         # exclude the vision tower
    r"llm\..*layers\.\d+\.self_attn\.(q_proj|k_proj|v_proj)",  # the sft default
    r".*\.(q_proj|v_proj)",
    r"q_proj",
    r".*(?<!vpm)\.layers\.\d+\.mlp\.(up|down)_proj",           # lookbehind
    r"model\.layers\.[0-3]\.self_attn\..*?",                  # lazy quantifier
    r"(?P<part>llm|vpm)\..*(?P=part)?.*_proj",                # named group + back-reference
    r"(?i)LLM\..*Q_PROJ",                                     # inline flag
    r".*",
    r".+proj\Z",                                              # Python \Z: end of string only
    r".*proj$",                                               # $ also before a final newline
    r"\w+\.\d+",
    r"[^.]+\.[^.]+",
    r"a{2,3}",
    r"x{,2}y",                                                # Python 3.x: {,n} is a quantifier?
    r"(?:llm|resampler)\.(?:kv|attn)_proj",
    r"\s*q",
    r"(a|ab)(c|bcd)(d*)",
    r"[\d_]+",
    r"vpm\.encoder\.layers\.(1[0-9]|2[0-6])\..*",
]
NAMES = [
    "llm.model.layers.0.self_attn.q_proj",
    "llm.model.layers.12.self_attn.v_proj",
    "vpm.encoder.layers.3.self_attn.q_proj",
    "vpm.encoder.layers.26.mlp.fc1",
    "vpm.encoder.layers.9.mlp.fc1",
    "model.layers.2.self_attn.o_proj",
    "model.layers.7.self_attn.q_proj",
    "llm.model.layers.3.mlp.up_proj",
    "vpm.layers.3.mlp.down_proj",
    "resampler.kv_proj",
    "q_proj",
    "q_proj\n",
    "layer\n.q_proj",
    "abcd",
    "aa",
    "aaaa",
    "y",
    "xxy",
    "xxxy",
    "x{,2}y",
    "  q",
    "1_2",
    "a.b",
    "a.b.c",
    "foo.12",
    "",
    "llm.model.layers.٣.self_attn.q_proj",   # Arabic-Indic digit: \d is Unicode in Python
]


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for p in PATTERNS:
        rx = re.compile(p)
        cases.append({"pattern": p, "matches": [bool(rx.fullmatch(n)) for n in NAMES]})
    with open(os.path.join(OUT, "fullmatch.json"), "w") as f:
        json.dump({"names": NAMES, "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
