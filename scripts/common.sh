# shellcheck shell=bash
# Shared helpers for scripts/setup.sh, scripts/test.sh and scripts/fuzz.sh (sourced, not run).
# Expects: $root (the repository root) and a say() function printing a progress line.
# shellcheck disable=SC2154  # root is set by the sourcing script

# fail MESSAGE: prints a clear failure line and exits 1.
fail() { printf '%s FAILED: %s\n' "${say_prefix:-[locus]}" "$*" >&2; exit 1; }

# run_logged LOG CMD...: runs CMD with its output in LOG; prints LOG when CMD fails.
# LOCUS_VERBOSE=1 streams the output instead (still keeping LOG).
run_logged() {
  local log=$1; shift
  if [[ "${LOCUS_VERBOSE:-0}" == 1 ]]; then
    "$@" 2>&1 | tee "$log"
    return "${PIPESTATUS[0]}"
  fi
  if ! "$@" >"$log" 2>&1; then
    echo "----- $log -----" >&2
    cat "$log" >&2
    echo "----- end of $log -----" >&2
    return 1
  fi
}

# configure_and_build DIR BUILD_TYPE [CMAKE ARGS...]: configures DIR with Ninja and builds it
# with ${LOCUS_JOBS:-2} jobs. Extra configure arguments may come from $LOCUS_CMAKE_ARGS.
# Returns 1 (after printing the log and a FAILED line) when configure or build fails.
configure_and_build() {
  local dir=$1 type=$2; shift 2
  local extra=()
  if [[ -n "${LOCUS_CMAKE_ARGS:-}" ]]; then
    read -r -a extra <<<"$LOCUS_CMAKE_ARGS"
  fi
  mkdir -p "$dir"
  # A cache from another generator or another source tree makes cmake refuse; drop it.
  if [[ -f "$dir/CMakeCache.txt" ]]; then
    local gen home
    gen=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$dir/CMakeCache.txt")
    home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$dir/CMakeCache.txt")
    if [[ "$gen" != "Ninja" || "$home" != "$root" ]]; then
      say "$dir: stale CMake cache (generator '$gen', source '$home'); reconfiguring from scratch"
      rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
    fi
  fi
  local args=(-DCMAKE_BUILD_TYPE="$type" "$@" "${extra[@]}")
  say "configuring $dir (Ninja ${args[*]})"
  if ! run_logged "$dir/setup-configure.log" cmake -S "$root" -B "$dir" -G Ninja "${args[@]}"; then
    printf '%s FAILED: cmake configure of %s (log above; also %s)\n' \
      "${say_prefix:-[locus]}" "$dir" "$dir/setup-configure.log" >&2
    return 1
  fi
  say "building $dir (-j${LOCUS_JOBS:-2}; log in $dir/setup-build.log)"
  local b0=$SECONDS
  if ! run_logged "$dir/setup-build.log" cmake --build "$dir" -j "${LOCUS_JOBS:-2}"; then
    printf '%s FAILED: build of %s: the C++ does not compile or link (errors above; also %s)\n' \
      "${say_prefix:-[locus]}" "$dir" "$dir/setup-build.log" >&2
    return 1
  fi
  local warnings
  warnings=$(grep -cE '^[^ ]+:[0-9]+:[0-9]+: warning:' "$dir/setup-build.log" || true)  # compiler diagnostics only
  if [[ "${warnings:-0}" -gt 0 ]]; then
    say "built $dir in $((SECONDS - b0)) s ($warnings compiler warnings; see $dir/setup-build.log)"
  else
    say "built $dir in $((SECONDS - b0)) s"
  fi
}

# build_sanitizer_tree DIR: configures and builds DIR with clang, ASan + UBSan and libFuzzer
# coverage (-DLOCUS_SANITIZE=ON -DLOCUS_FUZZ=ON): the tree of test.sh's sanitizer pass and of
# fuzz.sh. -O1 with line tables (-g1) compiles much faster than -O2 -g and still gives file:line
# in reports; the benchmark programs are not built. The clang packages must be installed.
build_sanitizer_tree() {
  local dir=$1
  # A tree configured with another compiler cannot switch to clang in place: start it afresh.
  if [[ -f "$dir/CMakeCache.txt" ]] &&
    ! grep -q '^CMAKE_CXX_COMPILER_ID:INTERNAL=Clang$\|^CMAKE_CXX_COMPILER:FILEPATH=.*clang++' "$dir/CMakeCache.txt"; then
    say "$dir was configured with another compiler; reconfiguring it from scratch with clang"
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
  fi
  CC=clang CXX=clang++ configure_and_build "$dir" RelWithDebInfo -DLOCUS_SANITIZE=ON -DLOCUS_FUZZ=ON \
    -DLOCUS_BENCH=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
}

# leak_detection: prints 1 when LeakSanitizer can run here, else 0 after saying so. It needs
# ptrace-like access that some containers forbid; there every sanitized process (and every
# libFuzzer input) would fail, so leak checks must be turned off.
leak_detection() {
  if lsan_works; then
    echo 1
  else
    say "note: LeakSanitizer does not work on this machine (ptrace restricted?); leak checks off" >&2
    echo 0
  fi
}

# lsan_works: succeeds when LeakSanitizer can run here.
lsan_works() {
  local tmp rc=0 out
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/locus-lsan.XXXXXX")
  printf '#include <cstdlib>\nvoid* volatile p;\nint main() { p = std::malloc(64); p = nullptr; return 0; }\n' \
    >"$tmp/leak.cpp"
  if ! clang++ -fsanitize=address -g -O0 "$tmp/leak.cpp" -o "$tmp/leak" >/dev/null 2>&1; then
    rm -rf "$tmp"; return 1
  fi
  out=$(ASAN_OPTIONS=detect_leaks=1:exitcode=23 "$tmp/leak" 2>&1) || rc=$?
  rm -rf "$tmp"
  [[ $rc -eq 23 && "$out" == *"detected memory leaks"* ]]
}
