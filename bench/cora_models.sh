#!/usr/bin/env bash
# Side-by-side benchmark of the four Locus models on Cora (Planetoid public split): for each of
# GCN, GAT, GraphSAGE and GIN, `locus train apps/configs/cora_<model>.yaml` and the plain-PyTorch
# reference bench/reference.py reading the same config, same number of runs (seeds 0..RUNS-1),
# 2 threads each, one after the other; then one markdown table.
#
#   bash bench/cora_models.sh            # prints the table
#   bash bench/cora_models.sh --save     # ... and writes it to bench/results/cora_models.md
#   RUNS=3 MODELS="gat sage" bash bench/cora_models.sh
#
# Environment:
#   RUNS=N            runs (seeds) per implementation and model (default 10)
#   MODELS="..."      the models, from gcn gat sage gin (default: all four)
#   RESULT_NAME=NAME  --save writes bench/results/NAME.md (default cora_models)
#   LOCUS_SHARED=DIR  the shared data folder (default ../shared, relative to the repo root)
#   LOCUS_BIN=PATH    the locus program to benchmark (default build/locus, built by setup.sh;
#                     with LOCUS_BIN set, setup.sh is not run)
#   REFERENCE_BLAS_DIR=DIR  a folder with another libblas.so.3 (e.g. OpenBLAS's
#                     .../openblas-pthread) put first on the reference's LD_LIBRARY_PATH, with
#                     OPENBLAS_NUM_THREADS=2; by default torch uses the system's libblas.so.3
#                     (Debian's default: the unoptimised reference BLAS)
#
# Installs python3-torch and python3-yaml when missing (apt-get, as root) and builds Locus
# with scripts/setup.sh. Timings are only comparable on an otherwise idle machine: the table
# records the load average before each model's runs.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_start bench "$@"

