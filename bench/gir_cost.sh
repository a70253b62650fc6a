#!/usr/bin/env bash
# Cost of the GIR branch against issue 17's four targets (2 threads): the Cora GCN + GIR fusion
# training epoch (≤ 5 ms), a GIR training epoch on a 1k-node graph of ~32k directed edges at hidden
# 64 (≤ 10 ms; `locus generate sbm`, 20 blocks of 50, p-in 0.3, p-out 0.02, constant features), and
# the 100k-node gir_bench epoch (≤ 1 s) and its peak RSS (≤ 3 GiB). Each case runs with the build
# in LOCUS_BUILD_DIR and, when LOCUS_BASE_DIR names another build (say of the commit before a
# change), with that one too in the same run, so the columns compare on the same machine and hour.
#
#   bash bench/gir_cost.sh            # prints the table
#   bash bench/gir_cost.sh --save     # ... and writes it to bench/results/gir_cost.md
#
# Environment:
#   LOCUS_BUILD_DIR   the build folder holding locus and gir_bench (default build)
#   LOCUS_BASE_DIR    a second build folder to compare with (default none)
#   LOCUS_NAMES="a b" column titles for the two builds (default their folders)
#   LOCUS_SHARED=DIR  the shared data folder (default ../shared); without Cora there, Cora is skipped
#   REPEAT=N          runs of every case per build, alternating builds; the table keeps each build's
#                     fastest (default 3: epoch times on a shared machine vary by 30 %)
# The floor column is the arithmetic GIR.md's model cannot avoid: 3·R·d² multiply-adds (M·W_top
# forward, Hᵀ·Q and Q·W_topᵀ backward, R = the state rows past level 0) at the rate Eigen's dense
# [R, d]·[d, d] product reaches here with 2 threads (`gir_bench floor`; gir_bench prints its own).
# Takes about 2 minutes per build and repeat on 2 cores; needs about 3 GiB of memory (gir_bench).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_start gir-cost "$@"
builds=("${LOCUS_BUILD_DIR:-build}")
[[ -n "${LOCUS_BASE_DIR:-}" ]] && builds+=("$LOCUS_BASE_DIR")
for b in "${builds[@]}"; do
  [[ -x "$b/locus" && -x "$b/gir_bench" ]] || die "no $b/locus or $b/gir_bench: build them first (ninja -C $b locus gir_bench)"
done
cora="${LOCUS_SHARED:-../shared}/datasets/cora/dataset.yaml"
REPEAT=${REPEAT:-3}
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "REPEAT must be a positive integer, got '$REPEAT'"

bench_tmp
"${builds[0]}/locus" generate sbm --blocks 20 --block-size 50 --p-in 0.3 --p-out 0.02 --seed 1 --out "$tmp/sbm" >/dev/null ||
  die "locus generate sbm failed"

# "… 12.345 ms per training epoch (median); peak RSS 118.7 MiB" → "12.345 118.7"
epoch_of() { sed -n 's/.*; \([0-9.]*\) ms per training epoch (median); peak RSS \([0-9.]*\) MiB.*/\1 \2/p' "$1" | tail -1; }

# "… = 0.206 G multiply-adds; 8.710 ms at 23.7 G/s" → "8.710 ms (0.206 G at 23.7 G/s)"
floor_of() {  # floor_of DATASET nodes|sets DIM
  "${builds[0]}/gir_bench" floor "$1" "$2" "$3" 2 |
    sed -n 's/.* = \([0-9.]*\) G multiply-adds; \([0-9.]*\) ms at \([0-9.]*\) G\/s.*/\2 ms (\1 G at \3 G\/s)/p'
}
floor_sbm=$(floor_of "$tmp/sbm/dataset.yaml" sets 64)
[[ -n "$floor_sbm" ]] || die "gir_bench floor failed on the SBM"
floor_cora="—"
if [[ -f "$cora" ]]; then
  floor_cora=$(floor_of "$cora" nodes 16)
  [[ -n "$floor_cora" ]] || die "gir_bench floor failed on Cora"
fi
floor_big=""

