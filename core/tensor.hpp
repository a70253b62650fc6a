// Dense and sparse matrix types shared by every part of Locus.
// Rows are nodes (or edges), columns are features, so one node's features are contiguous.
// Every numeric type is templated on the scalar so gradient checks can run in double.
#pragma once
#include <Eigen/Dense>
#include <Eigen/SparseCore>
#include <cstdint>

namespace locus {

template <class T>
using MatT = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Mat = MatT<float>;
using MatD = MatT<double>;

// Row-major sparse matrix (CSR) with 32-bit indices: sparse node features such as bags of words.
template <class T>
using SpMatT = Eigen::SparseMatrix<T, Eigen::RowMajor, int32_t>;
using SpMat = SpMatT<float>;

// An SpMat that moves in O(1). Eigen 3.4's SparseMatrix has no move constructor or assignment, so
// moving a struct holding one (a Dataset) copied every non-zero; this swaps instead. Converts to
// and from SpMat, and takes any sparse expression.
class MovableSpMat : public SpMat {
 public:
  MovableSpMat() = default;
  MovableSpMat(Eigen::Index rows, Eigen::Index cols) : SpMat(rows, cols) {}
  MovableSpMat(const SpMat& m) : SpMat(m) {}  // NOLINT: implicit, as SpMat's copy
  MovableSpMat(SpMat&& m) noexcept { swap(m); }
  MovableSpMat(const MovableSpMat&) = default;
  MovableSpMat(MovableSpMat&& m) noexcept { swap(m); }
  ~MovableSpMat() = default;
  MovableSpMat& operator=(const MovableSpMat& m) {
    SpMat::operator=(m);
    return *this;
  }
  MovableSpMat& operator=(MovableSpMat&& m) noexcept {
    swap(m);
    return *this;
  }
  MovableSpMat& operator=(SpMat&& m) noexcept {
    swap(m);
    return *this;
  }
  template <class Other>
  MovableSpMat& operator=(const Other& m) {
    SpMat::operator=(m);
    return *this;
  }
};

}  // namespace locus
