#include "layers/positional/laplacian.hpp"

#include <Spectra/SymEigsSolver.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace locus::pe {

Csr undirected_simple(const Csr& g) {
  check(g.num_dst == g.num_src, "pe::undirected_simple: graph is not square");
  const int64_t n = g.num_dst, m = g.num_edges();
  // Transpose by counting sort; walking rows in increasing order keeps each transposed row sorted.
  std::vector<int64_t> rptr(n + 1, 0);
  for (int32_t s : g.indices) ++rptr[s + 1];
  for (int64_t v = 0; v < n; ++v) rptr[v + 1] += rptr[v];
  std::vector<int32_t> ridx(m);
  {
    std::vector<int64_t> fill(rptr.begin(), rptr.end() - 1);
    for (int64_t d = 0; d < n; ++d)
      for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) ridx[fill[g.indices[p]]++] = static_cast<int32_t>(d);
  }
  // Row v = merge of two sorted lists (in- and out-neighbours), skipping v and repeats. Two passes:
  // count, then fill at the prefix-sum offsets.
  auto merge_row = [&](int64_t v, int32_t* out) {
    const int32_t* a = g.indices.data() + g.indptr[v];
    const int32_t* ae = g.indices.data() + g.indptr[v + 1];
    const int32_t* b = ridx.data() + rptr[v];
    const int32_t* be = ridx.data() + rptr[v + 1];
    int64_t cnt = 0;
    int32_t last = -1;
    while (a != ae || b != be) {
      int32_t x;
      if (b == be || (a != ae && *a <= *b)) x = *a++;
      else x = *b++;
      if (x == last || x == v) continue;
      last = x;
      if (out) out[cnt] = x;
      ++cnt;
    }
    return cnt;
  };
  Csr s;
  s.num_dst = s.num_src = n;
  s.indptr.assign(n + 1, 0);
  const bool parallel = m >= (int64_t(1) << 16);
#pragma omp parallel for schedule(dynamic, 4096) if (parallel)
  for (int64_t v = 0; v < n; ++v) s.indptr[v + 1] = merge_row(v, nullptr);
  for (int64_t v = 0; v < n; ++v) s.indptr[v + 1] += s.indptr[v];
  s.indices.resize(s.indptr[n]);
#pragma omp parallel for schedule(dynamic, 4096) if (parallel)
  for (int64_t v = 0; v < n; ++v) merge_row(v, s.indices.data() + s.indptr[v]);
  return s;
}

Components connected_components(const Csr& simple) {
  const int64_t n = simple.num_dst;
  Components c;
  c.comp.assign(n, -1);
  std::vector<int32_t> queue;
  queue.reserve(n);
  for (int64_t r = 0; r < n; ++r) {
    if (c.comp[r] >= 0) continue;
    queue.clear();
    queue.push_back(static_cast<int32_t>(r));
    c.comp[r] = c.count;
    for (size_t h = 0; h < queue.size(); ++h) {
      const int32_t u = queue[h];
      for (int64_t p = simple.indptr[u]; p < simple.indptr[u + 1]; ++p) {
        const int32_t w = simple.indices[p];
        if (c.comp[w] < 0) {
          c.comp[w] = c.count;
          queue.push_back(w);
        }
      }
    }
    ++c.count;
  }
  return c;
}

namespace {

// y = P M x on the compact graph (isolated nodes removed): M = I + D^-1/2 A D^-1/2, and
// P = I - sum_C u_C u_C^T removes the trivial vectors u_C = D^1/2 1_C / |D^1/2 1_C|. M u_C = 2 u_C,
// so P commutes with M and PMP = PM: projecting the output is enough. Spectra's operator concept.
struct DeflatedAdjOp {
  using Scalar = double;
  const int64_t* indptr;
  const int32_t* indices;
  const double* dis;     // [n] d^-1/2
  const int32_t* comp;   // [n] component 0..ncomp-1
  const double* trivial; // [n] u_C entries
  int64_t n;
  int32_t ncomp;
  mutable std::vector<double> z, dots;

