#!/usr/bin/env bash
# Checks Locus as an installed package, the way a user's program meets it: installs build/ into a
# temporary prefix (cmake --install), compiles every installed header on its own, then configures,
# builds and runs each examples/*/ project with find_package(locus) against that prefix (not the
# build tree). One "[examples] NAME PASS|FAIL" line per check; exits non-zero when any fails.
#
#   bash scripts/examples.sh [--build-dir build] [--keep]
#
# The node-classification example reads ../shared's Cora when it is there, else a graph that the
# installed `locus generate` writes; custom_layer trains on the same dataset.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
say_prefix='[examples]'
say() { printf '%s %s\n' "$say_prefix" "$*"; }
# shellcheck source=scripts/common.sh
source "$here/common.sh"

build=build keep=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) fail "unknown argument '$1' (use --build-dir DIR, --keep)" ;;
  esac
done
[[ -x "$build/locus" ]] || fail "$build/locus is not built: run bash scripts/setup.sh first"

work=$(mktemp -d "${TMPDIR:-/tmp}/locus-examples.XXXXXX")
[[ $keep == 1 ]] || trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
failed=0
result() {  # result NAME STATUS LOG
  if [[ $2 == 0 ]]; then say "$1 PASS"; else say "$1 FAIL (log: $3)"; tail -n 30 "$3"; failed=$((failed + 1)); fi
}

# 1) Install.
rc=0
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || rc=$?
result install $rc "$work/install.log"
[[ $rc == 0 ]] || exit 1

# 2) Every installed header compiles on its own: one translation unit per header, checked
#    (-fsyntax-only: parsed and instantiated, no code generated) by a project that finds the
#    installed package (its include paths and definitions).
headers_dir="$work/headers"
mkdir -p "$headers_dir/src"
sources=()
while IFS= read -r h; do
  rel=${h#"$prefix/include/"}
  src="$headers_dir/src/$(tr '/.' '__' <<<"$rel").cpp"
  printf '#include <%s>\n' "$rel" >"$src"
  sources+=("$src")
done < <(find "$prefix/include/locus" -name '*.hpp' | sort)
{
  echo 'cmake_minimum_required(VERSION 3.22)'
  echo 'project(locus_headers LANGUAGES CXX)'
  echo 'set(CMAKE_CXX_STANDARD 20)'
  echo 'find_package(locus REQUIRED)'
  echo "add_library(headers OBJECT ${sources[*]})"
  echo 'target_compile_options(headers PRIVATE -fsyntax-only -Wall -Wextra -Werror -Wno-maybe-uninitialized -Wno-restrict)'
  echo 'target_link_libraries(headers PRIVATE locus::locus)'
} >"$headers_dir/CMakeLists.txt"
rc=0
{ cmake -S "$headers_dir" -B "$headers_dir/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Debug &&
  cmake --build "$headers_dir/build" -j "${LOCUS_JOBS:-2}"; } >"$work/headers.log" 2>&1 || rc=$?
result "headers (${#sources[@]} compiled on their own)" $rc "$work/headers.log"

# 3) The examples, built against the prefix and run.
data="$root/../shared/datasets/cora/dataset.yaml"
if [[ ! -f $data ]]; then
  say "note: ../shared is absent: the examples train on a generated graph instead of Cora"
  "$prefix/bin/locus" generate sbm --blocks 4 --block-size 150 --p-in 0.05 --p-out 0.005 --features 16 \
    --out "$work/sbm" >"$work/generate.log" 2>&1 || { result generate 1 "$work/generate.log"; exit 1; }
  data="$work/sbm/dataset.yaml"
fi
# run_example NAME EXPECT ARGS...: builds examples/NAME, runs it with ARGS, expects EXPECT in its output.
run_example() {
  local name=$1 expect=$2 log="$work/$1.log" rc=0
  shift 2
  {
    cmake -S "examples/$name" -B "$work/$name" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release &&
      cmake --build "$work/$name" && (cd "$work" && "$work/$name/$name" "$@")
  } >"$log" 2>&1 || rc=$?
  if [[ $rc == 0 ]] && ! grep -q -- "$expect" "$log"; then rc=1; echo "expected '$expect' in the output" >>"$log"; fi
  result "$name" $rc "$log"
  [[ $rc == 0 ]] && grep -E "$expect" "$log" | tail -n 3 | sed "s/^/$say_prefix   /"
}
run_example node_classification "test accuracy" "$data" "$work/predictions.csv"
# The model file, loaded back, predicts the accuracy training reported.
trained=$(sed -nE 's/^test accuracy ([0-9.]+)% at epoch.*/\1/p' "$work/node_classification.log")
reloaded=$(sed -nE 's/^model.locus: test accuracy ([0-9.]+)%.*/\1/p' "$work/node_classification.log")
if [[ -n $trained && $trained == "$reloaded" ]]; then rc=0; else rc=1; fi
echo "trained $trained%, model.locus $reloaded%" >"$work/model_file.log"
result "node_classification: model.locus reproduces the test accuracy ($trained%)" $rc "$work/model_file.log"
if [[ -f "$work/predictions.csv" ]]; then
  rows=$(($(wc -l <"$work/predictions.csv") - 1))
  say "  predictions.csv: $rows rows, header: $(head -n 1 "$work/predictions.csv")"
fi
run_example custom_layer "test accuracy" "$root/examples/custom_layer/cora.yaml" "dataset.path=$data" num_runs=2
run_example sentences "positions rope: test accuracy"

say "$failed failed"
exit $((failed > 0))
