// Raw kernels for a sparse feature matrix (CSR, e.g. a bag of words) times a dense matrix,
// and its transpose product for the weight gradient. No autograd.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace locus::kernels {

// out[i,:] = Σ_j x[i,j] · w[j,:]   (x: [n, f] sparse, w: [f, h], out: [n, h]); parallel over rows.
template <class T>
void csr_times_dense(const SpMatT<T>& x, const T* w, int64_t h, T* out);

// out[j,:] += Σ_i x[i,j] · g[i,:]   (g: [n, h], out: [f, h]).
// Each thread accumulates its own contiguous block of rows into a private [f, h] buffer from
// `workspace` (resized as needed); buffers are then added in thread order, so the result is
// bit-identical for a given thread count.
template <class T>
void csr_transpose_times_dense(const SpMatT<T>& x, const T* g, int64_t h, T* out, std::vector<T>& workspace);

}  // namespace locus::kernels