declare -A cell best
# Keeps the smaller epoch time of a case over the repeats (the builds alternate, so a slow spell of
# the machine does not fall on one build only).
keep() {  # keep BUILD CASE MS MIB
  if [[ -z "${best[$1,$2]:-}" ]] || awk -v a="$3" -v b="${best[$1,$2]}" 'BEGIN { exit !(a < b) }'; then
    best[$1,$2]=$3
    cell[$1,$2]="$3 ms ($4 MiB)"
  fi
}
for ((rep = 1; rep <= REPEAT; rep++)); do
  for b in "${builds[@]}"; do
    say "$b: Cora gcn+gir (30 epochs), repeat $rep/$REPEAT"
    if [[ -f "$cora" ]]; then
      "$b/locus" train apps/configs/cora_compare.yaml "dataset.path=$cora" gnn.position=gir optim.max_epoch=30 num_runs=1 \
        >"$tmp/cora.log" 2>&1 || { tail -5 "$tmp/cora.log" >&2; die "$b: Cora gcn+gir failed"; }
      read -r ms mib <<<"$(epoch_of "$tmp/cora.log")"
      keep "$b" cora "$ms" "$mib"
    else
      say "skipping Cora: $cora is absent"
      cell[$b,cora]="—"
    fi
    say "$b: 1k-node SBM, gir, hidden 64 (30 epochs), repeat $rep/$REPEAT"
    "$b/locus" train apps/configs/cora_compare.yaml "dataset.path=$tmp/sbm/dataset.yaml" dataset.features=constant \
      gnn.layer_type=gir gnn.dim_inner=64 optim.max_epoch=30 num_runs=1 >"$tmp/sbm.log" 2>&1 ||
      { tail -5 "$tmp/sbm.log" >&2; die "$b: SBM gir failed"; }
    read -r ms mib <<<"$(epoch_of "$tmp/sbm.log")"
    keep "$b" sbm "$ms" "$mib"
    say "$b: gir_bench, 100k nodes, repeat $rep/$REPEAT"
    "$b/gir_bench" >"$tmp/bench.log" 2>&1 || { tail -5 "$tmp/bench.log" >&2; die "$b: gir_bench failed"; }
    s=$(sed -n 's/^| \*\*epoch (s, median of 3)\*\* | \*\*\([0-9.]*\)\*\* |.*/\1/p' "$tmp/bench.log")
    gib=$(sed -n 's/^| peak RSS of the program, both runs (GiB) | \([0-9.]*\) |.*/\1/p' "$tmp/bench.log")
    if [[ -z "${best[$b,big]:-}" ]] || awk -v a="$s" -v b="${best[$b,big]}" 'BEGIN { exit !(a < b) }'; then
      best[$b,big]=$s
      cell[$b,big]="$s s"
    fi
    if [[ -z "$floor_big" ]]; then
      fs=$(sed -n "s/^| their time at Eigen's dense GEMM rate here: a floor for forward + backward (s) | \([0-9.]*\) |.*/\1/p" "$tmp/bench.log")
      fg=$(sed -n 's/^| 3·R·d² multiply-adds of the R rows past level 0 (G) | \([0-9.]*\) |.*/\1/p' "$tmp/bench.log")
      fr=$(sed -n "s/^| Eigen's \[2^20, d\]·\[d, d\] float product, [0-9]* threads (G multiply-adds\/s) | \([0-9.]*\) |.*/\1/p" "$tmp/bench.log")
      floor_big="$fs s ($fg G at $fr G/s; forward + backward only)"
    fi
    cell[$b,rss]="$gib GiB"  # the same every run (the allocations do not depend on timing)
    edges=$(grep -m1 -o '[0-9]* directed edges' "$tmp/bench.log" || true)
  done
done
sbm_edges=$(wc -l <"$tmp/sbm/edges.tsv")

{
  echo "# GIR cost: issue 17's four targets"
  echo
  echo "Produced by \`bash bench/gir_cost.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), 2 threads)."
  echo "Median training epoch (forward, loss, backward, Adam step; gir_bench: the median of its 3 epochs), the"
  echo "fastest of $REPEAT alternating runs per build, and each program's peak RSS."
  echo
  echo "Floor: GIR's own multiply-adds alone (3·R·d², R = state rows past level 0) at Eigen's dense-product"
  echo "rate on this machine in the same run (\`gir_bench floor\`), before any aggregation, GCN layer or evaluation."
  echo
  header="| case | target | floor |"
  rule="|---|---|---:|"
  read -r -a names <<<"${LOCUS_NAMES:-${builds[*]}}"
  for i in "${!builds[@]}"; do header+=" ${names[$i]:-${builds[$i]}} |"; rule+="---:|"; done
  echo "$header"
  echo "$rule"
  row() {
    local line="| $1 | $2 | $4 |"
    for b in "${builds[@]}"; do line+=" ${cell[$b,$3]} |"; done
    echo "$line"
  }
  row "Cora, GCN + GIR fusion, each build's defaults (apps/configs/cora_compare.yaml, gnn.position=gir)" "≤ 5 ms" cora "$floor_cora"
  row "SBM, 1000 nodes, $sbm_edges undirected edges, GIR alone, hidden 64, constant feature" "≤ 10 ms" sbm "$floor_sbm"
  row "gir_bench epoch: 100k nodes, ${edges:-2M directed edges}, 64 sets, d = 32, exact depths" "≤ 1 s" big "$floor_big"
  row "gir_bench peak RSS" "≤ 3 GiB" rss "—"
} >"$tmp/table.md"
cat "$tmp/table.md"
if ((save)); then
  mkdir -p bench/results
  cp "$tmp/table.md" bench/results/gir_cost.md
  say "wrote bench/results/gir_cost.md"
fi
