# shellcheck shell=bash
# The start the bench scripts share; source it after `set -euo pipefail`:
#   bench_start TAG "$@"   cd to the project root (root; here: bench/); say / die print "[TAG] ..." on stderr; --save
#                          sets save=1, -h / --help prints the script's opening comment, any other
#                          argument is refused
#   positive NAME          die unless $NAME (an environment knob) is a positive integer
#   bench_locus            LOCUS_BIN: as given (setup.sh not run), or build/locus after scripts/setup.sh
#   bench_tmp              tmp: a fresh folder, removed when the script exits
#   bench_table NAME TEXT  prints TEXT; with --save also writes it to bench/results/NAME.md (atomically)

bench_start() {
  bench_tag=$1
  shift
  cd "$(dirname "${BASH_SOURCE[1]}")/.."
  root=$(pwd)
  here=$root/bench
  bench_script=bench/$(basename "${BASH_SOURCE[1]}")
  save=0
  for arg in "$@"; do
    case "$arg" in
      --save) save=1 ;;
      -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$bench_script"; exit 0 ;;
      *) die "unknown argument '$arg' (usage: bash $bench_script [--save])" ;;
    esac
  done
}

say() { printf '[%s] %s\n' "$bench_tag" "$*" >&2; }
die() { printf '[%s] FAILED: %s\n' "$bench_tag" "$*" >&2; exit 1; }

positive() {
  [[ "${!1}" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, got '${!1}'"
}

bench_locus() {
  if [[ -z "${LOCUS_BIN:-}" ]]; then
    bash scripts/setup.sh >&2 || die "set-up failed (see above)"
    LOCUS_BIN=build/locus
  fi
  [[ -x "$LOCUS_BIN" ]] || die "no locus program at $LOCUS_BIN"
}

bench_tmp() {
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
}

bench_table() {
  printf '%s\n' "$2"
  [[ $save == 1 ]] || return 0
  mkdir -p bench/results
  local result="bench/results/$1.md"
  printf '%s\n' "$2" >"$result.tmp"
  mv "$result.tmp" "$result"
  say "saved $result"
}
