// Central-difference gradient checks in double precision, shared by every op and layer test.
// f builds a scalar (1×1) loss on a fresh tape from the given leaves; the check compares the
// tape's gradients with (f(x + h) − f(x − h)) / 2h for every entry of every leaf.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "core/tape.hpp"

namespace locus::testing {

using GradFn = std::function<Var(Tape<double>&, const std::vector<Var>&)>;

struct GradCheckResult {
  std::vector<double> analytic, numeric;  // one pair per checked entry
  std::vector<std::string> where;         // "leaf i (r,c)" or "param NAME[k]"
  size_t size() const { return analytic.size(); }
};

// Checks d f / d inputs[i] for every leaf. Tolerance: |a − n| ≤ atol + rtol·|n| on every entry.
GradCheckResult gradcheck(const GradFn& f, std::vector<MatD> inputs, double h = 1e-6);

// Checks the gradient with respect to every parameter of `store` (f uses tape.param).
GradCheckResult gradcheck_params(const std::function<Var(Tape<double>&)>& f, ParamStore<double>& store,
                                 double h = 1e-6);

// Empty when every entry satisfies |a − n| ≤ atol + rtol·|n|; else the worst entry, described.
std::string grad_mismatch(const GradCheckResult& r, double atol = 1e-7, double rtol = 1e-5);

// store.find(name), recording a doctest failure when the store has no such parameter.
ParamId param_named(const ParamStore<double>& store, const std::string& name);

// A random matrix with entries U(-1, 1) from a fixed seed.
MatD random_matrix(int64_t rows, int64_t cols, uint64_t seed);

// Reduces an op's output to a scalar with fixed random weights, so every entry counts.
Var reduce_random(Tape<double>& t, Var y, uint64_t seed = 99);

// Runs gradcheck and records a doctest failure naming the worst entry when it does not pass.
void check_grad(const GradFn& f, std::vector<MatD> inputs);

}  // namespace locus::testing
