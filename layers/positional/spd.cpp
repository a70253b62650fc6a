#include "layers/positional/spd.hpp"

#include <omp.h>

#include <algorithm>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "layers/positional/laplacian.hpp"

namespace locus::pe {

HopGraph hop_graph(const Csr& g, int max_dist) {
  if (max_dist < 1 || max_dist > 16)
    throw InputError("posenc_SPD.max_dist must be in 1..16, got " + std::to_string(max_dist));
  const Csr s = undirected_simple(g);
  const int64_t n = s.num_dst;
  // Per row: (source, distance) pairs, sorted by source.
  std::vector<std::vector<std::pair<int32_t, int32_t>>> rows(static_cast<size_t>(n));
#pragma omp parallel
  {
    std::vector<int32_t> seen(static_cast<size_t>(n), -1);  // last row that reached each node
    std::vector<int32_t> frontier, next;
#pragma omp for schedule(dynamic, 64)
    for (int64_t d = 0; d < n; ++d) {
      auto& row = rows[static_cast<size_t>(d)];
      const auto stamp = static_cast<int32_t>(d);
      seen[static_cast<size_t>(d)] = stamp;
      row.emplace_back(stamp, 0);
      frontier.assign(1, stamp);
      for (int32_t depth = 1; depth <= max_dist && !frontier.empty(); ++depth) {
        next.clear();
        for (int32_t u : frontier)
          for (int64_t p = s.indptr[static_cast<size_t>(u)]; p < s.indptr[static_cast<size_t>(u) + 1]; ++p) {
            const int32_t v = s.indices[static_cast<size_t>(p)];
            if (seen[static_cast<size_t>(v)] == stamp) continue;
            seen[static_cast<size_t>(v)] = stamp;
            next.push_back(v);
            row.emplace_back(v, depth);
          }
        std::swap(frontier, next);
      }
      std::sort(row.begin(), row.end());
    }
  }
  HopGraph h;
  h.graph.num_dst = h.graph.num_src = n;
  h.graph.indptr.assign(static_cast<size_t>(n) + 1, 0);
  for (int64_t d = 0; d < n; ++d)
    h.graph.indptr[static_cast<size_t>(d) + 1] = h.graph.indptr[static_cast<size_t>(d)] + static_cast<int64_t>(rows[static_cast<size_t>(d)].size());
  h.graph.indices.resize(static_cast<size_t>(h.graph.indptr.back()));
  h.dist.resize(h.graph.indices.size());
  for (int64_t d = 0; d < n; ++d) {
    size_t p = static_cast<size_t>(h.graph.indptr[static_cast<size_t>(d)]);
    for (const auto& [src, dist] : rows[static_cast<size_t>(d)]) {
      h.graph.indices[p] = src;
      h.dist[p++] = dist;
    }
    rows[static_cast<size_t>(d)] = {};
  }
  return h;
}

}  // namespace locus::pe
