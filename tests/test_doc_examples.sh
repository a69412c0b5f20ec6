#!/bin/sh
# tests/test_doc_examples.sh — the code people copy must work: every ```c block in README.md
# and docs/*.md and the "Minimal plugin" in include/mergeval/plugin.h is compiled as a plugin
# against the in-tree public headers (with -Werror); every ```json block must parse, and
# every line of a ```jsonl block. A block
# that is deliberately partial is fenced ```c fragment (syntax-checked inside a function) or
# ```json fragment (object members, parsed inside braces).
set -u
BUILD=${BUILD:-build}
top=$(pwd)
tmp=$(mktemp -d /tmp/mv-docex-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
ok() { passed=$((passed + 1)); }
bad() { echo "test_doc_examples: FAIL: $*" >&2; failed=$((failed + 1)); }

# Extract blocks: one file per block, named after its source and line.
/usr/bin/python3 - "$tmp" README.md docs/*.md <<'PY'
import os, re, sys
out = sys.argv[1]
for path in sys.argv[2:]:
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w+)?\s*(\w+)?\s*$", lines[i])
        if m and m.group(1):
            lang, tag, start = m.group(1), m.group(2) or "", i + 1
            j = start
            while j < len(lines) and not lines[j].startswith("```"): j += 1
            ext = {"c": "c", "json": "json", "jsonl": "jsonl"}.get(lang)
            if ext:
                name = "%s_%d.%s%s" % (path.replace("/", "_"), start, "frag." if tag == "fragment" else "", ext)
                open(os.path.join(out, name), "w").write("\n".join(lines[start:j]) + "\n")
            i = j
        i += 1
# The header's minimal plugin: the indented comment block after "Minimal plugin".
h = open("include/mergeval/plugin.h").read().split("\n")
k = next(i for i, l in enumerate(h) if "Minimal plugin" in l)
code = []
for l in h[k + 2:]:
    if not l.startswith(" *     "): break
    code.append(l[len(" *     "):])
open(os.path.join(out, "plugin.h_minimal.c"), "w").write("\n".join(code) + "\n")
PY

cc_plugin() { cc -std=c11 -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror -Wl,-z,defs \
  -I"$top/include" -o "$1.so" "$1" -L"$top/$BUILD/lib" -lmergeval -lm 2>"$1.err"; }
for f in "$tmp"/*.c; do
  [ -e "$f" ] || continue
  case "$f" in
    *.frag.c) { echo '#include <mergeval/mergeval.h>'; echo 'void frag(void); void frag(void) {'; cat "$f"; echo '}'; } > "$f.wrapped.c"
              if cc -std=c11 -fsyntax-only -Wall -I"$top/include" "$f.wrapped.c" 2>"$f.err"; then ok; else bad "$(basename "$f"): $(head -3 "$f.err")"; fi ;;
    *)        if cc_plugin "$f"; then ok; else bad "$(basename "$f") does not compile: $(head -5 "$f.err")"; fi ;;
  esac
done
# The header example must load as a plugin, not just compile.
if "$BUILD/bin/mergeval" plugin check "$tmp/plugin.h_minimal.c.so" >"$tmp/pc.out" 2>&1; then ok
else bad "plugin.h minimal plugin fails plugin check: $(cat "$tmp/pc.out")"; fi
for f in "$tmp"/*.json; do
  [ -e "$f" ] || continue
  # A ```json fragment block is object members ("train": {...}): parsed inside braces.
  if /usr/bin/python3 -c 'import json,sys; t=open(sys.argv[1]).read(); json.loads("{%s}" % t if ".frag." in sys.argv[1] else t)' "$f" 2>"$f.err"; then ok
  else bad "$(basename "$f") is not valid JSON: $(tail -1 "$f.err")"; fi
done
for f in "$tmp"/*.jsonl; do
  [ -e "$f" ] || continue
  if /usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' "$f" 2>"$f.err"; then ok
  else bad "$(basename "$f") has a line that is not valid JSON: $(tail -1 "$f.err")"; fi
done
echo "test_doc_examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
