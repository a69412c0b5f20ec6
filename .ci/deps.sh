#!/bin/sh
# Install the Debian packages named as arguments if any is missing: with apt-get when run
# as root, otherwise print the exact command and fail. Used by `make deps*`, so a fresh
# Debian 12 machine needs nothing installed by hand.
missing=""
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
echo "mergeval: missing Debian packages:$missing" >&2
if [ "$(id -u)" = "0" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || { echo "mergeval: apt-get update failed" >&2; exit 1; }
  apt-get install -y -qq --no-install-recommends $missing >&2 || {
    echo "mergeval: apt-get install failed for:$missing" >&2; exit 1; }
else
  echo "mergeval: run this, then retry:  sudo apt-get install -y$missing" >&2
  exit 1
fi
