#!/usr/bin/env bash
# GCN on Cora, Locus vs the plain-PyTorch reference, side by side (2 threads each, same seeds):
# accuracy, median epoch time, peak RSS and their ratios. The GCN row of bench/cora_models.sh.
#
#   bash bench/cora_gcn.sh [--save]     # --save writes bench/results/cora_gcn.md
#   RUNS=3 bash bench/cora_gcn.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODELS=gcn RESULT_NAME=cora_gcn exec bash "$here/cora_models.sh" "$@"
