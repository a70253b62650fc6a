#!/usr/bin/env bash
# The position-aware comparison (issue 5, GIR.md protocol): `locus compare` on Grid-T, Grid,
# Communities (link), Communities (pairs) and Cora, every variant of the configs' compare.variants
# (plain GNNs, P-GNN, GIR, fusions, positional encodings), mean ± std over RUNS seeds, next to the
# published P-GNN-E-2L ROC AUC. Grid-T is grid_link.yaml with dataset.name=grid-T.
#
#   bash bench/position_tables.sh          # prints the tables
#   bash bench/position_tables.sh --save   # ... and writes them to bench/results/position_tables.md
#                                          # and their summary to docs/benchmarks.md
#
# Environment:
#   RUNS=N            seeds per variant (default 5)
#   CASES="a b"       a subset of: grid_t grid communities_link communities_pairs cora (default all)
#   LOCUS_SHARED=DIR  the shared data folder (default ../shared); without Cora there, Cora is skipped
#   LOCUS_BIN=PATH    the locus program (default build/locus, built by setup.sh; with LOCUS_BIN set,
#                     setup.sh is not run)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_start position "$@"
RUNS=${RUNS:-5}
positive RUNS
CASES=${CASES:-grid_t grid communities_link communities_pairs cora}

bench_locus
bash scripts/ensure-packages.sh python3 >&2 || die "python3 is needed to format the tables"
shared=${LOCUS_SHARED:-../shared}

bench_tmp

# case: title | config | overrides | published P-GNN-E-2L AUC (GIR.md)
declare -A title config extra published
title[grid_t]="Grid-T (link prediction, identity features)"; config[grid_t]=grid_link.yaml; extra[grid_t]="dataset.name=grid-T"; published[grid_t]=0.834
title[grid]="Grid (link prediction)"; config[grid]=grid_link.yaml; extra[grid]=""; published[grid]=0.940
title[communities_link]="Communities (link prediction)"; config[communities_link]=communities_link.yaml; extra[communities_link]=""; published[communities_link]=0.985
title[communities_pairs]="Communities (pairwise node classification)"; config[communities_pairs]=communities_pairs.yaml; extra[communities_pairs]=""; published[communities_pairs]=1.000
title[cora]="Cora (node classification, Planetoid split)"; config[cora]=cora_compare.yaml; extra[cora]=""; published[cora]=""

done_cases=()
for c in $CASES; do
  [[ -n "${config[$c]:-}" ]] || die "unknown case '$c' (known: grid_t grid communities_link communities_pairs cora)"
  over=("num_runs=$RUNS")
  [[ -n "${extra[$c]}" ]] && over+=("${extra[$c]}")
  if [[ $c == cora ]]; then
    [[ -f "$shared/datasets/cora/dataset.yaml" ]] || { say "skipping Cora: $shared/datasets/cora is absent"; continue; }
    over+=("dataset.path=$(cd "$shared/datasets/cora" && pwd)/dataset.yaml")
  fi
  say "${title[$c]}: $LOCUS_BIN compare apps/configs/${config[$c]} ${over[*]}"
  start=$(date +%s)
  "$LOCUS_BIN" compare "apps/configs/${config[$c]}" "${over[@]}" --json "$tmp/$c.json" > "$tmp/$c.log" 2>&1 ||
    { tail -20 "$tmp/$c.log" >&2; die "${title[$c]}: locus compare failed"; }
  say "  done in $(( $(date +%s) - start )) s"
  done_cases+=("$c")
done

{
  echo "# Position-aware comparison: \`locus compare\`, mean ± std over $RUNS seeds"
  echo
  echo "Produced by \`bash bench/position_tables.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
  echo "Test metric at the best validation epoch (ROC AUC for link / pair tasks, accuracy for Cora);"
  echo "ms/epoch is the median training epoch (forward, loss, backward, step), 2 threads."
  for c in "${done_cases[@]}"; do
    python3 - "$tmp/$c.json" "${title[$c]}" "${published[$c]}" "${config[$c]}" "${extra[$c]}" <<'PY'
import json, sys
path, title, published, config, extra = sys.argv[1:6]
d = json.load(open(path))["variants"]
cmd = f"locus compare apps/configs/{config}" + (f" {extra}" if extra else "")
print(f"\n## {title}\n")
print(f"`{cmd}`" + (f"; published P-GNN-E-2L ROC AUC {float(published):.3f}" if published else ""))
print()
name = "test ROC AUC %" if published else "test accuracy %"
print(f"| variant | {name} | val % | ms/epoch | params |")
print("|---|---:|---:|---:|---:|")
for v in d:
    print(f"| {v['variant']} | {100*v['test_acc_mean']:.2f} ± {100*v['test_acc_std']:.2f} | {100*v['val_acc_mean']:.2f} | {v['epoch_ms_median']:.2f} | {v['num_params']} |")
PY
  done
} > "$tmp/tables.md"
cat "$tmp/tables.md"
if (( save )); then
  mkdir -p bench/results
  mv "$tmp/tables.md" bench/results/position_tables.md.tmp && mv bench/results/position_tables.md.tmp bench/results/position_tables.md
  say "wrote bench/results/position_tables.md"
  python3 bench/position_summary.py bench/results/position_tables.md --docs docs/benchmarks.md >/dev/null ||
    die "could not write the summary into docs/benchmarks.md"
  say "wrote its summary into docs/benchmarks.md (bench/position_summary.py)"
fi
