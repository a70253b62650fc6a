#!/usr/bin/env bash
# Node reordering (dataset.reorder) on 1M-node / 10M-edge graphs: for a uniform random graph and
# an R-MAT power-law graph (ids relabelled at random), each order's time to compute and renumber,
# one SpMM with 64 columns (and its fraction of the STREAM-triad memory bound) and a GCN-64
# training epoch, 2 threads; speed-ups against the loaded order. build/spmm_bench does the work.
#
#   bash bench/reorder.sh            # prints the tables (about 6 minutes)
#   bash bench/reorder.sh --save     # ... and writes them to bench/results/reorder.md
#
# Environment:
#   NODES=N EDGES=M   graph size (default 1000000 and 10000000)
#   LOCUS_BIN=PATH    a built locus program; its folder's spmm_bench is used (default: build/,
#                     built by setup.sh; with LOCUS_BIN set, setup.sh is not run)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_start reorder "$@"
NODES=${NODES:-1000000}
EDGES=${EDGES:-10000000}
positive NODES
positive EDGES
bench_locus
spmm_bench=$(dirname "$LOCUS_BIN")/spmm_bench
[[ -x "$spmm_bench" ]] || die "no spmm_bench beside $LOCUS_BIN (build the tree: bash scripts/setup.sh)"

out="# Node reordering: SpMM and GCN epoch"$'\n\n'
out+="$(date -u '+%Y-%m-%d %H:%M UTC') · commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown) · "
out+="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1) ($(nproc) cores) · "
out+="load average $(cut -d' ' -f1-3 /proc/loadavg) at the start · \`bash bench/reorder.sh --save\`"$'\n'
for graph in random rmat; do
  say "$graph: $spmm_bench $NODES $EDGES 64 2 16 $graph none,rcm,degree,metis"
  out+=$'\n'"$("$spmm_bench" "$NODES" "$EDGES" 64 2 16 "$graph" none,rcm,degree,metis)" \
    || die "spmm_bench failed on the $graph graph"
  out+=$'\n'
done
bench_table reorder "$out"
