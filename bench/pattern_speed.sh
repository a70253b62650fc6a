#!/usr/bin/env bash
# Training throughput on PATTERN (issue 18, "Speed"): graphs per second of `locus train` against the
# plain-PyTorch batched reference bench/graph_reference.py training the same model from the same
# config on the same data, in the same run, one after the other, 2 threads each; and peak memory.
# One PATTERN dataset is generated (`locus generate pattern`, seed 0) into a temp folder; then for
#   gcn       4 layers, width 146, gnn.residual with BatchNorm (encoder, h ← h + ReLU(BN(GCN(h))),
#             head: the benchmarking-GNNs widths for 100k parameters; 87,894 here with a Linear
#             head); the plain 4-layer stack when the Locus program has no gnn.residual (the table
#             says so)
#   gatedgcn  4 layers, width 70, BatchNorm (its residual structure; 100,942 parameters)
# each side trains EPOCHS epochs in batches of 128 graphs (dropout 0, Adam lr 0.001, no weight
# decay), and one markdown table compares them.
#
#   bash bench/pattern_speed.sh            # prints the table
#   bash bench/pattern_speed.sh --save     # ... and writes it to bench/results/pattern_speed.md
#   GRAPHS=200 EPOCHS=2 MODELS=gcn bash bench/pattern_speed.sh
#
# Environment:
#   GRAPHS=N          training graphs (default 1000; graphs/s = GRAPHS / median epoch seconds)
#   EVAL_GRAPHS=N     validation graphs and as many test graphs (default 100)
#   EPOCHS=N          training epochs per side and model (default 3; the first min(10, EPOCHS/5)
#                     are warm-up and left out of the median, as `locus train` does)
#   RUNS=N            runs (seeds 0..N-1) per side and model (default 1)
#   MODELS="..."      from gcn gatedgcn (default both)
#   THREADS=N         threads of each side (default 2)
#   RESULT_NAME=NAME  --save writes bench/results/NAME.md (default pattern_speed)
#   LOCUS_BIN=PATH    the locus program to benchmark (default build/locus, built by setup.sh; with
#                     LOCUS_BIN set, setup.sh is not run); copied to the temp folder first, so a
#                     rebuild during the run does not change it
#   REFERENCE_BLAS_DIR=DIR  the folder of the libblas.so.3 put first on the reference's
#                     LD_LIBRARY_PATH, with OPENBLAS_NUM_THREADS=THREADS (default Debian's OpenBLAS,
#                     /usr/lib/x86_64-linux-gnu/openblas-pthread, installed here as
#                     libopenblas0-pthread: the unoptimised reference BLAS would be an unfair
#                     baseline); REFERENCE_BLAS_DIR= (empty) keeps the system's libblas.so.3
#   REFERENCE_MALLOC="locus default"  the glibc malloc settings the reference runs with, one run
#                     each: locus = Locus's own (core/alloc.cpp: mmap threshold 1 GiB, no trimming,
#                     as MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_=2^62: freed blocks are
#                     reused instead of page-faulted in again, and the heap keeps its peak),
#                     default = glibc's. The speed-up is taken against the faster of them
#
# Installs python3-torch, python3-yaml and libopenblas0-pthread when missing (apt-get, as root).
# With the defaults it needs about 15 GiB of memory (GatedGCN's edge states: ~750k directed edges
# per batch of 128 PATTERN graphs, at width 70) and takes about 15 minutes on 2 cores, GatedGCN
# most of it. Timings are only comparable on an otherwise idle machine: the table records the
# load average before each side's runs.
set -euo pipefail

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_start pattern-speed "$@"

