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

}  // namespace locus