  Eigen::Index rows() const { return n; }
  Eigen::Index cols() const { return n; }
  void perform_op(const double* x, double* y) const;
};

// y = P M x, in parallel over rows when `parallel` (the same sums for any thread count: each row
// in order; the per-component dots sequential).
void deflated_product(const DeflatedAdjOp& op, const double* x, double* y, bool parallel) {
  const int64_t n = op.n;
  std::vector<double>& z = op.z;
  z.resize(n);
#pragma omp parallel if (parallel)
  {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) z[i] = op.dis[i] * x[i];
#pragma omp for schedule(dynamic, 2048)
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t p = op.indptr[i]; p < op.indptr[i + 1]; ++p) s += z[op.indices[p]];
      y[i] = x[i] + op.dis[i] * s;
    }
  }
  op.dots.assign(op.ncomp, 0.0);
  for (int64_t i = 0; i < n; ++i) op.dots[op.comp[i]] += op.trivial[i] * y[i];
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t i = 0; i < n; ++i) y[i] -= op.trivial[i] * op.dots[op.comp[i]];
}

// Plain Lanczos: sequential on purpose. Spectra's restarted Lanczos does its (larger)
// orthogonalisation work sequentially between ~1000 products, so a parallel product gains little
// wall time and costs a fork/join per product; on a shared, loaded machine those barriers made the
// 100k-node solve 2.5x slower in wall and CPU time (measured: 14.0 s vs 5.3 s CPU, 2 threads vs 1).
// The Chebyshev filter below runs its products in parallel: there they are most of the work.
void DeflatedAdjOp::perform_op(const double* x, double* y) const { deflated_product(*this, x, y, false); }

// y = p(M) x for the Chebyshev polynomial p(μ) = T_d((μ − center) / half) of an interval
// [a, c] = [center − half, center + half], d odd: |p| ≤ 1 on [a, c], p rises monotonically above
// c and is below −1 under a. So for any a < c ≤ μ_k the k largest (algebraic) eigenvalues of p(M)
// are those of M, with the same eigenvectors, in the same order, while the spectrum inside [a, c]
// is squashed into [−1, 1], which separates the wanted ones. Recurrence: Y₀ = x, Y₁ = (M − center) x / half,
// Y_{j+1} = 2 (M − center) Y_j / half − Y_{j−1}.
struct ChebyshevFilterOp {
  using Scalar = double;
  const DeflatedAdjOp* m;
  int degree;
  double center, half;
  mutable std::vector<double> prev, cur, next;
  mutable int64_t products = 0;

  Eigen::Index rows() const { return m->n; }
  Eigen::Index cols() const { return m->n; }
  void perform_op(const double* x, double* y) const {
    const int64_t n = m->n;
    prev.assign(x, x + n);
    cur.resize(n), next.resize(n);
    deflated_product(*m, x, cur.data(), true);
    for (int64_t i = 0; i < n; ++i) cur[i] = (cur[i] - center * x[i]) / half;
    for (int j = 1; j < degree; ++j) {
      deflated_product(*m, cur.data(), next.data(), true);
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) next[i] = 2.0 * (next[i] - center * cur[i]) / half - prev[i];
      std::swap(prev, cur);
      std::swap(cur, next);
    }
    std::copy(cur.begin(), cur.end(), y);
    products += degree;
  }
};

// The smallest and the k-th largest Ritz values of M from `steps` Lanczos steps (full
// reorthogonalisation) from v0: the filter's interval [a, c]. c ≤ μ_k (Cauchy interlacing); a ≥
// the smallest eigenvalue, which an odd filter degree tolerates (see ChebyshevFilterOp).
std::pair<double, double> ritz_bounds(const DeflatedAdjOp& op, const Eigen::VectorXd& v0, int64_t k, int64_t steps,
                                      int64_t& products) {
  const int64_t n = op.n;
  steps = std::min<int64_t>(steps, n);
  Eigen::MatrixXd V(n, steps);
  Eigen::VectorXd alpha(steps), beta = Eigen::VectorXd::Zero(steps), w(n);
  V.col(0) = v0.normalized();
  int64_t j = 0;
  for (; j < steps; ++j) {
    deflated_product(op, V.col(j).data(), w.data(), true);
    ++products;
    alpha[j] = V.col(j).dot(w);
    for (int pass = 0; pass < 2; ++pass) w -= V.leftCols(j + 1) * (V.leftCols(j + 1).transpose() * w);
    if (j + 1 == steps) break;
    beta[j] = w.norm();
    if (beta[j] < 1e-12) break;  // an invariant subspace: its Ritz values are exact
    V.col(j + 1) = w / beta[j];
  }
  const int64_t m = std::min(j + 1, steps);
  Eigen::MatrixXd T = Eigen::MatrixXd::Zero(m, m);
  for (int64_t i = 0; i < m; ++i) {
    T(i, i) = alpha[i];
    if (i + 1 < m) T(i, i + 1) = T(i + 1, i) = beta[i];
  }
  const Eigen::VectorXd theta = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(T, Eigen::EigenvaluesOnly).eigenvalues();
  return {theta[0], m >= k ? theta[m - k] : theta[0]};  // ascending: the k-th largest; too few: an empty interval
}

