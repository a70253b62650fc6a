#!/usr/bin/env bash
# Builds the Debian package of Locus with CPack (build-deb/, for any x86-64: LOCUS_NATIVE=OFF) and,
# with --test, checks it on a clean Debian 12: a minimal debootstrap chroot in which
#   apt-get install ./locus_*.deb      pulls the package's Debian dependencies,
#   locus train (on PATH)              trains the built-in karate club,
#   examples/node_classification       builds against the package in /usr and runs,
#   apt-get remove locus               leaves no file of the package behind.
#
#   bash scripts/package.sh [--test]     # as root; the chroot needs Debian's package mirror
#
# Environment: LOCUS_JOBS (build jobs, default 2), LOCUS_CHROOT (the chroot folder, default
# build-deb/chroot; kept between runs so that only the first run downloads the base system).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
say_prefix='[package]'
say() { printf '%s %s\n' "$say_prefix" "$*"; }
# shellcheck source=scripts/common.sh
source "$here/common.sh"

test_it=0
case "${1:-}" in
  --test) test_it=1 ;;
  "") ;;
  *) fail "unknown argument '$1' (use --test)" ;;
esac

bash "$here/ensure-packages.sh" dpkg-dev cmake ninja-build g++ || fail "packaging tools (see above)"
bash "$here/setup.sh" >/dev/null  # the project's build dependencies (and build/, reused by --test)
configure_and_build build-deb Release -DLOCUS_NATIVE=OFF -DLOCUS_TESTS=OFF -DLOCUS_BENCH=OFF || exit 1
rm -f build-deb/locus_*.deb
(cd build-deb && cpack -G DEB >cpack.log 2>&1) || { cat build-deb/cpack.log; fail "cpack -G DEB failed"; }
deb=$(ls build-deb/locus_*.deb)
say "built $deb ($(du -h "$deb" | cut -f1))"
say "Depends: $(dpkg-deb -f "$deb" Depends)"
[[ $test_it == 1 ]] || exit 0

# ---- the clean-machine test ---------------------------------------------------------------------
bash "$here/ensure-packages.sh" debootstrap || fail "debootstrap could not be installed"
chroot_dir=${LOCUS_CHROOT:-$root/build-deb/chroot}
if [[ ! -x "$chroot_dir/usr/bin/apt-get" ]]; then
  say "debootstrap --variant=minbase bookworm $chroot_dir (a few minutes, once)"
  rm -rf "$chroot_dir"
  debootstrap --variant=minbase bookworm "$chroot_dir" http://deb.debian.org/debian >build-deb/debootstrap.log 2>&1 ||
    { tail -n 30 build-deb/debootstrap.log; fail "debootstrap failed (log: build-deb/debootstrap.log)"; }
fi
mount --bind /proc "$chroot_dir/proc"
mount --bind /dev "$chroot_dir/dev"
mount --bind /dev/pts "$chroot_dir/dev/pts"
cleanup() { umount "$chroot_dir/dev/pts" "$chroot_dir/proc" "$chroot_dir/dev" 2>/dev/null || true; }
trap cleanup EXIT
in_chroot() { chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }

work="$chroot_dir/tmp/locus-package-test"
rm -rf "$work" && mkdir -p "$work"
cp "$deb" "$work/"
cp -r examples/node_classification "$work/example"
cp apps/configs/karate_gcn.yaml "$work/"
cp -r "$root/../shared/datasets/karate" "$work/karate" 2>/dev/null ||
  build/locus generate sbm --blocks 2 --block-size 20 --features 4 --out "$work/karate" >/dev/null
in_chroot apt-get update -q >/dev/null
# reset_chroot: back to the minimal base system — no locus, none of its dependencies, not the
# compiler the example needs (a chroot kept from an earlier run, or after this one).
reset_chroot() {
  local p
  for p in locus g++ cmake ninja-build; do
    if in_chroot dpkg -s "$p" >/dev/null 2>&1; then in_chroot apt-get purge -y -q "$p" >/dev/null; fi
  done
  in_chroot apt-get autoremove --purge -y -q >/dev/null
}
reset_chroot
before=$(in_chroot dpkg-query -W -f='${Package}\n' | wc -l)
say "1. apt-get install ./$(basename "$deb") on a minimal Debian 12 ($before packages installed)"
in_chroot apt-get install -y -q "/tmp/locus-package-test/$(basename "$deb")" >"$work/install.log" 2>&1 ||
  { tail -n 30 "$work/install.log"; fail "apt-get install of the package failed"; }
after=$(in_chroot dpkg-query -W -f='${Package}\n' | wc -l)
say "   installed with $((after - before - 1)) dependencies pulled by apt; locus at $(in_chroot sh -c 'command -v locus')"
say "2. locus train (karate, 3 runs) outside any build tree"
in_chroot sh -c 'cd / && locus train /tmp/locus-package-test/karate_gcn.yaml num_runs=3' >"$work/train.log" 2>&1 ||
  { cat "$work/train.log"; fail "the installed locus did not train"; }
grep "test accuracy" "$work/train.log" | sed "s/^/$say_prefix    /"
say "3. examples/node_classification against /usr (g++, cmake, ninja installed for the build)"
in_chroot apt-get install -y -q --no-install-recommends g++ cmake ninja-build >"$work/tools.log" 2>&1 ||
  { tail -n 20 "$work/tools.log"; fail "the compiler could not be installed in the chroot"; }
in_chroot sh -c 'cd /tmp/locus-package-test && cmake -S example -B example-build -G Ninja -DCMAKE_BUILD_TYPE=Release &&
  cmake --build example-build && ./example-build/node_classification karate/dataset.yaml predictions.csv' \
  >"$work/example.log" 2>&1 || { tail -n 40 "$work/example.log"; fail "the example did not build or run against /usr"; }
grep -E "test accuracy|predictions" "$work/example.log" | sed "s/^/$say_prefix    /"
say "4. apt-get remove locus"
in_chroot dpkg -L locus | sort >"$work/files.txt"
in_chroot apt-get remove -y -q locus >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "apt-get remove failed"; }
left=0
while IFS= read -r f; do
  [[ -f "$chroot_dir$f" || -L "$chroot_dir$f" ]] && { say "   left behind: $f"; left=$((left + 1)); }
done <"$work/files.txt"
for d in /usr/include/locus /usr/lib/cmake/locus; do
  [[ -e "$chroot_dir$d" ]] && { say "   left behind: $d"; left=$((left + 1)); }
done
[[ $left == 0 ]] || fail "$left paths of the package remain after apt-get remove"
say "   $(grep -c . "$work/files.txt") paths of the package listed, none left after removal"
reset_chroot  # its dependencies and the compiler too: the next run starts clean
say "   then apt-get autoremove (and the compiler purged): back to $(in_chroot dpkg-query -W -f='${Package}\n' | wc -l) packages"
say "package test passed"
