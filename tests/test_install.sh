#!/bin/sh
# tests/test_install.sh — `make install DESTDIR=...`, then build the plugin author guide's
# example (docs/examples/textlen.c) against the INSTALLED headers with pkg-config exactly as
# the guide says, validate it with `plugin check`, and load it with --plugin-path.
set -eu
BUILD=${BUILD:-build}
top=$(pwd)
dest=$(mktemp -d /tmp/mv-install-XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail() { echo "test_install: FAIL: $*" >&2; exit 1; }

make --no-print-directory -s BUILD="$BUILD" install DESTDIR="$dest" PREFIX=/usr/local >/dev/null \
  || fail "make install failed"
for f in usr/local/bin/mergeval usr/local/lib/libmergeval.so usr/local/lib/libmergeval.so.0 \
         usr/local/include/mergeval/mergeval.h usr/local/include/mergeval/plugin.h \
         usr/local/lib/pkgconfig/mergeval.pc; do
  [ -e "$dest/$f" ] || fail "missing installed file $f"
done
ls "$dest"/usr/local/lib/mergeval/plugins/*.so >/dev/null 2>&1 || fail "no plugins installed"
export PKG_CONFIG_PATH="$dest/usr/local/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
# (pkg-config prefixes variables with the sysroot too.)
case "$(pkg-config --variable=plugindir mergeval)" in
  "$dest/usr/local/lib/mergeval/plugins"|/usr/local/lib/mergeval/plugins) ;;
  *) fail "plugindir variable wrong: $(pkg-config --variable=plugindir mergeval)" ;;
esac

work="$dest/plugin"
mkdir -p "$work"
cp docs/examples/textlen.c "$work/"
cd "$work"
# The command from the guide (plus -Werror: the example must be warning-free).
cc -shared -fPIC -fvisibility=hidden -Wl,-z,defs -Wall -Wextra -Werror -o textlen.so textlen.c \
   $(pkg-config --cflags --libs mergeval) || fail "example plugin does not build against installed headers"
# Nothing from the source tree may leak in: the include path must be the installed one.
pkg-config --cflags mergeval | grep -q "$dest/usr/local/include" || fail "cflags do not point at the installed headers"

mv="$dest/usr/local/bin/mergeval"
"$mv" plugin check ./textlen.so > check.out 2>&1 || { cat check.out; fail "plugin check rejected the example"; }
grep -q "ok  evaluator textlen" check.out || { cat check.out; fail "plugin check did not list textlen"; }
"$mv" --plugin-path "$work" plugins --json > plugins.json 2>plugins.err || fail "plugins --json failed"
grep -q '"name":[[:space:]]*"textlen"' plugins.json || { cat plugins.json plugins.err; fail "textlen not loaded via --plugin-path"; }
MERGEVAL_PLUGIN_PATH="$work" "$mv" plugins > plugins.txt 2>/dev/null
grep -q '^textlen' plugins.txt || fail "textlen not loaded via MERGEVAL_PLUGIN_PATH"
# The installed binary found its built-in plugins without any environment variable.
grep -q '"name":[[:space:]]*"safetensors"' plugins.json || fail "installed binary did not find its built-in plugins"

# Run it for real when the eval command and a text loader are available in this build.
printf '{"id":"a","text":"hello"}\n{"id":"b","text":"hi"}\n' > data.jsonl
if "$mv" --plugin-path "$work" eval none --evaluator textlen --dataset data.jsonl --loader text --out out >eval.log 2>&1; then
  grep -q '"mean_bytes"' out/metrics.json || fail "textlen metrics.json lacks mean_bytes"
  grep -q '3.5' out/metrics.json || { cat out/metrics.json; fail "textlen mean_bytes should be 3.5"; }
else
  cat eval.log; fail "mergeval eval with the example plugin failed"
fi
echo "test_install: 1 passed, 0 failed"
