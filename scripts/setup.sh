#!/usr/bin/env bash
# Installs what Locus needs on Debian 12 and builds the Release build in build/.
#
#   bash scripts/setup.sh            # from any directory
#
# Idempotent: packages are checked with dpkg-query and apt-get runs only when something is
# missing (as root; otherwise it prints the command to run). Then
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2
# Configure/build output goes to build/setup-configure.log and build/setup-build.log and is
# printed in full when a step fails. Exits non-zero on any failure.
#
# Environment:
#   LOCUS_JOBS=N          parallel build jobs (default 2)
#   LOCUS_CMAKE_ARGS="…"  extra configure arguments, e.g. "-DLOCUS_NATIVE=OFF"
#   LOCUS_VERBOSE=1       stream configure/build output instead of only logging it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

say_prefix='[setup]'
say() { printf '%s %s\n' "$say_prefix" "$*"; }
# shellcheck source=scripts/common.sh
source "$here/common.sh"

packages=(build-essential cmake ninja-build g++ libeigen3-dev libboost-graph-dev
  libyaml-cpp-dev doctest-dev libspectra-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  zlib1g-dev libfftw3-dev pkg-config gnuplot-nox libopenmpi-dev openmpi-bin libmetis-dev)

t0=$SECONDS
bash "$here/ensure-packages.sh" "${packages[@]}" || fail "system packages (see above)"
configure_and_build build Release || exit 1
say "ready: build/locus ($((SECONDS - t0)) s)"
