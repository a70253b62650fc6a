// Laplacian eigenvector positional encodings (LapPE) of a graph, computed from its topology alone.
// Every graph PE treats the graph as unweighted, undirected and simple: undirected_simple() is the
// shared preprocessing (weights dropped, edges symmetrised, self loops and duplicates removed).
#pragma once
#include <cstdint>
#include <vector>

#include "core/graph.hpp"
#include "core/tensor.hpp"

namespace locus::pe {

// The simple undirected graph of g: row v lists every u != v with an edge u->v or v->u in g, once,
// sorted; no weights. Square graphs only. O(n + E) time and memory, parallel over rows.
Csr undirected_simple(const Csr& g);

// Connected components of a simple undirected graph (undirected_simple): comp[v] in [0, count),
// numbered in order of their smallest node. BFS, O(n + E).
struct Components {
  std::vector<int32_t> comp;
  int32_t count = 0;
};
Components connected_components(const Csr& simple);

struct LapPEOptions {
  // Graphs (after dropping isolated nodes) of at most this many nodes use the dense solver
  // (Eigen SelfAdjointEigenSolver, O(n^3): ~0.5 s at 1000 nodes, ~4 s at 2000 on this 2-core
  // machine); larger ones use Lanczos (Spectra).
  int64_t dense_max_nodes = 1000;
  // Lanczos: Krylov subspace size (0: automatic, max(2k + 24, 48)), iteration limit, relative
  // residual tolerance (Spectra's: |r| <= tol * |theta|), seed of the fixed start vector.
  // tol = 1e-6 is plenty for positional encodings: eigenvalue errors are ~ |r|^2 / gap, and an
  // eigenvector error ~ |r| / gap only rotates it inside a cluster of near-equal eigenvalues, which
  // is as valid an encoding. On the 100k-node uniform graph 1e-8 costs 11% more products; larger
  // ncv (96, 160) does not reduce the products there and costs more orthogonalisation, smaller
  // (40, 32) needs 10% and 60% more products.
  int ncv = 0;
  // Graphs of at least filter_min_nodes nodes (after dropping isolated ones) run Lanczos on the
  // Chebyshev filter p(M) of degree filter_degree (see laplacian.cpp) rather than on M itself, with
  // the products in parallel: each Lanczos step then covers filter_degree products, so Spectra's
  // orthogonalisation, which is most of the time on large graphs, runs filter_degree times less
  // often. Smaller graphs take plain Lanczos (well under a second at 20k nodes), whose vectors the
  // committed results were computed with. filter_degree <= 1: never.
  // On the 100k-node uniform graph (posenc_bench, 2 threads) degree 5 took 1937 products and 5.0 s
  // against 1072 products and 8.3 s for plain Lanczos; degrees 3, 7 and 11 took 5.6, 5.4 and 6.0 s.
  int64_t filter_min_nodes = 20000;
  int filter_degree = 5;  // made odd
  int max_iter = 2000;
  double tol = 1e-6;
  uint64_t seed = 0x9E3779B97F4A7C15ull;
};

// L = I - D^-1/2 A D^-1/2 on the simple undirected graph, with the convention L_vv = 0 for an
// isolated node v (L = D^-1/2 (D - A) D^-1/2, D^-1/2 := 0 where D = 0). So every connected
// component C, isolated nodes included, contributes exactly one zero eigenvalue, eigenvector
// D^1/2 1_C (e_v for an isolated v), and the zero eigenspace is spanned by these "trivial" vectors
// alone: no zero-eigenvalue vector remains once they are skipped. Eigenvalues lie in [0, 2].
//
// laplacian_pe returns the k smallest NON-trivial eigenpairs (eigenvalues lambda_{c+1} <= ... of a
// graph with c components, ascending; all > 0). Isolated nodes are 0 in every column (an
// eigenvector with a non-zero eigenvalue is orthogonal to e_v). A graph of n nodes and c
// components has n - c non-trivial eigenpairs; when that is fewer than k, columns num_valid..k-1
// of `vectors` are zero and their `values` are 0 (padding; test num_valid, not the value).
//
// Each vector has unit 2-norm and a deterministic sign: its first entry (lowest node id) with
// |x| > 1e-6 is positive. Inside a repeated eigenvalue the basis is arbitrary (any rotation is an
// equally valid answer, e.g. symmetric graphs or identical components); it is deterministic for a
// given graph, solver and build (the dense solver is deterministic, Lanczos starts from a fixed
// hashed vector), but not equivariant under node relabelling; nor is the sign rule. Training code
// should randomise signs per epoch (random_sign_flip).
//
// Solvers: the problem is solved on the non-isolated nodes only (n' of them, c' components). Dense
// when n' <= dense_max_nodes or n' is too small for Lanczos (n' < 2k + 32). Otherwise Lanczos
// (Spectra SymEigsSolver) for the LARGEST eigenvalues of M = 2I - L = I + D^-1/2 A D^-1/2 restricted
// to the complement of the trivial vectors (M's output is projected, so the trivial eigenvalue 2
// becomes 0 and nev = k whatever c is); one sparse product M x per step (sequential: see
// laplacian.cpp).
// Lanczos throws std::runtime_error when it does not converge within max_iter restarts. A single
// start vector sees one direction per distinct eigenvalue in exact arithmetic; copies of a repeated
// eigenvalue (identical components, symmetric graphs) come from rounding and restarts — found in
// the tests tried, but not guaranteed: use the dense solver for small highly symmetric graphs.
// Cost is dominated by clustering at the low end of the spectrum: uniform random graphs (whose
// spectrum is a semicircle, 16 eigenvalues within ~2e-3 at 100k nodes) are the worst case, ~1070
// products M x for k = 16 (about half the time; Spectra's orthogonalisation the other half);
// graphs with community structure converge faster (see bench/posenc_bench.cpp).
struct LapPE {
  Mat vectors;                // [n, k]
  std::vector<double> values; // [k] eigenvalues of L, ascending; 0 for padding columns
  int64_t num_valid = 0;      // real columns: min(k, n - #components)
  int64_t num_products = 0;   // products M x done by Lanczos (0 for the dense solver)
};
LapPE laplacian_pe(const Csr& g, int k, const LapPEOptions& opt = {});

// Flips the sign of each column of v with probability 1/2: column j is negated when
// Rng::uniform_at(key, j) < 0.5, so the flips depend only on (key, j). Used once per epoch in
// training (eigenvectors are defined only up to sign).
Mat random_sign_flip(const Mat& v, uint64_t key);

}  // namespace locus::pe
