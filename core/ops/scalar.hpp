// Differentiable ops with a learnable scalar (a [1, 1] Var), e.g. GIN's ε.
#pragma once

#include "core/tape.hpp"

namespace locus::ops {

// y = s · x   x: [n, m], s: [1, 1] → [n, m];  ds = Σ g ⊙ x, dx = s · g
template <class T> Var scale_by(Tape<T>& t, Var x, Var s);

}  // namespace locus::ops