GRAPHS=${GRAPHS:-1000}
EVAL_GRAPHS=${EVAL_GRAPHS:-100}
EPOCHS=${EPOCHS:-3}
RUNS=${RUNS:-1}
THREADS=${THREADS:-2}
for knob in GRAPHS EVAL_GRAPHS EPOCHS RUNS THREADS; do positive "$knob"; done
read -r -a models <<<"${MODELS:-gcn gatedgcn}"
[[ ${#models[@]} -gt 0 ]] || die "MODELS is empty"
for m in "${models[@]}"; do
  case "$m" in gcn|gatedgcn) ;; *) die "unknown model '$m' in MODELS (gcn gatedgcn)" ;; esac
done
py=/usr/bin/python3   # Debian's python3 with python3-torch; a pyenv/venv python3 lacks it

bash scripts/ensure-packages.sh python3-torch python3-yaml libopenblas0-pthread >&2 \
  || die "could not install python3-torch / python3-yaml / libopenblas0-pthread (see above)"
"$py" -c 'import torch, yaml, numpy' 2>/dev/null || die "$py cannot import torch, yaml and numpy"
bench_locus
bench_tmp
cp "$LOCUS_BIN" "$tmp/locus"
locus=$tmp/locus
export LOCUS_BIN=$locus   # the reference reads Locus's config schema from it
export OMP_NUM_THREADS=$THREADS

ref_env=(env)
blas_dir=${REFERENCE_BLAS_DIR-/usr/lib/x86_64-linux-gnu/openblas-pthread}
if [[ -n "$blas_dir" ]]; then
  [[ -f "$blas_dir/libblas.so.3" ]] || die "REFERENCE_BLAS_DIR=$blas_dir holds no libblas.so.3"
  ref_env+=("LD_LIBRARY_PATH=$blas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "OPENBLAS_NUM_THREADS=$THREADS")
fi
read -r -a mallocs <<<"${REFERENCE_MALLOC-locus default}"
[[ ${#mallocs[@]} -gt 0 ]] || die "REFERENCE_MALLOC is empty"
for a in "${mallocs[@]}"; do
  case "$a" in locus|default) ;; *) die "unknown REFERENCE_MALLOC '$a' (locus default)" ;; esac
done
malloc_env() {  # malloc_env locus|default: the variables of that setting
  [[ $1 == locus ]] && printf '%s\n' MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4611686018427387904
  return 0
}

say "generating PATTERN: $GRAPHS training graphs, $EVAL_GRAPHS validation and $EVAL_GRAPHS test graphs (seed 0)"
"$locus" generate pattern --train-graphs "$GRAPHS" --val-graphs "$EVAL_GRAPHS" --test-graphs "$EVAL_GRAPHS" --seed 0 \
  --out "$tmp/pattern" >"$tmp/generate.log" 2>&1 || { cat "$tmp/generate.log" >&2; die "locus generate pattern failed"; }
dataset=$tmp/pattern/dataset.yaml
gen_line=$(head -n 1 "$tmp/generate.log")

# gnn.residual is new (issue 18): without it the GCN row is the plain stack.
if "$locus" config --list --format json | "$py" -c 'import json, sys; sys.exit(not any(k["key"] == "gnn.residual" for k in json.load(sys.stdin)))'; then
  gcn_extra="  residual: true
  norm: batch"
  gcn_kind="residual, BatchNorm"
else
  gcn_extra=""
  gcn_kind="plain stack (this Locus has no gnn.residual)"
  say "warning: $locus has no gnn.residual: the GCN row is the plain 4-layer stack"
fi
write_config() {  # write_config MODEL WIDTH EXTRA
  cat >"$tmp/$1.yaml" <<EOF
# bench/pattern_speed.sh: $1 on PATTERN, read by both sides
dataset:
  path: $dataset
gnn:
  layer_type: $1
  layers_mp: 4
  dim_inner: $2
  act: relu
  dropout: 0.0
$3
optim:
  optimizer: adam
  base_lr: 0.001
  weight_decay: 0.0
  max_epoch: $EPOCHS
train:
  batch_size: 128
seed: 0
num_runs: $RUNS
EOF
}
write_config gcn 146 "$gcn_extra"
write_config gatedgcn 70 "  norm: batch"

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(loadavg)
read -r load1 _ </proc/loadavg || load1=0
if awk -v l="$load1" -v c="$(nproc)" 'BEGIN { exit !(l > 0.5) }'; then
  say "warning: load average is $load_start (1, 5, 15 min) on $(nproc) cores; other work on this machine skews the timings"
fi

for m in "${models[@]}"; do
  cut -d' ' -f1 /proc/loadavg >"$tmp/$m.locus.load"
  say "$m: Locus: locus train $tmp/$m.yaml num_threads=$THREADS (load $(loadavg))"
  t0=$SECONDS
  "$locus" train "$tmp/$m.yaml" "num_threads=$THREADS" --json "$tmp/$m.locus.json" >"$tmp/$m.locus.log" 2>&1 || {
    cat "$tmp/$m.locus.log" >&2
    die "$m: locus train exited non-zero (output above)"
  }
  say "$m: Locus done in $((SECONDS - t0)) s: $(grep -m 1 'ms per training epoch' "$tmp/$m.locus.log" || true)"

  for a in "${mallocs[@]}"; do
    cut -d' ' -f1 /proc/loadavg >"$tmp/$m.reference-$a.load"
    say "$m: reference ($a malloc): $py bench/graph_reference.py --config $tmp/$m.yaml --threads $THREADS (load $(loadavg))"
    t0=$SECONDS
    mapfile -t menv < <(malloc_env "$a")
    "${ref_env[@]}" "${menv[@]}" "$py" bench/graph_reference.py --config "$tmp/$m.yaml" --threads "$THREADS" \
      --json "$tmp/$m.reference-$a.json" >"$tmp/$m.reference-$a.log" 2>&1 || {
      cat "$tmp/$m.reference-$a.log" >&2
      die "$m: the reference exited non-zero (output above)"
    }
    say "$m: reference ($a malloc) done in $((SECONDS - t0)) s: $(tail -n 1 "$tmp/$m.reference-$a.log")"
  done
done
load_end=$(loadavg)

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null | head -n 1)" ]]; then commit="$commit+local changes"; fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

table=$("$py" - "$tmp" "$GRAPHS" "$EVAL_GRAPHS" "$EPOCHS" "$RUNS" "$THREADS" "$commit" "${cpu:-unknown} ($(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo))" \
  "$load_start" "$load_end" "$gcn_kind" "${mallocs[*]}" "$gen_line" "${models[@]}" <<'PY'
import datetime, json, os, sys

(tmp, graphs, eval_graphs, epochs, runs, threads, commit, cpu, load_start, load_end, gcn_kind, mallocs,
 gen_line) = sys.argv[1:14]
models = sys.argv[14:]
mallocs = mallocs.split()
graphs = int(graphs)
KEYS = ("test_acc_mean", "epoch_ms_median", "peak_rss_mib", "num_params")
SAME = ("gnn.layer_type", "gnn.layers_mp", "gnn.dim_inner", "gnn.act", "gnn.dropout", "gnn.norm", "gnn.residual",
        "optim.optimizer", "optim.base_lr", "optim.weight_decay", "optim.max_epoch", "train.batch_size", "seed")
MALLOC = dict(locus="Locus's malloc settings", default="glibc's default malloc")

def load(path, who):
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit("[pattern-speed] FAILED: cannot read %s JSON %s: %s" % (who, path, e))
    missing = [k for k in KEYS if not isinstance(d.get(k), (int, float))]
    if missing:
        sys.exit("[pattern-speed] FAILED: %s JSON %s lacks numeric %s" % (who, path, ", ".join(missing)))
    return d

def read(path):
    with open(path) as f:
        return f.read().strip()

def acc(d):
    return "%.2f" % (100 * d["test_acc_mean"])

rows, notes, blas, torch_version, rss_import = [], [], "?", "?", None
for m in models:
    loc = load("%s/%s.locus.json" % (tmp, m), "Locus")
    refs = [load("%s/%s.reference-%s.json" % (tmp, m, a), "reference") for a in mallocs]
    lc = loc.get("config") or {}
    for ref in refs:
        rc = ref.get("config") or {}
        for k in SAME:
            if k in lc and k in rc and lc[k] != rc[k] and not (
                    isinstance(lc[k], (int, float)) and isinstance(rc[k], (int, float)) and abs(lc[k] - rc[k]) <= 1e-12):
                sys.exit("[pattern-speed] FAILED: %s: Locus ran %s=%r but the reference %r" % (m, k, lc[k], rc[k]))
    params = "%d" % loc["num_params"]
    if any(r["num_params"] != loc["num_params"] for r in refs):
        params = "%d / %d" % (loc["num_params"], refs[0]["num_params"])
        notes.append("**%s: the parameter counts differ (Locus %d, PyTorch %d): the two sides do not train the same "
                     "model.**" % (m, loc["num_params"], refs[0]["num_params"]))
    gps_l = graphs / (loc["epoch_ms_median"] / 1e3)
    gps_r = [graphs / (r["epoch_ms_median"] / 1e3) for r in refs]
    name = "GCN (%s)" % gcn_kind if m == "gcn" else "GatedGCN (BatchNorm)"
    rows.append("| %s | %s | %.1f | %s | %.2f× | %.0f | %s | %s / %s | %s |" % (
        name, params, gps_l, " / ".join("%.1f" % g for g in gps_r), gps_l / max(gps_r), loc["peak_rss_mib"],
        " / ".join("%.0f" % r["peak_rss_mib"] for r in refs), acc(loc), " / ".join(acc(r) for r in refs),
        " / ".join([read("%s/%s.locus.load" % (tmp, m))] +
                   [read("%s/%s.reference-%s.load" % (tmp, m, a)) for a in mallocs])))
    libs = [b for b in refs[0].get("blas") or [] if "lapack" not in os.path.basename(b)]
    blas = ", ".join(libs) if libs else "?"
    torch_version = refs[0].get("torch_version", torch_version)
    rss_import = refs[0].get("rss_after_import_mib", rss_import)

which = " / ".join(MALLOC[a] for a in mallocs)
lines = [
    "# PATTERN training throughput: Locus vs plain PyTorch",
    "",
    "%s · commit %s · %s · %s threads each · load average (1, 5, 15 min) %s at the start, %s at the end" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), commit, cpu, threads,
        load_start, load_end),
    "",
    "| model | parameters | Locus graphs/s | PyTorch %s graphs/s (%s) | speed-up | Locus peak RSS MiB "
    "| PyTorch peak RSS MiB (%s) | test acc %% Locus / PyTorch runs | load (1 min) before each run |" % (
        torch_version, which, which),
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
] + rows + [
    "",
    "Data: `locus generate pattern --train-graphs %d --val-graphs %s --test-graphs %s --seed 0` (%s). Both sides "
    "read one config per model: 4 layers (GCN width 146, GatedGCN width 70), ReLU, dropout 0, Adam lr 0.001, "
    "no weight decay, %s epoch%s in batches of 128 graphs shuffled every epoch, %s run%s (seed 0%s)." % (
        graphs, eval_graphs, eval_graphs, gen_line.split(": ", 1)[-1], epochs, "" if epochs == "1" else "s",
        runs, "" if runs == "1" else "s", "" if runs == "1" else " on"),
    "",
    "graphs/s = training graphs / median training-epoch time (shuffle, batch building, forward, loss, backward, "
    "Adam step; evaluation excluded; the first min(10, epochs / 5) epochs of a run left out as warm-up, as "
    "`locus train` does). Speed-up = Locus graphs/s / the faster PyTorch graphs/s. Test accuracy: the epoch of "
    "best validation accuracy, mean over runs; after a few epochs it is a check that both sides learn alike, not "
    "a result, and with BatchNorm it swings with the running statistics (the two sides draw from different "
    "generators). Load: the 1-minute load average before each run; above the core count the timings are "
    "inflated and noisy (OpenMP threads spin at their barriers).",
    "",
    "The reference (bench/graph_reference.py) is plain PyTorch without PyG: the same models layer for layer, "
    "each batch the block-diagonal union of its graphs built from edge-index tensors; GCN's Â and GatedGCN's "
    "per-destination sums as torch.sparse.mm products, GatedGCN's gathers as index_select. Its RSS includes "
    "the Python interpreter and libtorch (%s MiB right after `import torch`) and the whole dataset; its dense "
    "products go through %s. Each reference column pair is one run with %s: Locus's settings (core/alloc.cpp: "
    "mmap threshold 1 GiB, no trimming) save page faults, glibc's return freed blocks at once (its RSS is close to "
    "the live tensors)." % (
        "%.0f" % rss_import if isinstance(rss_import, (int, float)) else "?", blas, which),
]
if notes:
    lines += [""] + notes
print("\n".join(lines))
PY
) || die "could not build the table"

bench_table "${RESULT_NAME:-pattern_speed}" "$table"
