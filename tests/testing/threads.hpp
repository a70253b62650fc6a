// Runs a test body under a given OpenMP thread count, for the tests that compare results across
// thread counts (they must be bit-identical).
#pragma once
#include <omp.h>

namespace locus::testing {

// f() with `threads` OpenMP threads; the previous setting is restored afterwards (also when f throws).
template <class F>
auto with_threads(int threads, F&& f) {
  struct Restore {
    int before;
    ~Restore() { omp_set_num_threads(before); }
  } restore{omp_get_max_threads()};
  omp_set_num_threads(threads);
  return f();
}

}  // namespace locus::testing
