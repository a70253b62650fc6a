#!/usr/bin/env bash
# Runs OpenMPI's mpirun the way Locus needs it on one machine (tests, benchmarks, a laptop):
#   bash scripts/mpirun.sh -np P build/locus train CONFIG.yaml dataset.partitions=DIR [...]
# - as root (containers, CI) OpenMPI refuses to start without its allow-run-as-root settings;
# - --bind-to none: OpenMPI binds each rank to one core by default, which would squeeze a
#   rank's OpenMP threads onto that core;
# - --oversubscribe when P exceeds the cores, so P = 4 also runs on a 2-core machine.
# Arguments are passed to mpirun unchanged; set LOCUS_MPIRUN to use another mpirun.
set -euo pipefail

mpirun=${LOCUS_MPIRUN:-mpirun}
if ! command -v "$mpirun" >/dev/null 2>&1; then
  echo "[mpirun] $mpirun not found: run scripts/setup.sh (it installs openmpi-bin)" >&2
  exit 127
fi
if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
extra=(--bind-to none)
np=0
args=("$@")
for ((i = 0; i < ${#args[@]}; ++i)); do
  if [[ ${args[i]} == -np || ${args[i]} == -n ]] && ((i + 1 < ${#args[@]})); then np=${args[i + 1]}; fi
done
if [[ $np =~ ^[0-9]+$ ]] && ((np > $(nproc))); then extra+=(--oversubscribe); fi
exec "$mpirun" "${extra[@]}" "$@"
