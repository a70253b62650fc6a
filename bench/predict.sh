#!/usr/bin/env bash
# Cost of `locus predict` (issue 16's speed goals): on Cora, a saved GCN's load + predict of the
# test split (in-process time from `locus predict`'s report, and wall time of the whole process);
# on generated uniform random graphs of 1M nodes with 16 dense feature columns (`locus generate
# random`, seed 0; 5M and 10M undirected edges), a GCN-64 trained for 3 epochs, then predicted:
# dataset loading, model run and peak RSS of predict against training's.
#
#   bash bench/predict.sh            # prints the table
#   bash bench/predict.sh --save     # ... and writes it to bench/results/predict.md
#
# Environment:
#   REPEATS=N         predictions per case (default 3 on the large graphs, 10 x REPEATS/3 on Cora)
#   THREADS=N         OpenMP threads (default 2)
#   LOCUS_SHARED=DIR  the shared data folder (default ../shared, relative to the repo root)
#   LOCUS_BUILD_DIR   the build folder holding locus (default build)
# Needs about 4 GiB of memory and 2 GiB of temp space; takes about 2 minutes on 2 cores.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_start predict-bench "$@"
REPEATS=${REPEATS:-3}
THREADS=${THREADS:-2}
positive REPEATS
positive THREADS
build=${LOCUS_BUILD_DIR:-build}
[[ -x "$build/locus" ]] || die "no $build/locus: build it first (ninja -C $build locus)"
cora="${LOCUS_SHARED:-../shared}/datasets/cora/dataset.yaml"
[[ -f "$cora" ]] || die "no Cora at $cora (set LOCUS_SHARED)"

bench_tmp
cp "$build/locus" "$tmp/locus"  # a relink during the run cannot mix two versions
locus="$tmp/locus"
export OMP_NUM_THREADS=$THREADS

# field REGEX TEXT: the first capture of REGEX (sed -E) in TEXT.
field() { sed -nE "s/.*$1.*/\\1/p" <<<"$2" | head -n 1; }
# median of the arguments (numbers)
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s–%s", lo, hi}'; }

rows=()
# predict_case NAME MODEL DATASET N: N predictions of the test split; appends a table row.
predict_case() {
  local name=$1 model=$2 data=$3 n=$4 train_rss=$5 epoch_ms=$6 i out t0 t1
  local loads=() runs=() totals=() walls=() rss=()
  for ((i = 0; i < n; ++i)); do
    t0=$(date +%s%N)
    out=$("$locus" predict "$model" "$data" --split test --out "$tmp/p.csv" 2>&1) || die "predict failed: $out"
    t1=$(date +%s%N)
    walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1e6}')")
    totals+=("$(field 'load and predict ([0-9.]+) ms' "$out")")
    loads+=("$(field 'model and dataset ([0-9.]+)' "$out")")
    runs+=("$(field 'model run ([0-9.]+)' "$out")")
    rss+=("$(field 'peak RSS ([0-9.]+) MiB' "$out")")
  done
  rows+=("| $name | $(median "${walls[@]}") | $(median "${totals[@]}") | $(median "${loads[@]}") | $(range "${runs[@]}") | $(median "${rss[@]}") | $train_rss | $epoch_ms |")
  say "$name: wall $(median "${walls[@]}") ms, model run $(range "${runs[@]}") ms, peak RSS $(median "${rss[@]}") MiB"
}

# train_model NAME CONFIG OVERRIDES...: trains one run with save_model=$tmp/NAME.locus; sets
# train_rss (MiB) and epoch_ms from the report.
train_model() {
  local name=$1 config=$2 out
  shift 2
  out=$("$locus" train "$config" num_runs=1 num_threads="$THREADS" save_model="$tmp/$name.locus" "$@" 2>&1) ||
    die "training $name failed: $out"
  train_rss=$(field 'peak RSS ([0-9.]+) MiB' "$out")
  epoch_ms=$(field '; ([0-9.]+) ms per training epoch' "$out")
}

say "Cora: training GCN (apps/configs/cora_gcn.yaml, 1 run)"
train_model cora apps/configs/cora_gcn.yaml
predict_case "Cora, GCN (cora_gcn.yaml)" "$tmp/cora.locus" "$cora" $((REPEATS * 10 / 3 > 0 ? REPEATS * 10 / 3 : 1)) \
  "$train_rss" "$epoch_ms"

for edges in 5000000 10000000; do
  say "generating 1M nodes, $edges undirected edges, 16 features"
  "$locus" generate random --nodes 1000000 --edges "$edges" --features 16 --seed 0 --out "$tmp/g$edges" >&2
  say "training GCN-64 for 3 epochs"
  train_model "g$edges" apps/configs/cora_gcn.yaml dataset.path="$tmp/g$edges/dataset.yaml" gnn.dim_inner=64 \
    optim.max_epoch=3
  predict_case "1M nodes, $((edges / 1000000))M undirected edges, GCN-64" "$tmp/g$edges.locus" \
    "$tmp/g$edges/dataset.yaml" "$REPEATS" "$train_rss" "$epoch_ms"
  rm -rf "$tmp/g$edges"
done

command="bash bench/predict.sh --save"
[[ "$REPEATS" != 3 ]] && command="REPEATS=$REPEATS $command"
[[ "$THREADS" != 2 ]] && command="THREADS=$THREADS $command"
{
  echo "# locus predict: load, model run and memory"
  echo
  echo "Reproduce: \`$command\` ($(nproc) cores, $THREADS threads; $(date -u +%Y-%m-%d)). Times in ms; medians over"
  echo "the predictions (the model run as its range). *wall* is the whole process, start to exit;"
  echo "*load + predict* is \`locus predict\`'s own measure from reading the model file to the"
  echo "predictions (the model run included, writing the CSV not). Training: the same model, 3 epochs"
  echo "on the generated graphs (Cora: its config), for its peak RSS and epoch time."
  echo
  echo "| case | wall | load + predict | model and dataset | model run | predict peak RSS MiB | train peak RSS MiB | train ms per epoch |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} >"$tmp/predict.md"
cat "$tmp/predict.md"
if (( save )); then
  cp "$tmp/predict.md" bench/results/predict.md
  say "wrote bench/results/predict.md"
fi
