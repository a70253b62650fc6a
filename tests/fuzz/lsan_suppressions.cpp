// LeakSanitizer suppressions built into every executable of a clang sanitizer tree (CMake adds
// this file there). LLVM's OpenMP runtime keeps thread-team structures it allocated in
// __kmp_fork_call after a change of the thread count and never frees them; that is not ours.
extern "C" const char* __lsan_default_suppressions() { return "leak:libomp.so\n"; }
