#!/bin/sh
# tests/test_install.sh — `make install DESTDIR=...`, then build the plugin author guide's
# example (docs/examples/textlen.c) against the INSTALLED headers with pkg-config exactly as
# the guide says, validate it with `plugin check`, and load it with --plugin-path.
set -eu
BUILD=${BUILD:-build}
top=$(pwd)
tmp=$(mktemp -d /tmp/mv-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_install: FAIL: $*" >&2; exit 1; }
checks=0

# install_and_use PREFIX DESTDIR: install, then build, check, load and run the example
# plugin against exactly what was installed. DESTDIR may be empty (a real install into a
# non-default prefix, the common `make install PREFIX=$HOME/.local` case).
install_and_use() {
prefix=$1 dest=$2 root=$2$1
make --no-print-directory -s BUILD="$BUILD" install DESTDIR="$dest" PREFIX="$prefix" >/dev/null \
  || fail "make install PREFIX=$prefix DESTDIR=$dest failed"
for f in bin/mergeval lib/libmergeval.so lib/libmergeval.so.0 \
         include/mergeval/mergeval.h include/mergeval/plugin.h lib/pkgconfig/mergeval.pc; do
  [ -e "$root/$f" ] || fail "missing installed file $root/$f"
done
ls "$root"/lib/mergeval/plugins/*.so >/dev/null 2>&1 || fail "no plugins installed under $root"
# The .pc must describe this prefix even though an earlier build made one for another.
grep -qx "prefix=$prefix" "$root/lib/pkgconfig/mergeval.pc" \
  || fail "installed mergeval.pc is for another prefix: $(head -1 "$root/lib/pkgconfig/mergeval.pc")"
export PKG_CONFIG_PATH="$root/lib/pkgconfig"
if [ -n "$dest" ]; then export PKG_CONFIG_SYSROOT_DIR="$dest"; else unset PKG_CONFIG_SYSROOT_DIR; fi
# (pkg-config prefixes variables with the sysroot too.)
case "$(pkg-config --variable=plugindir mergeval)" in
  "$root/lib/mergeval/plugins"|"$prefix/lib/mergeval/plugins") ;;
  *) fail "plugindir variable wrong: $(pkg-config --variable=plugindir mergeval)" ;;
esac

work="$tmp/plugin-$(echo "$prefix$dest" | tr / _)"
mkdir -p "$work"
cp "$top/docs/examples/textlen.c" "$work/"
cd "$work"
# The command from the guide (plus -Werror: the example must be warning-free).
cc -shared -fPIC -fvisibility=hidden -Wl,-z,defs -Wall -Wextra -Werror -o textlen.so textlen.c \
   $(pkg-config --cflags --libs mergeval) || fail "example plugin does not build against installed headers"
# Nothing from the source tree may leak in: the include path must be the installed one.
pkg-config --cflags mergeval | grep -q "$root/include" || fail "cflags do not point at the installed headers"

mv="$root/bin/mergeval"
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
cd "$top"
checks=$((checks + 1))
}

install_and_use /usr/local "$tmp/destdir"
install_and_use /opt/mergeval-test "$tmp/destdir2"
# A real install (no DESTDIR) into a prefix that is not the one the build started with.
install_and_use "$tmp/prefix" ""
echo "test_install: $checks passed, 0 failed"
