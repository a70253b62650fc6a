#!/usr/bin/env bash
# Position alone (issue 17): `locus compare apps/configs/position_only.yaml` (one constant input
# feature; GCN, GCN + each graph encoding, GIR and P-GNN alone, GCN + GIR) on generated community
# graphs and on Cora, next to GCN with one-hot identity features (the reference a position
# encoding tries to approach). The SBMs have 50-node blocks, p_in 0.1 and p_out set so
# that a node has ~3.8 expected neighbours outside its block whatever the block count
# (p_out = 3.8 / (N - 50)), labels = block, a stratified 60/20/20 split, seed 1.
#
#   bash bench/position_only.sh          # prints the tables
#   bash bench/position_only.sh --save   # ... and writes them to bench/results/position_only.md
#
# Environment:
#   RUNS=N            seeds per variant (default 5)
#   BLOCKS="5 10"     SBM block counts (default 5 10 20 40; empty: none, Cora alone)
#   LOCUS_SHARED=DIR  the shared data folder (default ../shared); without Cora there, Cora is skipped
#   LOCUS_BIN=PATH    the locus program (default build/locus, built by setup.sh; with LOCUS_BIN set,
#                     setup.sh is not run)
# Takes about an hour on 2 cores (P-GNN and GIR dominate). Accuracy only: it may run beside other
# work (bench/gir_cost.sh and bench/position_tables.sh time the same models).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_start position-only "$@"
RUNS=${RUNS:-5}
positive RUNS
BLOCKS=${BLOCKS-5 10 20 40}
for b in $BLOCKS; do [[ "$b" =~ ^[1-9][0-9]*$ && $b -ge 2 ]] || die "BLOCKS must list integers >= 2, got '$b'"; done
bench_locus
bash scripts/ensure-packages.sh python3 >&2 || die "python3 is needed to format the tables"
shared=${LOCUS_SHARED:-../shared}
bench_tmp

# One case: NAME | TITLE | dataset YAML. Writes $tmp/NAME.json (the variants) and $tmp/NAME.id.json
# (GCN on identity features).
cases=()
declare -A title path
for b in $BLOCKS; do
  n=$(( b * 50 ))
  p_out=$(python3 -c "print(f'{3.8 / ($n - 50):.6g}')")
  "$LOCUS_BIN" generate sbm --blocks "$b" --block-size 50 --p-in 0.1 --p-out "$p_out" --seed 1 \
    --out "$tmp/sbm$b" > /dev/null || die "locus generate sbm --blocks $b failed"
  cases+=("sbm$b")
  title[sbm$b]="SBM, $b blocks of 50 (p_in 0.1, p_out $p_out)"
  path[sbm$b]="$tmp/sbm$b/dataset.yaml"
done
if [[ -f "$shared/datasets/cora/dataset.yaml" ]]; then
  cases+=(cora)
  title[cora]="Cora (Planetoid split), constant features"
  path[cora]="$(cd "$shared/datasets/cora" && pwd)/dataset.yaml"
else
  say "skipping Cora: $shared/datasets/cora is absent"
fi

(( ${#cases[@]} > 0 )) || die "nothing to run: BLOCKS is empty and there is no Cora"
for c in "${cases[@]}"; do
  say "${title[$c]}"
  start=$(date +%s)
  "$LOCUS_BIN" compare apps/configs/position_only.yaml "dataset.path=${path[$c]}" "num_runs=$RUNS" \
    --json "$tmp/$c.json" > "$tmp/$c.log" 2>&1 || { tail -20 "$tmp/$c.log" >&2; die "$c: locus compare failed"; }
  "$LOCUS_BIN" compare apps/configs/position_only.yaml "dataset.path=${path[$c]}" "num_runs=$RUNS" \
    dataset.features=identity 'compare.variants=[gcn]' --json "$tmp/$c.id.json" > "$tmp/$c.id.log" 2>&1 ||
    { tail -20 "$tmp/$c.id.log" >&2; die "$c: locus compare with identity features failed"; }
  say "  done in $(( $(date +%s) - start )) s"
done

python3 - "$tmp" "$RUNS" "$(date -u +%Y-%m-%d)" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
  "${cases[@]}" > "$tmp/tables.md" <<'PY'
import json, sys
tmp, runs, day, cores, cpu, *cases = sys.argv[1:]
titles = {}
print(f"# Position alone: one constant input feature, test accuracy % (mean ± std over {runs} seeds)\n")
print(f"Produced by `bash bench/position_only.sh` on {day} ({cores} cores, {cpu}); each case is")
print("`locus compare apps/configs/position_only.yaml dataset.path=...`, and the reference row the same with")
print("`dataset.features=identity 'compare.variants=[gcn]'`. `gcn+gir` runs with the defaults")
print("(fixed single-node anchors, the branch output read by the first GCN layer, the branch kept only")
print("where validation prefers it: `kept` counts the runs that kept it); `gcn+gir:concat` reads it at")
print("the last layer instead, `gcn+gir+noselect` is the former default (resampled sets, last layer, no")
print("selection). Encodings run with the defaults (evaluation's signs / anchor sets in training too, the")
print("columns kept only where validation prefers them); `+random` flips signs and draws sets anew every epoch.\n")
enc = ["gcn+LapPE", "gcn+LapPE+random", "gcn+RWSE", "gcn+AnchorPE", "gcn+AnchorPE+random"]
anchor = ["gir", "gir+fixed", "pgnn", "gcn+gir", "gcn+gir:concat", "gcn+gir+noselect"]
summary = []
for c in cases:
    d = json.load(open(f"{tmp}/{c}.json"))["variants"]
    ref = json.load(open(f"{tmp}/{c}.id.json"))["variants"][0]
    print(f"## {c}: {d[0]['dataset']} ({ref['num_runs']} runs)\n")
    print("| variant | test acc % | val % | params | kept |")
    print("|---|---:|---:|---:|---:|")
    acc = {}
    for v in d:
        kept = [r["position_used"] for r in v["runs"] if "position_used" in r]
        k = f"{sum(kept)}/{len(kept)}" if kept else ""
        acc[v["variant"]] = 100 * v["test_acc_mean"]
        print(f"| {v['variant']} | {100*v['test_acc_mean']:.1f} ± {100*v['test_acc_std']:.1f} | "
              f"{100*v['val_acc_mean']:.1f} | {v['num_params']} | {k} |")
    ident = 100 * ref["test_acc_mean"]
    print(f"| gcn, identity features (reference) | {ident:.1f} ± {100*ref['test_acc_std']:.1f} | "
          f"{100*ref['val_acc_mean']:.1f} | {ref['num_params']} | |\n")
    best_enc = max((acc[e], e) for e in enc if e in acc)
    best_anc = max((acc[a], a) for a in anchor if a in acc)
    summary.append((c, best_enc, best_anc, ident))
print("## Summary\n")
print("| case | best encoding row | best GIR / P-GNN row | GIR − encoding | % of identity |")
print("|---|---|---|---:|---:|")
for c, (ea, e), (aa, a), ident in summary:
    print(f"| {c} | {e} {ea:.1f} | {a} {aa:.1f} | {aa - ea:+.1f} | {100 * aa / ident:.0f} % |")
PY
cat "$tmp/tables.md"
if (( save )); then
  mkdir -p bench/results
  mv "$tmp/tables.md" bench/results/position_only.md.tmp && mv bench/results/position_only.md.tmp bench/results/position_only.md
  say "wrote bench/results/position_only.md"
fi
