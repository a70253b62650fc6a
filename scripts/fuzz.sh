#!/usr/bin/env bash
# Builds the clang sanitizer tree (ASan + UBSan + libFuzzer instrumentation; the same tree runs
# ctest) and fuzzes Locus's input readers: every tests/fuzz/fuzz_* target for N seconds, J at a
# time, each from a fresh copy of its seed corpus (tests/fuzz/corpus/<target>/) with its
# dictionary. Prints per target exec/s, corpus files, coverage and PASS/FAIL; crash, leak,
# timeout and out-of-memory inputs stay in the build tree (paths printed). Exits 1 on any FAIL.
#
#   bash scripts/fuzz.sh                        # 60 s per target, 2 at a time
#   bash scripts/fuzz.sh --seconds 600 --jobs 2 # the long campaign
#   bash scripts/fuzz.sh --build-dir build-asan-clang --no-build --targets fuzz_tables
#   build-asan-clang/fuzz_tables crash-XYZ      # reproduce one artefact (prints the report)
#
# Options:  --seconds N (default 60)   --jobs J (default 2)   --build-dir DIR (default
#           build-asan-clang)   --no-build (reuse DIR as it is)   --targets a,b (default: all)
# Environment: LOCUS_JOBS, LOCUS_CMAKE_ARGS, LOCUS_VERBOSE as for scripts/setup.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

say_prefix='[fuzz]'
say() { printf '%s %s\n' "$say_prefix" "$*"; }
# shellcheck source=scripts/common.sh
source "$here/common.sh"

seconds=60
jobs=2
build="build-asan-clang"
do_build=1
only=""
usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
    --jobs) jobs=${2:?--jobs needs a value}; shift 2 ;;
    --build-dir) build=${2:?--build-dir needs a value}; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --targets) only=${2:?--targets needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; fail "unknown option '$1'" ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || fail "--seconds must be a positive whole number, not '$seconds'"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || fail "--jobs must be a positive whole number, not '$jobs'"
[[ "$build" = /* ]] || build="$root/$build"

t0=$SECONDS
if [[ $do_build == 1 ]]; then
  bash "$here/ensure-packages.sh" clang libclang-rt-14-dev libomp-dev || fail "system packages (see above)"
  build_sanitizer_tree "$build" || exit 1
fi

targets=()
for src in "$root"/tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$src" .cpp)
  if [[ -n "$only" && ",$only," != *",$name,"* ]]; then continue; fi
  [[ -x "$build/$name" ]] || fail "$build/$name is missing: build with -DLOCUS_FUZZ=ON (drop --no-build)"
  targets+=("$name")
done
[[ ${#targets[@]} -gt 0 ]] || fail "no fuzz target selected (--targets '$only')"

leaks=$(leak_detection)
export ASAN_OPTIONS="detect_leaks=$leaks:allocator_may_return_null=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# config_dict: the config target's dictionary: the YAML tokens of tests/fuzz/fuzz_config.dict, then
# every key (dotted and leaf), section ("gnn:") and choice of the schema, read from the locus
# program of the same tree.
config_dict() {
  cat "$root/tests/fuzz/fuzz_config.dict"
  local schema
  schema=$("$build/locus" config --list --format json) || fail "locus config --list failed in $build"
  grep -oE '"key": "[^"]+"' <<<"$schema" | sed -E 's/"key": "([^"]+)"/\1/' | while read -r key; do
    printf '"%s"\n"%s"\n' "$key" "${key##*.}"
    if [[ $key == *.* ]]; then printf '"%s:"\n' "${key%%.*}"; fi
  done | sort -u
  # Array items of the JSON (choices and list defaults) stand alone on their lines.
  grep -E '^ +"[^"]*",?$' <<<"$schema" | sed -E 's/^ +("[^"]*"),?$/\1/' | sort -u
}

runs="$build/fuzz-runs"
# run_target NAME: fuzzes one target in $runs/NAME (corpus/, artifacts/, fuzz.log); exit code
# in $runs/NAME/rc.
run_target() {
  local name=$1 dir="$runs/$1" rc=0
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [[ -d "$root/tests/fuzz/corpus/$name" ]]; then cp -r "$root/tests/fuzz/corpus/$name/." "$dir/corpus/"; fi
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
    -detect_leaks="$leaks" -artifact_prefix="$dir/artifacts/")
  if [[ $name == fuzz_config ]]; then
    config_dict >"$dir/config.dict"
    args+=(-dict="$dir/config.dict")
  elif [[ -f "$root/tests/fuzz/$name.dict" ]]; then
    args+=(-dict="$root/tests/fuzz/$name.dict")
  fi
  # The outer timeout only catches a fuzzer that hangs outside its own per-input timeout.
  mkdir -p "$dir/scratch"  # the targets write each input there as a file
  LOCUS_FUZZ_SCRATCH="$dir/scratch" timeout --kill-after=30 $((seconds + 120)) "$build/$name" "${args[@]}" \
    "$dir/corpus" >"$dir/fuzz.log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

say "fuzzing ${targets[*]}: $seconds s each, $jobs at a time (ASAN_OPTIONS=$ASAN_OPTIONS)"
running=0
for name in "${targets[@]}"; do
  if [[ $running -ge $jobs ]]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$name" &
  running=$((running + 1))
done
wait || true

failed=0
printf '%s %-18s %-6s %10s %8s %8s %8s %8s\n' "$say_prefix" target result exec/s runs corpus cov ft
for name in "${targets[@]}"; do
  dir="$runs/$name" log="$runs/$name/fuzz.log"
  rc=$(cat "$dir/rc" 2>/dev/null || echo 1)
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
  execs=$(stat average_exec_per_sec)
  nruns=$(stat number_of_executed_units)
  files=$(find "$dir/corpus" -type f | wc -l)
  last=$(grep -E '(cov|ft): [0-9]+' "$log" | tail -n 1 || true)
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
  mapfile -t found < <(find "$dir/artifacts" -type f | sort)
  result=PASS
  if [[ $rc -ne 0 || ${#found[@]} -gt 0 ]]; then
    result=FAIL
    failed=$((failed + 1))
  fi
  printf '%s %-18s %-6s %10s %8s %8s %8s %8s\n' "$say_prefix" "$name" "$result" "${execs:-?}" "${nruns:-?}" \
    "$files" "${cov:-?}" "${ft:-?}"
  if [[ $result == FAIL ]]; then
    say "  $name exited $rc; log: $log"
    grep -m 3 -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|uncaught exception|terminate called' "$log" |
      sed "s/^/$say_prefix     /" || true
    for a in "${found[@]}"; do say "  artefact: $a  (reproduce: $build/$name $a)"; done
  fi
done
say "done in $((SECONDS - t0)) s"
if [[ $failed -gt 0 ]]; then
  say "FAILED: $failed of ${#targets[@]} fuzz targets"
  exit 1
fi
say "all ${#targets[@]} fuzz targets passed"
