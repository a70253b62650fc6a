#!/usr/bin/env bash
# Training-epoch time of Locus against PyTorch Geometric 2.4, same machine, same run: GCN, GAT,
# GraphSAGE and GIN on Cora (Planetoid) and on a generated CiteSeer-sized graph (3327 nodes,
# 4552 edges, 3703 sparse bag-of-words features with 32 ones per node, 6 classes: `locus
# generate random ... --feature-nnz 32`), 2 threads each. Per case PyG runs first, then Locus, so
# both see the same machine state; the table gives each side's median epoch, the ratio and the
# goal of issue 19 (GCN 30×, GAT 20×, SAGE and GIN 15×).
#
#   bash bench/pyg_speed.sh            # prints the table
#   bash bench/pyg_speed.sh --save     # ... and writes it to bench/results/pyg_speed.md
#   MODELS="gat" DATASETS=cora bash bench/pyg_speed.sh
#
# Environment:
#   MODELS="..."     from gcn gat sage gin (default: all four)
#   DATASETS="..."   from cora citeseer_like (default both; cora needs LOCUS_SHARED)
#   TIMED=N          timed training epochs per side (default 50), after 10 warm-up epochs
#   LOCUS_SHARED=DIR the shared folder with datasets/cora and anchors/ (default ../shared)
#   LOCUS_BIN=PATH   the locus program (default build/locus, built by setup.sh; with LOCUS_BIN
#                    set, setup.sh is not run)
#
# The models are apps/configs/cora_<model>.yaml (GCN hidden 16; GAT 8 heads × 8, one output head;
# SAGE mean and GIN hidden 64), which are PyG's (../shared/anchors/pyg_anchor.py; GIN from
# bench/pyg_worker.py) layer for layer. PyG's GATConv has no dropout on the transformed
# features, so Locus's GAT runs with gnn.att_value_dropout=0 here. A timed epoch on either side
# is one training step (input dropout, forward, loss, backward, Adam step), no evaluation.
# PyG runs as ../shared/anchors/README.md sets it up (Debian's python3-torch, the PyG 2.4.0
# source unpacked into a temporary folder, OPENBLAS_NUM_THREADS=1, 2 torch threads); missing
# Debian packages are installed (as root). Timings mean something only on an idle machine: the
# table records the load average before each case.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_start pyg "$@"

TIMED=${TIMED:-50}
positive TIMED
read -r -a models <<<"${MODELS:-gcn gat sage gin}"
read -r -a datasets <<<"${DATASETS:-cora citeseer_like}"
[[ ${#models[@]} -gt 0 && ${#datasets[@]} -gt 0 ]] || die "MODELS and DATASETS must not be empty"
for m in "${models[@]}"; do
  case "$m" in gcn|gat|sage|gin) ;; *) die "unknown model '$m' in MODELS (gcn gat sage gin)" ;; esac
done
shared=${LOCUS_SHARED:-../shared}
anchors=$shared/anchors
[[ -f "$anchors/pyg_anchor.py" && -f "$anchors/pyg-2.4.0.tar.gz" ]] \
  || die "no PyG anchor at $anchors (pyg_anchor.py and pyg-2.4.0.tar.gz; set LOCUS_SHARED)"
anchors=$(cd "$anchors" && pwd)
for d in "${datasets[@]}"; do
  case "$d" in
    cora) [[ -f "$shared/datasets/cora/dataset.yaml" ]] || die "no Cora at $shared/datasets/cora (set LOCUS_SHARED)" ;;
    citeseer_like) ;;
    *) die "unknown dataset '$d' in DATASETS (cora citeseer_like)" ;;
  esac
done

py=/usr/bin/python3   # Debian's python3 with python3-torch; a venv's python3 lacks it
bash scripts/ensure-packages.sh python3-torch python3-scipy python3-numpy python3-jinja2 python3-tqdm \
  python3-requests python3-psutil python3-fsspec python3-pyparsing python3-sklearn python3-networkx \
  libopenblas0-pthread >&2 || die "could not install PyG's Debian packages (see above)"
bench_locus
bench_tmp
mkdir -p "$tmp/pyg"
tar -xzf "$anchors/pyg-2.4.0.tar.gz" -C "$tmp/pyg" || die "cannot unpack $anchors/pyg-2.4.0.tar.gz"
PYTHONPATH="$tmp/pyg" "$py" -c 'import torch_geometric' 2>/dev/null || die "$py cannot import torch_geometric from $tmp/pyg"

dataset_dir() {
  case "$1" in
    cora) (cd "$shared/datasets/cora" && pwd) ;;
    citeseer_like) echo "$tmp/citeseer_like" ;;
  esac
}
if [[ " ${datasets[*]} " == *" citeseer_like "* ]]; then
  "$LOCUS_BIN" generate random --nodes 3327 --edges 4552 --classes 6 --features 3703 --feature-nnz 32 --seed 0 \
    --out "$tmp/citeseer_like" >&2 || die "locus generate failed (see above)"
