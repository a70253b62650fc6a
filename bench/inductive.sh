#!/usr/bin/env bash
# GraphSAGE's inductive protocol for saved models (build/inductive_bench, bench/inductive_bench.cpp)
# on Cora and on a generated stochastic block model with features: 2000 nodes in 5 blocks of 400,
# p_in 0.02, p_out 0.005 (about as many edges across blocks as inside), 4 dense class-dependent
# feature columns, seed 0 (`locus generate sbm`, into a temp folder). GCN, GraphSAGE and GAT with
# the hyper-parameters of apps/configs/cora_<model>.yaml, SEEDS seeds, 20 % of the nodes held out.
#
#   bash bench/inductive.sh            # prints the tables
#   bash bench/inductive.sh --save     # ... and writes them to bench/results/inductive.md
#
# Environment:
#   SEEDS=N           seeds per model and dataset (default 5)
#   THREADS=N         OpenMP threads (default 2)
#   LOCUS_SHARED=DIR  the shared data folder (default ../shared, relative to the repo root)
#   LOCUS_BUILD_DIR   the build folder holding locus and inductive_bench (default build); build
#                     them first: ninja -C build locus inductive_bench
# The programs are copied into the temp folder first, so a relink during the run cannot mix two
# versions.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_start inductive "$@"
SEEDS=${SEEDS:-5}
THREADS=${THREADS:-2}
positive SEEDS
positive THREADS
build=${LOCUS_BUILD_DIR:-build}
for prog in locus inductive_bench; do
  [[ -x "$build/$prog" ]] || die "no $build/$prog: build it first (ninja -C $build locus inductive_bench)"
done
cora="${LOCUS_SHARED:-../shared}/datasets/cora/dataset.yaml"
[[ -f "$cora" ]] || die "no Cora at $cora (set LOCUS_SHARED)"

bench_tmp
cp "$build/locus" "$build/inductive_bench" "$tmp/"

generate=(generate sbm --blocks 5 --block-size 400 --p-in 0.02 --p-out 0.005 --features 4 --seed 0)
say "generating the SBM into $tmp/sbm"
"$tmp/locus" "${generate[@]}" --out "$tmp/sbm" >&2

out="$tmp/inductive.md"
(( save )) && out=bench/results/inductive.md
command="bash bench/inductive.sh"
[[ "$SEEDS" != 5 ]] && command="SEEDS=$SEEDS $command"
[[ "$THREADS" != 2 ]] && command="THREADS=$THREADS $command"
"$tmp/inductive_bench" --seeds "$SEEDS" --threads "$THREADS" --out "$out" --command "$command --save" \
  --note "The SBM is \`locus ${generate[*]}\`, written to a temp folder." "$cora" "$tmp/sbm"
(( save )) && say "wrote $out"
exit 0
