#!/usr/bin/env bash
# Installs the given Debian packages when any is missing; does nothing (fast) otherwise.
#
#   bash scripts/ensure-packages.sh PKG...
#
# Checks each package with dpkg-query. Only when something is missing does it run
# `apt-get update` (once) and `apt-get install -y --no-install-recommends` for the missing
# ones, as root. Not root: prints the exact command to run and exits 1.
# apt's own output goes to a log that is printed only when apt fails.
set -euo pipefail

say() { printf '[packages] %s\n' "$*"; }

if [[ $# -eq 0 ]]; then
  say "usage: $0 PKG..." >&2
  exit 2
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  say "dpkg-query not found: this script expects Debian 12 (or another apt-based system)." >&2
  say "install these packages with your system's package manager: $*" >&2
  exit 1
fi

missing=()
for pkg in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  say "all $# required packages are installed"
  exit 0
fi

say "missing: ${missing[*]}"

if [[ $(id -u) -ne 0 ]]; then
  say "not root, so not installing them. Run this command, then run the script again:" >&2
  printf '    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends %s\n' "${missing[*]}" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "apt-get not found; install these packages by hand: ${missing[*]}" >&2
  exit 1
fi

log=$(mktemp "${TMPDIR:-/tmp}/locus-apt.XXXXXX.log")
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)

say "apt-get update"
if ! apt-get -q -o DPkg::Lock::Timeout=300 update >"$log" 2>&1; then
  cat "$log" >&2
  say "FAILED: apt-get update (output above)" >&2
  exit 1
fi
say "apt-get install ${missing[*]} (this can take a few minutes)"
if ! apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  say "FAILED: apt-get install ${missing[*]} (output above)" >&2
  exit 1
fi

# Double-check: a package apt silently skipped would fail much later in a confusing way.
still=()
for pkg in "${missing[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || still+=("$pkg")
done
if [[ ${#still[@]} -gt 0 ]]; then
  say "FAILED: still not installed after apt-get: ${still[*]}" >&2
  exit 1
fi
say "installed: ${missing[*]}"
