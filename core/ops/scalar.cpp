#include "core/ops/scalar.hpp"

#include "core/error.hpp"

namespace locus::ops {

template <class T>
Var scale_by(Tape<T>& t, Var x, Var s) {
  check(t.rows(s) == 1 && t.cols(s) == 1, "scale_by: the scale must be [1, 1]");
  MatT<T> out = t.value(s)(0, 0) * t.value(x);
  return t.push(std::move(out), "scale_by", {x, s}, [x, s](Tape<T>& t, Var self) {
    auto g = t.grad(self);
    if (t.requires_grad(x)) t.grad(x) += t.value(s)(0, 0) * g;
    if (t.requires_grad(s)) t.grad(s)(0, 0) += (g.array() * t.value(x).array()).sum();
  });
}

template Var scale_by<float>(Tape<float>&, Var, Var);
template Var scale_by<double>(Tape<double>&, Var, Var);

}  // namespace locus::ops