fi

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(loadavg)
for d in "${datasets[@]}"; do
  dir=$(dataset_dir "$d")
  for m in "${models[@]}"; do
    case_name="$d.$m"
    cut -d' ' -f1 /proc/loadavg >"$tmp/$case_name.load"
    say "$d $m: PyG (load $(loadavg))"
    OPENBLAS_NUM_THREADS=1 PYTHONPATH="$tmp/pyg" "$py" bench/pyg_worker.py "$anchors" worker --dataset "$dir" \
      --model "$m" --seeds 0 --warmup 10 --timed "$TIMED" --result "$tmp/$case_name.pyg.json" \
      >"$tmp/$case_name.pyg.log" 2>&1 || { cat "$tmp/$case_name.pyg.log" >&2; die "$d $m: PyG failed (above)"; }
    overrides=("dataset.path=$dir/dataset.yaml" num_runs=1 "optim.max_epoch=$((TIMED + 10))" train.patience=0
               num_threads=2)
    [[ $m == gat ]] && overrides+=(gnn.att_value_dropout=0)
    say "$d $m: Locus: $LOCUS_BIN train apps/configs/cora_$m.yaml ${overrides[*]}"
    "$LOCUS_BIN" train "apps/configs/cora_$m.yaml" "${overrides[@]}" --json "$tmp/$case_name.locus.json" \
      >"$tmp/$case_name.locus.log" 2>&1 || { cat "$tmp/$case_name.locus.log" >&2; die "$d $m: locus train failed (above)"; }
  done
done
load_end=$(loadavg)

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z "$(git status --porcelain 2>/dev/null | head -n 1)" ]] || commit="$commit+local changes"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
table=$("$py" - "$tmp" "$commit" "${cpu:-unknown} ($(nproc) cores)" "$load_start" "$load_end" "$TIMED" \
  "${datasets[*]}" "${models[*]}" <<'PY'
import datetime, json, sys

tmp, commit, cpu, load_start, load_end, timed, datasets, models = sys.argv[1:9]
NAMES = dict(gcn="GCN", gat="GAT", sage="GraphSAGE", gin="GIN")
GOAL = dict(gcn=30, gat=20, sage=15, gin=15)   # issue 19
DATA = dict(cora="Cora", citeseer_like="CiteSeer-sized (generated)")

def load(path, key):
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit("[pyg] FAILED: cannot read %s: %s" % (path, e))
    if not isinstance(d.get(key), (int, float)) or d[key] <= 0:
        sys.exit("[pyg] FAILED: %s has no positive %s" % (path, key))
    return d

rows, versions = [], ""
for d in datasets.split():
    for m in models.split():
        pyg = load("%s/%s.%s.pyg.json" % (tmp, d, m), "train_epoch_ms_median")
        loc = load("%s/%s.%s.locus.json" % (tmp, d, m), "epoch_ms_median")
        versions = "PyG %s on torch %s" % (pyg.get("pyg", "?"), pyg.get("torch", "?"))
        with open("%s/%s.%s.load" % (tmp, d, m)) as f:
            load1 = f.read().strip()
        ratio = pyg["train_epoch_ms_median"] / loc["epoch_ms_median"]
        rows.append("| %s | %s | %.2f | %.3f | **%.1f×** | %d× | %s | %.0f | %.0f | %s |" % (
            DATA[d], NAMES[m], pyg["train_epoch_ms_median"], loc["epoch_ms_median"], ratio, GOAL[m],
            "met" if ratio >= GOAL[m] else "not met", pyg["peak_rss_mib"], loc["peak_rss_mib"], load1))
print("\n".join([
    "# Training epoch: Locus vs PyTorch Geometric",
    "",
    "%s · commit %s · %s · %s · 2 threads each · load average (1, 5, 15 min) %s at the start, %s at "
    "the end" % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), commit, cpu,
                 versions, load_start, load_end),
    "",
    "| dataset | model | PyG ms/epoch | Locus ms/epoch | speed-up | goal | | PyG peak RSS MiB "
    "| Locus peak RSS MiB | load (1 min) |",
    "|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
] + rows + [
    "",
    "ms/epoch: the median over %s timed training steps (input dropout, forward, loss, backward, Adam "
    "step; no evaluation) after 10 warm-up steps. Speed-up = PyG ms / Locus ms, both measured one "
    "after the other in this run. Models: apps/configs/cora_<model>.yaml on both sides (GAT without "
    "dropout on the transformed features, which PyG's GATConv lacks); PyG's from "
    "../shared/anchors/pyg_anchor.py and bench/pyg_worker.py (GIN). The CiteSeer-sized graph: "
    "`locus generate random --nodes 3327 --edges 4552 --classes 6 --features 3703 --feature-nnz 32 "
    "--seed 0`. Load: the 1-minute load average before the case; above the core count the timings "
    "are inflated and noisy. Reproduce: `bash bench/pyg_speed.sh --save`." % timed,
]))
PY
) || die "could not build the table"
bench_table pyg_speed "$table"
