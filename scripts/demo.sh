#!/usr/bin/env bash
# Builds Locus if needed, then trains a GCN on the built-in karate club and prints accuracy.
#
#   bash scripts/demo.sh [key=value ...]     # e.g. bash scripts/demo.sh seed=3
#
# Extra arguments go to `locus train` (config overrides). Setup progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."
bash scripts/setup.sh >&2
exec build/locus train apps/configs/karate_gcn.yaml "$@"
