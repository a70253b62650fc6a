#!/usr/bin/env bash
# Builds and runs every test twice: the Release build (build/) and a clang sanitizer build
# (build-asan-clang/: -DLOCUS_SANITIZE=ON -DLOCUS_FUZZ=ON, -O1 -g1, AddressSanitizer + UBSan +
# libFuzzer coverage, any report fails the test), then fuzzes every input reader in that same
# tree (scripts/fuzz.sh, 60 s per target, each target a test). Between the two, the Release
# build is installed into a temporary prefix and every example is built and run against it
# (scripts/examples.sh). The last line printed is "N passed, N failed" summing the ctest runs,
# the package checks and the fuzz targets.
# Exits non-zero on any failure (a build failure counts as one failed test).
#
#   bash scripts/test.sh             # from any directory; this is what CI (.ci/run) runs
#
# Environment:
#   LOCUS_SKIP_ASAN=1        skip the sanitizer and fuzzing pass (quick local iterations only)
#   LOCUS_FUZZ_SECONDS=N     seconds per fuzz target (default 60; CI's minimum)
#   LOCUS_TEST_TIMEOUT=S     per-test timeout in seconds (default 600)
#   LOCUS_JOBS=N             parallel build jobs and ctest tests at a time (default 2)
#   LOCUS_CMAKE_ARGS, LOCUS_VERBOSE   as for scripts/setup.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

say_prefix='[test]'
say() { printf '%s %s\n' "$say_prefix" "$*"; }
# shellcheck source=scripts/common.sh
source "$here/common.sh"

passed=0
failed=0
problems=()

summary_and_exit() {
  echo
  if [[ ${#problems[@]} -gt 0 ]]; then
    say "problems:"
    local p
    for p in "${problems[@]}"; do say "  - $p"; done
  else
    say "all tests passed"
  fi
  # The one line CI reads; keep it last and alone.
  echo "$passed passed, $failed failed"
  if [[ $failed -gt 0 || ${#problems[@]} -gt 0 ]]; then exit 1; fi
  exit 0
}

# run_ctest DIR NAME: runs ctest in DIR, adds its counts to passed/failed.
run_ctest() {
  local dir=$1 name=$2 log="$1/ctest.log" rc=0
  say "ctest ($name, ${LOCUS_JOBS:-2} at a time): $dir"
  ctest --test-dir "$dir" --output-on-failure --no-tests=error --parallel "${LOCUS_JOBS:-2}" \
    --timeout "${LOCUS_TEST_TIMEOUT:-600}" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
  local line p f total
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [[ -z "$line" ]]; then
    failed=$((failed + 1))
    problems+=("$name: ctest reported no test results (exit $rc; see $log)")
    return
  fi
  f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
  p=$((total - f))
  passed=$((passed + p))
  failed=$((failed + f))
  if [[ $f -gt 0 ]]; then
    problems+=("$name: $f of $total tests failed (see $log)")
  elif [[ $rc -ne 0 ]]; then
    failed=$((failed + 1))
    problems+=("$name: ctest exited $rc although no test failed (see $log)")
  fi
}

t0=$SECONDS

# 1) Release build (setup.sh installs packages and builds build/).
if ! bash "$here/setup.sh"; then
  failed=$((failed + 1))
  problems+=("scripts/setup.sh failed (packages or the Release build; errors above): no tests were run")
  summary_and_exit
fi
run_ctest build Release

# 1b) The installed package: install into a temporary prefix, compile every installed header on its
#     own, build and run examples/* against it (scripts/examples.sh; one result per check).
examples_log=build/examples.log
examples_rc=0
bash "$here/examples.sh" --build-dir build 2>&1 | tee "$examples_log" || examples_rc=${PIPESTATUS[0]}
examples_pass=$(grep -cE '^\[examples\] [^ ].* PASS$' "$examples_log" || true)
examples_fail=$(grep -cE '^\[examples\] [^ ].* FAIL' "$examples_log" || true)
passed=$((passed + examples_pass))
failed=$((failed + examples_fail))
if [[ $examples_fail -gt 0 ]]; then
  problems+=("installed package: $examples_fail checks failed (see $examples_log)")
elif [[ $examples_rc -ne 0 || $examples_pass -eq 0 ]]; then
  failed=$((failed + 1))
  problems+=("installed package: scripts/examples.sh exited $examples_rc with no results (see $examples_log)")
fi

# 1c) The API reference (Doxygen over the installed headers) builds without a warning.
if bash "$here/docs.sh" --doxygen-only >build/docs.log 2>&1; then
  passed=$((passed + 1))
  say "API reference (scripts/docs.sh --doxygen-only): PASS"
else
  failed=$((failed + 1))
  problems+=("API reference: Doxygen warnings or errors (see build/docs.log)")
  tail -n 20 build/docs.log
fi

# 2) Sanitizer build with clang, which also builds the libFuzzer targets of tests/fuzz/: one
#    tree for the unit tests under ASan+UBSan and for fuzzing.
if [[ "${LOCUS_SKIP_ASAN:-0}" == 1 ]]; then
  say "LOCUS_SKIP_ASAN=1: skipping the sanitizer and fuzzing pass (CI always runs it)"
elif ! bash "$here/ensure-packages.sh" clang libclang-rt-14-dev libomp-dev; then
  failed=$((failed + 1))
  problems+=("the clang packages for the sanitizer build could not be installed (see above)")
else
  san=build-asan-clang
  if build_sanitizer_tree "$san"; then
    leaks=$(leak_detection)
    # Any sanitizer report makes the test process exit non-zero, so ctest fails it.
    export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=$leaks:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    say "ASAN_OPTIONS=$ASAN_OPTIONS"
    say "UBSAN_OPTIONS=$UBSAN_OPTIONS"
    run_ctest "$san" Sanitizer

    # 3) Fuzzing: each target for LOCUS_FUZZ_SECONDS, two at a time; one test per target.
    fuzz_log="$san/fuzz.log"
    fuzz_rc=0
    ASAN_OPTIONS= UBSAN_OPTIONS= bash "$here/fuzz.sh" --no-build --build-dir "$san" \
      --seconds "${LOCUS_FUZZ_SECONDS:-60}" --jobs 2 2>&1 | tee "$fuzz_log" || fuzz_rc=${PIPESTATUS[0]}
    fuzz_pass=$(grep -cE '^\[fuzz\] fuzz_[a-z_]+ +PASS' "$fuzz_log" || true)
    fuzz_fail=$(grep -cE '^\[fuzz\] fuzz_[a-z_]+ +FAIL' "$fuzz_log" || true)
    passed=$((passed + fuzz_pass))
    failed=$((failed + fuzz_fail))
    if [[ $fuzz_fail -gt 0 ]]; then
      problems+=("fuzzing: $fuzz_fail targets failed (see $fuzz_log)")
    elif [[ $fuzz_rc -ne 0 || $fuzz_pass -eq 0 ]]; then
      failed=$((failed + 1))
      problems+=("fuzzing: scripts/fuzz.sh exited $fuzz_rc with no target results (see $fuzz_log)")
    fi
  else
    failed=$((failed + 1))
    problems+=("sanitizer build ($san/) failed (errors above): its tests were not run")
  fi
fi

say "done in $((SECONDS - t0)) s"
summary_and_exit
