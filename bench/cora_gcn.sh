#!/usr/bin/env bash
# Locus's GCN vs the plain-PyTorch reference (bench/reference.py --model gcn, same config) on
# Cora (Planetoid public split), same number of runs, 2 threads each, one after the other.
#
#   bash bench/cora_gcn.sh            # prints the table
#   bash bench/cora_gcn.sh --save     # ... and writes it to bench/results/cora_gcn.md
#   RUNS=3 bash bench/cora_gcn.sh     # fewer runs (default 10)
#
# Environment:
#   RUNS=N            runs (seeds) per implementation (default 10)
#   LOCUS_SHARED=DIR  the shared data folder (default ../shared, relative to the repo root)
#   LOCUS_BIN=PATH    the locus program to benchmark (default build/locus, built by setup.sh)
#
# Installs python3-torch and python3-yaml when missing (apt-get, as root) and builds Locus
# with scripts/setup.sh. Timings are only comparable on an otherwise idle machine.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

say() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] FAILED: %s\n' "$*" >&2; exit 1; }

save=0
for arg in "$@"; do
  case "$arg" in
    --save) save=1 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (usage: bash bench/cora_gcn.sh [--save])" ;;
  esac
done

RUNS=${RUNS:-10}
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
threads=2
py=/usr/bin/python3   # Debian's python3 with python3-torch; a pyenv/venv python3 lacks it

shared=${LOCUS_SHARED:-../shared}
dataset="$shared/datasets/cora/dataset.yaml"
[[ -f "$dataset" ]] || die "no Cora dataset at $dataset (set LOCUS_SHARED to the folder holding datasets/)"
dataset=$(cd "$(dirname "$dataset")" && pwd)/dataset.yaml
config=apps/configs/cora_gcn.yaml

bash scripts/ensure-packages.sh python3-torch python3-yaml >&2 \
  || die "could not install python3-torch / python3-yaml (see above)"
"$py" -c 'import torch, yaml' 2>/dev/null || die "$py cannot import torch and yaml"
bash scripts/setup.sh >&2 || die "Locus does not build (scripts/setup.sh, see above)"

locus=${LOCUS_BIN:-build/locus}
[[ -x "$locus" ]] || die "$locus is missing or not executable"
[[ -f "$config" ]] || die "$config is missing"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/locus-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

read -r load1 _ </proc/loadavg || load1=0
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
  say "warning: 1-minute load average is $load1; other work on this machine skews the timings"
fi

say "Locus: $locus train $config num_runs=$RUNS num_threads=$threads dataset.path=$dataset"
t0=$SECONDS
"$locus" train "$config" "num_runs=$RUNS" "num_threads=$threads" "dataset.path=$dataset" \
  --json "$tmp/locus.json" >"$tmp/locus.log" 2>&1 || {
  cat "$tmp/locus.log" >&2
  die "locus train exited non-zero (output above)"
}
[[ -s "$tmp/locus.json" ]] || { cat "$tmp/locus.log" >&2; die "locus train wrote no JSON to --json"; }
say "Locus done in $((SECONDS - t0)) s"

say "reference: $py bench/reference.py --model gcn --config $config --dataset $dataset --runs $RUNS --threads $threads"
t0=$SECONDS
"$py" bench/reference.py --model gcn --config "$config" --dataset "$dataset" --runs "$RUNS" \
  --threads "$threads" --json "$tmp/reference.json" >"$tmp/reference.log" 2>&1 || {
  cat "$tmp/reference.log" >&2
  die "the reference exited non-zero (output above)"
}
say "reference done in $((SECONDS - t0)) s"

# Context for the table: commit, CPU, BLAS behind Debian's torch.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git status --porcelain 2>/dev/null | head -n 1)" ]]; then commit="$commit+local changes"; fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)

table=$("$py" - "$tmp/locus.json" "$tmp/reference.json" "$RUNS" "$threads" "$commit" \
  "${cpu:-unknown} ($(nproc) cores)" "$blas" <<'PY'
import datetime, json, sys

locus_path, ref_path, runs, threads, commit, cpu, blas = sys.argv[1:8]
KEYS = ("test_acc_mean", "test_acc_std", "epoch_ms_median", "peak_rss_mib")

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

loc, ref = load(locus_path, "Locus"), load(ref_path, "reference")

def pct(d):
    # Accuracies are fractions in [0, 1]; accept percentages too.
    scale = 100.0 if d["test_acc_mean"] <= 1.0 else 1.0
    return "%.2f ± %.2f" % (scale * d["test_acc_mean"], scale * d["test_acc_std"])

def ratio(a, b):
    return "%.2f×" % (a / b) if b > 0 else "n/a"

torch_version = ref.get("torch_version", "?")
lines = [
    "# GCN on Cora: Locus vs plain PyTorch",
    "",
    "%s · commit %s · %s · %s runs · %s threads each" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        commit, cpu, runs, threads),
    "",
    "| implementation | test accuracy % (mean ± std) | epoch ms (median) | peak RSS MiB |",
    "|---|---:|---:|---:|",
    "| Locus | %s | %.3f | %.1f |" % (pct(loc), loc["epoch_ms_median"], loc["peak_rss_mib"]),
    "| PyTorch %s reference | %s | %.3f | %.1f |" % (
        torch_version, pct(ref), ref["epoch_ms_median"], ref["peak_rss_mib"]),
    "",
    "Epoch-time ratio (reference / Locus): **%s**  " % ratio(ref["epoch_ms_median"], loc["epoch_ms_median"]),
    "Peak-RSS ratio (reference / Locus): **%s**" % ratio(ref["peak_rss_mib"], loc["peak_rss_mib"]),
    "",
    "Both: 2-layer GCN, hidden 16, dropout 0.5, Adam lr 0.01, weight decay 5e-4 on layer 1, "
    "200 epochs, test accuracy at the best validation epoch. Epoch time is one training step "
    "(forward, loss, backward, optimizer step; no evaluation), median after 10 warm-up epochs. "
    "The reference keeps features and Â as torch sparse tensors; its RSS includes the Python "
    "interpreter and libtorch (%s MiB right after `import torch`); Debian's torch uses the "
    "system BLAS (%s)." % (
        "%.0f" % ref["rss_after_import_mib"] if isinstance(ref.get("rss_after_import_mib"), (int, float))
        else "?", blas),
]
print("\n".join(lines))
PY
) || die "could not build the table"

printf '%s\n' "$table"
if [[ $save == 1 ]]; then
  mkdir -p bench/results
  printf '%s\n' "$table" >bench/results/cora_gcn.md
  say "saved bench/results/cora_gcn.md"
fi
