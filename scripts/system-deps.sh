#!/usr/bin/env bash
# Installs the Debian packages Polyeval uses beyond Node and npm, if any is missing (idempotent):
#   bubblewrap, python3-seccomp  the Python sandbox's OS layer (namespaces, uid, seccomp filter);
#                                without them Python still runs, with a start-up warning
#   chromium                     the playground's browser tests (--test)
#   gcc, libc6-dev               the OS-layer tests build a static native hostile entry (--test)
# Usage: bash scripts/system-deps.sh [--test]. Needs root or sudo and Debian's apt; prints what it
# installs, and exits non-zero when a package is missing and cannot be installed.
set -uo pipefail

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
/usr/bin/python3 -c 'import seccomp' >/dev/null 2>&1 || missing+=(python3-seccomp)
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v gcc >/dev/null 2>&1 || missing+=(gcc)
  [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || missing+=(libc6-dev)
fi
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "system-deps: not root and no sudo: install ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: no apt-get here: install ${missing[*]} with this system's package manager" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
  { echo "system-deps: apt-get install ${missing[*]} failed" >&2; exit 1; }
