#!/bin/sh
# tests/test_bounded.sh — untrusted input stays bounded end to end through the CLI: FIFOs and
# devices are refused before anything reads them (inspect used to hang on a FIFO), control
# characters in tensor names never reach the terminal raw, a hostile target_modules regex
# fails fast inside a 1 GiB address-space limit (glibc regcomp took GBs), and a huge r in
# adapter_config.json is an error naming the key. No test here depends on machine speed:
# `timeout` only bounds a hang.
set -u
BUILD=${BUILD:-build}
mv="$BUILD/bin/mergeval"
tmp=$(mktemp -d /tmp/mv-bounded-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "test_bounded: FAIL: $*" >&2; }
# expect_rc RC CMD...: run with a generous bound against hangs; stdout/stderr kept
expect_rc() { want=$1; shift; timeout 60 "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "'$*' exited $rc, expected $want: $(head -c 300 "$tmp/err")"; fi; }
expect_err() { grep -q -- "$1" "$tmp/err" && ok || bad "stderr lacks '$1': $(head -c 300 "$tmp/err")"; }

# --- non-regular files
mkfifo "$tmp/fifo"
expect_rc 2 "$mv" inspect "$tmp/fifo"
expect_err "is a FIFO (named pipe)"
expect_rc 2 "$mv" inspect --format safetensors "$tmp/fifo"
expect_err "is a FIFO"
expect_rc 2 "$mv" inspect --format safetensors /dev/zero
expect_err "character device"
expect_rc 2 "$mv" match "$tmp/fifo" tests/data/merge/peft/basic_f32/base
expect_err "is a FIFO"
expect_rc 2 "$mv" merge "$tmp/fifo" --out "$tmp/never"
expect_err "FIFO"
[ ! -e "$tmp/never" ] && ok || bad "merge wrote an output for a FIFO config"

# --- control characters in tensor names (a crafted safetensors header)
/usr/bin/python3 - "$tmp/evil.safetensors" <<'PY'
import json, struct, sys
name = "model.\x1b[2J\x1b[31mred\nforged line\x07.weight"
hdr = json.dumps({name: {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
hdr += b" " * (-len(hdr) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(hdr)) + hdr + b"\0" * 8)
PY
expect_rc 0 "$mv" inspect "$tmp/evil.safetensors"
if LC_ALL=C grep -q "$(printf '\033')" "$tmp/out" || grep -q "^forged line" "$tmp/out"; then
  bad "inspect printed raw control characters"; else ok; fi
grep -q 'model.\\x1b\[2J\\x1b\[31mred\\x0aforged line\\x07.weight' "$tmp/out" && ok \
  || bad "inspect did not show the escaped name: $(cat "$tmp/out")"
expect_rc 0 "$mv" inspect --json "$tmp/evil.safetensors"
LC_ALL=C grep -q "$(printf '\033')" "$tmp/out" && bad "inspect --json printed a raw ESC" || ok

# --- hostile regex and huge integers in adapter_config.json
ad=tests/data/merge/peft/basic_f32/adapter
base=tests/data/merge/peft/basic_f32/base
mkdir -p "$tmp/rx"
cp "$ad/adapter_model.safetensors" "$tmp/rx/"
# the fixture's own config with one field replaced
set_cfg() { /usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c[sys.argv[2]]=json.loads(sys.argv[3]); json.dump(c,open(sys.argv[4],"w"))' \
  "$ad/adapter_config.json" "$1" "$2" "$tmp/rx/adapter_config.json"; }
set_cfg target_modules '"((a{255}){255}){255}"'
( ulimit -v 1048576; exec timeout 60 "$mv" match "$tmp/rx" "$base" ) >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && ok || bad "hostile regex under a 1 GiB limit exited $rc: $(head -c 300 "$tmp/err")"
expect_err "exceeds the compile limits"
set_cfg target_modules '"^(?!.*vpm).*\\.(q_proj|v_proj|down_proj)$"'   # lookahead works
expect_rc 0 "$mv" match "$tmp/rx" "$base"
grep -q "0 not found, 0 shape mismatches, 0 untargeted" "$tmp/out" && ok || bad "lookahead regex: $(tail -1 "$tmp/out")"
set_cfg target_modules '"^(?!.*layers\\.1\\.).*\\.(q_proj|v_proj|down_proj)$"'   # layer 1 excluded
expect_rc 0 "$mv" match "$tmp/rx" "$base"
grep -q "untargeted (ignored)" "$tmp/out" && grep -q "3 untargeted" "$tmp/out" && ok \
  || bad "lookahead exclusion: $(tail -1 "$tmp/out")"
expect_err "3 of 6 LoRA module(s) in the weights file are not selected"
# an adapter (no modules_to_save) whose config selects none of its own LoRA pairs
mkdir -p "$tmp/none"
cp tests/data/merge/peft/basic_bf16/adapter2/adapter_model.safetensors "$tmp/none/"
/usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["target_modules"]="vpm\\..*"; json.dump(c,open(sys.argv[2],"w"))' \
  tests/data/merge/peft/basic_bf16/adapter2/adapter_config.json "$tmp/none/adapter_config.json"
expect_rc 2 "$mv" match "$tmp/none" tests/data/merge/peft/basic_bf16/base
expect_err "select none of its 4 LoRA modules"
expect_rc 2 "$mv" merge --base tests/data/merge/peft/basic_bf16/base --adapter "$tmp/none" --out "$tmp/none-out"
expect_err "select none of its 4 LoRA modules"
[ ! -e "$tmp/none-out" ] && ok || bad "merge wrote an output although nothing was targeted"
set_cfg r 1e10
expect_rc 2 "$mv" match "$tmp/rx" "$base"
expect_err 'adapter_config.json: "r": expected an integer from 1 to 1000000, got 10000000000'

echo "test_bounded: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