RUNS=${RUNS:-10}
positive RUNS
read -r -a models <<<"${MODELS:-gcn gat sage gin}"
[[ ${#models[@]} -gt 0 ]] || die "MODELS is empty"
for m in "${models[@]}"; do
  case "$m" in gcn|gat|sage|gin) ;; *) die "unknown model '$m' in MODELS (gcn gat sage gin)" ;; esac
  [[ -f "apps/configs/cora_$m.yaml" ]] || die "apps/configs/cora_$m.yaml is missing"
done
threads=2
py=/usr/bin/python3   # Debian's python3 with python3-torch; a pyenv/venv python3 lacks it

shared=${LOCUS_SHARED:-../shared}
dataset="$shared/datasets/cora/dataset.yaml"
[[ -f "$dataset" ]] || die "no Cora dataset at $dataset (set LOCUS_SHARED to the folder holding datasets/)"
dataset=$(cd "$(dirname "$dataset")" && pwd)/dataset.yaml

bash scripts/ensure-packages.sh python3-torch python3-yaml >&2 \
  || die "could not install python3-torch / python3-yaml (see above)"
"$py" -c 'import torch, yaml' 2>/dev/null || die "$py cannot import torch and yaml"
if [[ -z "${LOCUS_BIN:-}" ]]; then
  bash scripts/setup.sh >&2 || die "Locus does not build (scripts/setup.sh, see above); LOCUS_BIN=PATH uses an existing binary"
fi
locus=${LOCUS_BIN:-build/locus}
[[ -x "$locus" ]] || die "$locus is missing or not executable"
ref_env=()
if [[ -n "${REFERENCE_BLAS_DIR:-}" ]]; then
  [[ -f "$REFERENCE_BLAS_DIR/libblas.so.3" ]] || die "REFERENCE_BLAS_DIR=$REFERENCE_BLAS_DIR holds no libblas.so.3"
  ref_env=(env "LD_LIBRARY_PATH=$REFERENCE_BLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
           "OPENBLAS_NUM_THREADS=$threads")
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/locus-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(loadavg)
read -r load1 _ </proc/loadavg || load1=0
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
  say "warning: load average is $load_start (1, 5, 15 min) on $(nproc) cores; other work on this machine skews the timings"
fi

for m in "${models[@]}"; do
  config=apps/configs/cora_$m.yaml
  cut -d' ' -f1 /proc/loadavg >"$tmp/$m.load"
  say "$m: Locus: $locus train $config num_runs=$RUNS num_threads=$threads dataset.path=$dataset (load $(loadavg))"
  t0=$SECONDS
  "$locus" train "$config" "num_runs=$RUNS" "num_threads=$threads" "dataset.path=$dataset" \
    --json "$tmp/$m.locus.json" >"$tmp/$m.locus.log" 2>&1 || {
    cat "$tmp/$m.locus.log" >&2
    die "$m: locus train exited non-zero (output above)"
  }
  [[ -s "$tmp/$m.locus.json" ]] || { cat "$tmp/$m.locus.log" >&2; die "$m: locus train wrote no JSON"; }
  say "$m: Locus done in $((SECONDS - t0)) s"

  say "$m: reference: $py bench/reference.py --model $m --config $config --dataset $dataset --runs $RUNS --threads $threads"
  t0=$SECONDS
  "${ref_env[@]}" "$py" bench/reference.py --model "$m" --config "$config" --dataset "$dataset" --runs "$RUNS" \
    --threads "$threads" --json "$tmp/$m.reference.json" >"$tmp/$m.reference.log" 2>&1 || {
    cat "$tmp/$m.reference.log" >&2
    die "$m: the reference exited non-zero (output above)"
  }
  say "$m: reference done in $((SECONDS - t0)) s"
done
load_end=$(loadavg)

# Context for the table: commit, CPU, BLAS behind Debian's torch.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git status --porcelain 2>/dev/null | head -n 1)" ]]; then commit="$commit+local changes"; fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)

table=$("$py" - "$tmp" "$RUNS" "$threads" "$commit" "${cpu:-unknown} ($(nproc) cores)" "$blas" \
  "$load_start" "$load_end" "${models[@]}" <<'PY'
import datetime, json, sys

tmp, runs, threads, commit, cpu, blas, load_start, load_end = sys.argv[1:9]
models = sys.argv[9:]
KEYS = ("test_acc_mean", "test_acc_std", "epoch_ms_median", "peak_rss_mib")
# Config keys both sides report; they must agree (the reference reads the same file).
SAME = ("dataset.feature_norm", "gnn.layer_type", "gnn.layers_mp", "gnn.dim_inner", "gnn.act",
        "gnn.dropout", "optim.optimizer", "optim.base_lr", "optim.weight_decay",
        "optim.weight_decay_on", "optim.max_epoch", "train.patience", "seed")
GAT_SAME = ("gnn.att_heads", "gnn.att_heads_out", "gnn.att_dropout", "gnn.att_value_dropout")
NAMES = dict(gcn="GCN", gat="GAT", sage="GraphSAGE", gin="GIN")

def load(path, who):
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit("[bench] FAILED: cannot read %s JSON %s: %s" % (who, path, e))
    missing = [k for k in KEYS if not isinstance(d.get(k), (int, float))]
    if missing:
        sys.exit("[bench] FAILED: %s JSON %s lacks numeric %s" % (who, path, ", ".join(missing)))
    return d

def pct(d):
    scale = 100.0 if d["test_acc_mean"] <= 1.0 else 1.0   # fractions; accept percentages too
    return "%.2f ± %.2f" % (scale * d["test_acc_mean"], scale * d["test_acc_std"])

def describe(c):
    """One line of hyper-parameters from the reference's effective config."""
    kind = c["gnn.layer_type"]
    if kind == "gat":
        arch = "%d layers, hidden %d heads × %d (concatenated), %d output head%s (averaged)" % (
            c["gnn.layers_mp"], c["gnn.att_heads"], c["gnn.dim_inner"], c["gnn.att_heads_out"],
            "" if c["gnn.att_heads_out"] == 1 else "s")
    else:
        arch = "%d layers, hidden %d" % (c["gnn.layers_mp"], c["gnn.dim_inner"])
    drop = "dropout %g" % c["gnn.dropout"]
    if kind == "gat":
        drop += ", attention dropout %g" % c["gnn.att_dropout"]
        if c.get("gnn.att_value_dropout"):
            drop += ", dropout %g on the transformed features before aggregation" % c["gnn.att_value_dropout"]
    wd_on = "the first layer" if c["optim.weight_decay_on"] == "first" else "all layers"
    stop = "%d epochs" % c["optim.max_epoch"]
    if c.get("train.patience"):
        stop = "up to %d epochs, patience %d" % (c["optim.max_epoch"], c["train.patience"])
    if c.get("train.select") == "val_acc_loss":
        stop += ", model selection val_acc_loss (the GAT paper's rule)"
    return "%s, %s, %s, %s lr %g, weight decay %g on %s, features %s, %s" % (
        arch, c["gnn.act"], drop, c["optim.optimizer"], c["optim.base_lr"],
        c["optim.weight_decay"], wd_on,
        "row-normalised" if c["dataset.feature_norm"] == "row" else "as given", stop)

rows, torch_version, rss_import, notes, described = [], "?", None, [], []
for m in models:
    loc = load("%s/%s.locus.json" % (tmp, m), "Locus")
    ref = load("%s/%s.reference.json" % (tmp, m), "reference")
    lc, rc = loc.get("config") or {}, ref.get("config") or {}
    for k in SAME + (GAT_SAME if m == "gat" else ()):
        if k in lc and k in rc and lc[k] != rc[k] and not (
                isinstance(lc[k], (int, float)) and isinstance(rc[k], (int, float))
                and abs(lc[k] - rc[k]) <= 1e-12 * max(1.0, abs(lc[k]))):
            sys.exit("[bench] FAILED: %s: Locus ran %s=%r but the reference %r"
                     % (m, k, lc[k], rc[k]))
    if loc.get("num_params") and ref.get("num_params") and loc["num_params"] != ref["num_params"]:
        notes.append("%s: parameter counts differ (Locus %s, reference %s)."
                     % (m, loc["num_params"], ref["num_params"]))
    described.append((m, describe(rc)))
    torch_version = ref.get("torch_version", torch_version)
    libs = [b for b in ref.get("blas") or [] if "lapack" not in b.rsplit("/", 1)[-1]]
    if libs:
        blas = ", ".join(libs)
    if isinstance(ref.get("rss_after_import_mib"), (int, float)):
        rss_import = ref["rss_after_import_mib"]
    with open("%s/%s.load" % (tmp, m)) as f:
        load1 = f.read().strip()
    speedup = ("%.2f×" % (ref["epoch_ms_median"] / loc["epoch_ms_median"])
               if loc["epoch_ms_median"] > 0 else "n/a")
    rows.append("| %s | %s | %s | %.3f | %.3f | %s | %.1f | %.1f | %s |" % (
        NAMES[m], pct(loc), pct(ref), loc["epoch_ms_median"], ref["epoch_ms_median"], speedup,
        loc["peak_rss_mib"], ref["peak_rss_mib"], load1))

lines = [
    "# %s on Cora: Locus vs plain PyTorch" % (
        " and ".join(", ".join(NAMES[m] for m in models).rsplit(", ", 1))),
    "",
    "%s · commit %s · %s · %s runs · %s threads each · load average (1, 5, 15 min) %s at the "
    "start, %s at the end" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        commit, cpu, runs, threads, load_start, load_end),
    "",
    "| model | Locus test acc %% | PyTorch %s test acc %% | Locus ms/epoch | PyTorch ms/epoch "
    "| speed-up | Locus peak RSS MiB | PyTorch peak RSS MiB | load (1 min) |" % torch_version,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
] + rows + [
    "",
    "Accuracy: mean ± population std over seeds 0..%d of the test accuracy at the epoch the "
    "config's train.select picks (default: the first epoch of best validation accuracy). ms/epoch: median wall time of one training step (forward, loss, "
    "backward, optimizer step; no evaluation) after 10 warm-up epochs per run. Speed-up = "
    "PyTorch ms / Locus ms. Load: the 1-minute load average before the model's runs; above "
    "the core count, both sides wait for CPU and the timings are inflated and noisy." % (int(runs) - 1),
    "",
    "Both sides read the same config, apps/configs/cora_<model>.yaml:",
    "",
] + ["- %s: %s" % (NAMES[m], d) for m, d in described] + [
    "",
    "The reference (bench/reference.py) is plain PyTorch without PyG, the same models layer "
    "for layer (dropout before every layer, the activation between layers; GAT with self loops, "
    "concatenated hidden heads, averaged output heads; SAGE mean aggregation with a root weight; "
    "GIN (1 + ε)·x + Σ neighbours through a 2-layer MLP, ε learnable from 0 and not decayed): "
    "features and propagation matrices as torch sparse tensors, GAT on edge-index tensors "
    "(index_select, index_add_, a scatter-max/sum segment softmax). Its RSS includes the "
    "Python interpreter and libtorch "
    "(%s MiB right after `import torch`); its dense matrix products go through %s (Debian's torch is built against the generic "
    "libblas.so.3; the system default is the unoptimised reference BLAS, OpenBLAS via "
    "REFERENCE_BLAS_DIR speeds up the reference's dense products several times)." % (
        "%.0f" % rss_import if rss_import is not None else "?", blas),
]
if notes:
    lines += [""] + notes
print("\n".join(lines))
PY
) || die "could not build the table"

bench_table "${RESULT_NAME:-cora_models}" "$table"
