#include <doctest/doctest.h>

#include <vector>

#include "core/error.hpp"
#include "core/graph.hpp"

using namespace locus;

namespace {
// Edges of row d as (src, weight) pairs.
std::vector<std::pair<int, float>> row(const Csr& g, int64_t d) {
  std::vector<std::pair<int, float>> r;
  for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) r.emplace_back(g.indices[p], g.weight(p));
  return r;
}
}  // namespace

TEST_CASE("Csr::from_edges is destination-major with sorted rows") {
  std::vector<int32_t> src{2, 0, 1, 0}, dst{1, 1, 2, 2};
  std::vector<float> w{5, 6, 7, 8};
  Csr g = Csr::from_edges(3, src, dst, w);
  CHECK(g.num_edges() == 4);
  CHECK(g.indptr == std::vector<int64_t>{0, 0, 2, 4});
  CHECK(row(g, 1) == std::vector<std::pair<int, float>>{{0, 6.f}, {2, 5.f}});
  CHECK(row(g, 2) == std::vector<std::pair<int, float>>{{0, 8.f}, {1, 7.f}});
  CHECK(g.in_degrees() == std::vector<float>{0, 2, 2});
  CHECK(g.out_degrees() == std::vector<float>{2, 1, 1});
  CHECK_THROWS_AS(Csr::from_edges(2, src, dst), ShapeError);  // node 2 outside [0, 2)
}

TEST_CASE("symmetrise, self loops and reverse") {
  std::vector<int32_t> src{0, 1, 1}, dst{1, 0, 2};
  Csr g = Csr::from_edges(3, src, dst);
  Csr s = g.symmetrise();
  CHECK(s.num_edges() == 4);  // 0-1 already both ways; 1->2 gains 2->1
  CHECK(row(s, 1) == std::vector<std::pair<int, float>>{{0, 1.f}, {2, 1.f}});
  Csr l = s.add_self_loops();
  CHECK(l.num_edges() == 7);
  CHECK(!l.has_weights());
  Csr l2 = l.add_self_loops();  // idempotent
  CHECK(l2.num_edges() == 7);
  CHECK(l.remove_self_loops().indices == s.indices);

  Csr r = g.reverse();
  CHECK(r.num_edges() == g.num_edges());
  for (int64_t d = 0; d < r.num_dst; ++d)
    for (int64_t p = r.indptr[d]; p < r.indptr[d + 1]; ++p) {
      // Reverse edge d <- s corresponds to forward edge d -> s at position perm[p].
      const int64_t q = r.perm[p];
      CHECK(g.indices[q] == d);
      CHECK(q >= g.indptr[r.indices[p]]);
      CHECK(q < g.indptr[r.indices[p] + 1]);
    }
  CHECK(&g.reversed() == &g.reversed());  // cached
}

TEST_CASE("add_self_loops keeps rows sorted, existing weights and existing loops") {
  std::vector<int32_t> src{2, 0, 1, 2}, dst{0, 1, 1, 2};
  std::vector<float> w{5, 6, 7, 8};
  Csr g = Csr::from_edges(3, src, dst, w);  // node 1 already has a loop (weight 7)
  Csr l = g.add_self_loops(0.5f);
  CHECK(row(l, 0) == std::vector<std::pair<int, float>>{{0, 0.5f}, {2, 5.f}});
  CHECK(row(l, 1) == std::vector<std::pair<int, float>>{{0, 6.f}, {1, 7.f}});
  CHECK(row(l, 2) == std::vector<std::pair<int, float>>{{2, 8.f}});
  Csr u = Csr::from_edges(3, src, dst).add_self_loops(2.0f);  // unweighted, w != 1: weights appear
  CHECK(row(u, 0) == std::vector<std::pair<int, float>>{{0, 2.f}, {2, 1.f}});
  CHECK(row(u, 1) == std::vector<std::pair<int, float>>{{0, 1.f}, {1, 1.f}});
  // Duplicates keep their input order (weights follow their edges).
  std::vector<int32_t> ds{1, 1, 0}, dd{0, 0, 0};
  std::vector<float> dw{3, 4, 9};
  CHECK(row(Csr::from_edges(2, ds, dd, dw), 0) == std::vector<std::pair<int, float>>{{0, 9.f}, {1, 3.f}, {1, 4.f}});
}

TEST_CASE("empty graphs and isolated nodes") {
  Csr g = Csr::from_edges(4, std::vector<int32_t>{}, std::vector<int32_t>{});
  CHECK(g.num_edges() == 0);
  CHECK(g.indptr.size() == 5);
  CHECK(g.add_self_loops().num_edges() == 4);
  CHECK(g.reverse().num_edges() == 0);
}

TEST_CASE("Dense blocks and their explicit clique") {
  std::vector<int64_t> lens{2, 3};
  Dense d = Dense::blocks(lens);
  CHECK(d.num_nodes() == 5);
  CHECK(d.num_edge_slots() == 4 + 9);
  CHECK(d.edge_offset(1) == 4);
  Csr c = d.to_csr();
  CHECK(c.num_edges() == 13);
  // Position == dense edge id: edge (s=3 -> d=4) in block 1 is 4 + (4-2)*3 + (3-2) = 11.
  CHECK(c.indices[11] == 3);
  CHECK(c.indptr[4] <= 11);
  CHECK(c.indptr[5] > 11);
  Dense causal = Dense::complete(3, true);
  CHECK(causal.to_csr().num_edges() == 6);
}
