#include "layers/positional/random_walk.hpp"

#include <omp.h>

#include <vector>

#include "core/error.hpp"
#include "layers/positional/laplacian.hpp"

namespace locus::pe {

Mat random_walk_pe(const Csr& g, int K, const RandomWalkOptions& opt) {
  check(K >= 0, "pe::random_walk_pe: K must be >= 0");
  const int64_t n = g.num_dst;
  Mat out = Mat::Zero(n, K);
  if (K == 0 || n == 0) return out;
  const Csr s = undirected_simple(g);
  const int H = (K + 1) / 2;
  std::vector<double> inv_deg(n);
  for (int64_t v = 0; v < n; ++v) {
    const int64_t d = s.indptr[v + 1] - s.indptr[v];
    inv_deg[v] = d > 0 ? 1.0 / static_cast<double>(d) : 0.0;
  }
  const double tol = opt.drop_tol;

#pragma omp parallel
  {
    // p[t] dense over nodes (zero outside supp[t]); an entry is in supp[t] iff it is > 0.
    std::vector<std::vector<double>> p(H + 1, std::vector<double>(n, 0.0));
    std::vector<std::vector<int32_t>> supp(H + 1);
#pragma omp for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; ++i) {
      if (inv_deg[i] == 0.0) continue;
      p[0][i] = 1.0;
      supp[0].assign(1, static_cast<int32_t>(i));
      for (int t = 1; t <= H; ++t) {
        std::vector<double>& cur = p[t];
        std::vector<int32_t>& sc = supp[t];
        for (int32_t u : supp[t - 1]) {
          const double w = p[t - 1][u] * inv_deg[u];
          for (int64_t q = s.indptr[u]; q < s.indptr[u + 1]; ++q) {
            const int32_t v = s.indices[q];
            if (cur[v] == 0.0) sc.push_back(v);
            cur[v] += w;
          }
        }
        if (tol > 0) {
          size_t keep = 0;
          for (int32_t v : sc) {
            if (cur[v] >= tol) sc[keep++] = v;
            else cur[v] = 0.0;
          }
          sc.resize(keep);
        }
      }
      const double di = 1.0 / inv_deg[i];
      for (int k = 1; k <= K; ++k) {
        const int a = k / 2, b = k - a;
        double r = 0;
        for (int32_t j : supp[a]) r += p[a][j] * p[b][j] * inv_deg[j];
        out(i, k - 1) = static_cast<float>(r * di);
      }
      for (int t = 0; t <= H; ++t) {
        for (int32_t v : supp[t]) p[t][v] = 0.0;
        supp[t].clear();
      }
    }
  }
  return out;
}

}  // namespace locus::pe