// Unit norm, then the first entry with |x| > 1e-6 made positive.
void normalise_sign(Eigen::Ref<Eigen::VectorXd> v) {
  const double nrm = v.norm();
  if (nrm > 0) v /= nrm;
  for (Eigen::Index i = 0; i < v.size(); ++i)
    if (std::abs(v[i]) > 1e-6) {
      if (v[i] < 0) v = -v;
      break;
    }
}

}  // namespace

LapPE laplacian_pe(const Csr& g, int k, const LapPEOptions& opt) {
  check(k >= 0, "pe::laplacian_pe: k must be >= 0");
  const int64_t n = g.num_dst;
  LapPE out;
  out.vectors = Mat::Zero(n, k);
  out.values.assign(k, 0.0);
  if (k == 0 || n == 0) return out;

  const Csr s = undirected_simple(g);
  const Components cc = connected_components(s);
  // Compact numbering of the non-isolated nodes (ascending ids), and of their components.
  std::vector<int32_t> act, idx(n, -1), comp_new(cc.count, -1);
  int32_t ncomp = 0;
  for (int64_t v = 0; v < n; ++v)
    if (s.indptr[v + 1] > s.indptr[v]) {
      idx[v] = static_cast<int32_t>(act.size());
      act.push_back(static_cast<int32_t>(v));
      if (comp_new[cc.comp[v]] < 0) comp_new[cc.comp[v]] = ncomp++;
    }
  const int64_t na = static_cast<int64_t>(act.size());
  const int64_t kk = std::min<int64_t>(k, na - ncomp);
  out.num_valid = kk;
  if (kk <= 0) return out;

  std::vector<int64_t> ip(na + 1, 0);
  std::vector<int32_t> ix(s.num_edges());
  std::vector<double> dis(na), trivial(na), comp_vol(ncomp, 0.0);
  std::vector<int32_t> comp(na);
  for (int64_t i = 0; i < na; ++i) {
    const int64_t v = act[i];
    ip[i + 1] = ip[i] + (s.indptr[v + 1] - s.indptr[v]);
    for (int64_t p = s.indptr[v]; p < s.indptr[v + 1]; ++p) ix[ip[i] + (p - s.indptr[v])] = idx[s.indices[p]];
    const double d = static_cast<double>(s.indptr[v + 1] - s.indptr[v]);
    dis[i] = 1.0 / std::sqrt(d);
    comp[i] = comp_new[cc.comp[v]];
    comp_vol[comp[i]] += d;
  }
  for (int64_t i = 0; i < na; ++i) {
    const double d = static_cast<double>(ip[i + 1] - ip[i]);
    trivial[i] = std::sqrt(d / comp_vol[comp[i]]);
  }

  Eigen::MatrixXd vecs(na, kk);  // columns: eigenvectors on the compact nodes, ascending lambda
  if (na <= opt.dense_max_nodes || na < 2 * int64_t(k) + 32) {
    Eigen::MatrixXd lap = Eigen::MatrixXd::Identity(na, na);
    for (int64_t i = 0; i < na; ++i)
      for (int64_t p = ip[i]; p < ip[i + 1]; ++p) lap(i, ix[p]) -= dis[i] * dis[ix[p]];
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(lap);
    check(es.info() == Eigen::Success, "pe::laplacian_pe: dense eigensolver failed");
    // The ncomp smallest eigenvalues are the trivial zeros (exactly ncomp of them).
    vecs = es.eigenvectors().middleCols(ncomp, kk);
    for (int64_t j = 0; j < kk; ++j) out.values[j] = std::max(0.0, es.eigenvalues()[ncomp + j]);
  } else {
    DeflatedAdjOp op{ip.data(), ix.data(), dis.data(), comp.data(), trivial.data(), na, ncomp, {}, {}};
    const int64_t ncv = std::min<int64_t>(na, opt.ncv > 0 ? std::max<int64_t>(opt.ncv, kk + 1)
                                                          : std::max<int64_t>(2 * kk + 24, 48));
    Spectra::SymEigsSolver<DeflatedAdjOp> eigs(op, static_cast<Eigen::Index>(kk), static_cast<Eigen::Index>(ncv));
    // Fixed start vector: hashed uniforms in [-0.5, 0.5), with the trivial directions removed.
    Eigen::VectorXd v0(na), w0(na);
    for (int64_t i = 0; i < na; ++i) v0[i] = Rng::uniform_at(opt.seed, static_cast<uint64_t>(i)) - 0.5;
    std::vector<double> dots(ncomp, 0.0);
    for (int64_t i = 0; i < na; ++i) dots[comp[i]] += trivial[i] * v0[i];
    for (int64_t i = 0; i < na; ++i) v0[i] -= trivial[i] * dots[comp[i]];
    const auto not_converged = [&] {
      throw std::runtime_error("pe::laplacian_pe: Lanczos did not converge for k = " + std::to_string(k) + " on " +
                               std::to_string(na) + " nodes; raise LapPEOptions::max_iter or tol");
    };
    int64_t cut_products = 0;
    const bool filtered = na >= opt.filter_min_nodes && opt.filter_degree > 1;
    const auto [lo, cut] = filtered ? ritz_bounds(op, v0, kk, ncv, cut_products) : std::pair{0.0, 0.0};
    if (!filtered || cut - lo < 1e-3) {  // plain Lanczos, also where the interval is (nearly) empty
      eigs.init(v0.data());
      eigs.compute(Spectra::SortRule::LargestAlge, opt.max_iter, opt.tol, Spectra::SortRule::LargestAlge);
      if (eigs.info() != Spectra::CompInfo::Successful) not_converged();
      const Eigen::VectorXd mu = eigs.eigenvalues();  // descending: mu = 2 - lambda
      vecs = eigs.eigenvectors();
      out.num_products = cut_products + eigs.num_operations();
      for (int64_t j = 0; j < kk; ++j) out.values[j] = std::clamp(2.0 - mu[j], 0.0, 2.0);
    } else {
      // Lanczos on p(M), cut c from a short plain Lanczos (c ≤ μ_k), then Rayleigh–Ritz with M on
      // the converged vectors: their eigenvalues of M, in M's order (p is monotone above c).
      ChebyshevFilterOp filter{&op, opt.filter_degree | 1, (lo + cut) / 2, (cut - lo) / 2, {}, {}, {}, 0};
      Spectra::SymEigsSolver<ChebyshevFilterOp> feigs(filter, static_cast<Eigen::Index>(kk), static_cast<Eigen::Index>(ncv));
      feigs.init(v0.data());
      feigs.compute(Spectra::SortRule::LargestAlge, opt.max_iter, opt.tol, Spectra::SortRule::LargestAlge);
      if (feigs.info() != Spectra::CompInfo::Successful) not_converged();
      const Eigen::MatrixXd basis = feigs.eigenvectors();
      Eigen::MatrixXd mb(na, kk);
      for (int64_t j = 0; j < kk; ++j) deflated_product(op, basis.col(j).data(), mb.col(j).data(), true);
      const Eigen::MatrixXd h = basis.transpose() * mb;
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> small((h + h.transpose()) / 2);
      // Ascending μ: reversed, descending μ is ascending lambda.
      vecs = (basis * small.eigenvectors()).rowwise().reverse();
      out.num_products = cut_products + filter.products + kk;
      for (int64_t j = 0; j < kk; ++j) out.values[j] = std::clamp(2.0 - small.eigenvalues()[kk - 1 - j], 0.0, 2.0);
    }
  }
  for (int64_t j = 0; j < kk; ++j) {
    normalise_sign(vecs.col(j));
    for (int64_t i = 0; i < na; ++i) out.vectors(act[i], j) = static_cast<float>(vecs(i, j));
  }
  return out;
}

Mat random_sign_flip(const Mat& v, uint64_t key) {
  Mat out = v;
  for (Eigen::Index j = 0; j < v.cols(); ++j)
    if (Rng::uniform_at(key, static_cast<uint64_t>(j)) < 0.5f) out.col(j) = -out.col(j);
  return out;
}

}  // namespace locus::pe
