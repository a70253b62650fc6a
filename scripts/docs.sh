#!/usr/bin/env bash
# Regenerates the documentation that derives from the code: the config key table of
# docs/config.md (locus config --list --format markdown) and the layer table of docs/layers.md
# (locus layers --format markdown), between their <!-- NAME:begin ... --> / <!-- NAME:end -->
# markers. Tests fail when a committed table differs from what this writes. With --doxygen it
# also builds the API reference from the installed headers' comments (build/docs/html; Debian
# doxygen), failing on any Doxygen warning; --doxygen-only builds the reference alone (CI).
#
#   bash scripts/docs.sh [--doxygen | --doxygen-only]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
say_prefix='[docs]'
say() { printf '%s %s\n' "$say_prefix" "$*"; }
# shellcheck source=scripts/common.sh
source "$here/common.sh"

[[ -x build/locus ]] || bash "$here/setup.sh"

# replace_block FILE NAME: puts stdin between FILE's <!-- NAME:begin ... --> and <!-- NAME:end --> lines.
replace_block() {
  local file=$1 name=$2 body tmp
  body=$(mktemp)
  cat >"$body"
  grep -q "<!-- $name:begin" "$file" || fail "$file has no <!-- $name:begin --> marker"
  tmp="$file.tmp.$$"
  awk -v name="$name" -v body="$body" '
    index($0, "<!-- " name ":begin") == 1 { print; while ((getline line < body) > 0) print line; skip = 1; next }
    index($0, "<!-- " name ":end") == 1 { skip = 0 }
    !skip { print }' "$file" >"$tmp"
  mv "$tmp" "$file"
  rm -f "$body"
  say "updated $file ($name)"
}

if [[ "${1:-}" != "--doxygen-only" ]]; then
  build/locus config --list --format markdown | replace_block docs/config.md config-table
  build/locus layers --format markdown | replace_block docs/layers.md layer-table
fi

if [[ "${1:-}" == --doxygen* ]]; then
  bash "$here/ensure-packages.sh" doxygen || fail "doxygen could not be installed"
  mkdir -p build/docs
  log=build/docs/doxygen.log
  (cd "$root" && doxygen docs/Doxyfile) >"$log" 2>&1 || { cat "$log"; fail "doxygen failed"; }
  if grep -qE "warning:|error:" "$log"; then
    grep -E "warning:|error:" "$log" | head -40
    fail "doxygen reported $(grep -cE 'warning:|error:' "$log") warnings or errors (log: $log)"
  fi
  say "API reference: build/docs/html/index.html"
fi
