// Anchor models: the row-layout ops of core/ops/anchor.hpp, anchor indication, the GIR encoder and
// the P-GNN layer. Gradients in double; GIR against a brute-force shortest-path recursion, P-GNN
// against a naive per-(node, set) loop, anchor channels against BFS; 1 vs 2 threads bit-identical.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <queue>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/ops/anchor.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/message.hpp"
#include "layers/anchor_indication.hpp"
#include "layers/gcn.hpp"
#include "layers/gir.hpp"
#include "layers/gnn.hpp"
#include "layers/pgnn.hpp"
#include "layers/position_branch.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::check_grad;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck_params;
using locus::testing::random_matrix;
using locus::testing::reduce_random;

namespace {

using Edges = std::vector<std::pair<int32_t, int32_t>>;

// Every pair stored in both directions.
Csr undirected(int64_t n, const Edges& e) {
  std::vector<int32_t> src, dst;
  for (auto [a, b] : e) {
    src.insert(src.end(), {a, b});
    dst.insert(dst.end(), {b, a});
  }
  return Csr::from_edges(n, src, dst);
}

Edges grid_edges(int32_t rows, int32_t cols) {
  Edges e;
  for (int32_t r = 0; r < rows; ++r)
    for (int32_t c = 0; c < cols; ++c) {
      if (c + 1 < cols) e.emplace_back(r * cols + c, r * cols + c + 1);
      if (r + 1 < rows) e.emplace_back(r * cols + c, (r + 1) * cols + c);
    }
  return e;
}

// A 3×3 grid (0..8), a chord 0–8, and a separate edge 9–10: unreachable entries and odd degrees.
Csr small_graph() {
  Edges e = grid_edges(3, 3);
  e.emplace_back(0, 8);
  e.emplace_back(9, 10);
  return undirected(11, e);
}

pe::AnchorSets make_sets(const std::vector<std::vector<int32_t>>& sets) {
  pe::AnchorSets s;
  for (const auto& set : sets) {
    std::vector<int32_t> sorted = set;
    std::sort(sorted.begin(), sorted.end());
    s.nodes.insert(s.nodes.end(), sorted.begin(), sorted.end());
    s.offsets.push_back(static_cast<int64_t>(s.nodes.size()));
  }
  return s;
}

// Brute-force multi-source BFS over in-neighbour lists: hops from v to set k, −1 when unreachable.
std::vector<std::vector<int>> bfs_depths(const Csr& g, const pe::AnchorSets& sets) {
  const int64_t n = g.num_dst, k = sets.num_sets();
  std::vector<std::vector<int>> depth(n, std::vector<int>(k, -1));
  for (int64_t s = 0; s < k; ++s) {
    std::queue<int32_t> q;
    for (int64_t p = sets.offsets[s]; p < sets.offsets[s + 1]; ++p) {
      depth[sets.nodes[p]][s] = 0;
      q.push(sets.nodes[p]);
    }
    while (!q.empty()) {
      const int32_t u = q.front();
      q.pop();
      for (int64_t p = g.indptr[u]; p < g.indptr[u + 1]; ++p) {
        const int32_t w = g.indices[p];
        if (depth[w][s] < 0) {
          depth[w][s] = depth[u][s] + 1;
          q.push(w);
        }
      }
    }
  }
  return depth;
}

MatD relu(const MatD& x) { return x.cwiseMax(0.0); }

// Every parameter U(−1, 1): no ReLU input sits exactly at a kink (zero biases with zero inputs).
void randomise(ParamStore<double>& store, uint64_t seed) {
  const MatD r = random_matrix(store.size(), 1, seed);
  for (int64_t i = 0; i < store.size(); ++i) store.values()[i] = r(i, 0);
}

MatD linear(ParamStore<double>& store, const Linear<double>& lin, const MatD& x) {
  MatD y = x * store.value(lin.weight());
  if (lin.bias().index >= 0) y.rowwise() += store.value(lin.bias()).row(0);
  return y;
}

}  // namespace

TEST_CASE("anchor ops: values, errors and gradients") {
  const MatD x = random_matrix(3, 4, 1);
  SUBCASE("reshape keeps the row-major entries") {
    Tape<double> t;
    const MatD y = t.value(ops::reshape(t, t.constant(x), 6, 2));
    CHECK(y(1, 0) == x(0, 2));
    CHECK(y(5, 1) == x(2, 3));
    CHECK_THROWS_AS(ops::reshape(t, t.constant(x), 5, 2), ShapeError);
    check_grad(
        [](Tape<double>& t, const std::vector<Var>& in) { return reduce_random(t, ops::reshape(t, in[0], 2, 6)); }, {x});
  }
  SUBCASE("repeat_rows") {
    Tape<double> t;
    const MatD y = t.value(ops::repeat_rows(t, t.constant(x), 3));
    REQUIRE(y.rows() == 9);
    for (int v = 0; v < 3; ++v)
      for (int j = 0; j < 3; ++j) CHECK(y.row(v * 3 + j) == x.row(v));
    check_grad(
        [](Tape<double>& t, const std::vector<Var>& in) { return reduce_random(t, ops::repeat_rows(t, in[0], 3)); },
        {x});
  }
  SUBCASE("gather_blocks and scatter_blocks: [3, 4] as 6 blocks of 2") {
    const std::vector<int64_t> idx{4, 0, 4, 5};  // repeats allowed when gathering
    Tape<double> t;
    const MatD y = t.value(ops::gather_blocks(t, t.constant(x), idx, 2));
    CHECK(y(0, 0) == x(2, 0));
    CHECK(y(1, 1) == x(0, 1));
    CHECK(y(3, 1) == x(2, 3));
    check_grad(
        [&](Tape<double>& t, const std::vector<Var>& in) {
          return reduce_random(t, ops::gather_blocks(t, in[0], idx, 2));
        },
        {x});
    const std::vector<int64_t> dst{5, 1, 2};
    const MatD src = random_matrix(3, 2, 2);
    const MatD z = t.value(ops::scatter_blocks(t, t.constant(x), dst, t.constant(src), 3, 4));
    MatD expect = x;
    expect.block(2, 2, 1, 2) = src.row(0);
    expect.block(0, 2, 1, 2) = src.row(1);
    expect.block(1, 0, 1, 2) = src.row(2);
    CHECK(z == expect);
    const MatD z0 = t.value(ops::scatter_blocks(t, Var{}, dst, t.constant(src), 3, 4));
    CHECK(z0.block(0, 0, 1, 2).isZero());
    CHECK(z0.block(1, 0, 1, 2) == src.row(2));
    CHECK_THROWS_AS(ops::scatter_blocks(t, Var{}, std::vector<int64_t>{1, 1, 2}, t.constant(src), 3, 4), ShapeError);
    CHECK_THROWS_AS(ops::scatter_blocks(t, Var{}, std::vector<int64_t>{1, 6, 2}, t.constant(src), 3, 4), ShapeError);
    check_grad(
        [&](Tape<double>& t, const std::vector<Var>& in) {
          return reduce_random(t, ops::scatter_blocks(t, in[0], dst, in[1], 3, 4));
        },
        {x, src});
    check_grad(  // whole rows (d = cols), no base
        [&](Tape<double>& t, const std::vector<Var>& in) {
          return reduce_random(t, ops::scatter_blocks(t, Var{}, std::vector<int64_t>{2, 0}, in[0], 4, 2));
        },
        {random_matrix(2, 2, 3)});
  }
  SUBCASE("gather_rows_or_zero: −1 reads a zero row") {
    const std::vector<int32_t> idx{2, -1, 0, 2, -1};
    Tape<double> t;
    const MatD y = t.value(ops::gather_rows_or_zero(t, t.constant(x), idx));
    CHECK(y.row(0) == x.row(2));
    CHECK(y.row(1).isZero());
    CHECK(y.row(2) == x.row(0));
    CHECK_THROWS_AS(ops::gather_rows_or_zero(t, t.constant(x), std::vector<int32_t>{3}), ShapeError);
    check_grad(
        [&](Tape<double>& t, const std::vector<Var>& in) {
          return reduce_random(t, ops::gather_rows_or_zero(t, in[0], idx));
        },
        {x});
  }
  SUBCASE("index_add_rows: rows summed into their index, unnamed rows zero") {
    const std::vector<int64_t> idx{3, 0, 3};  // x has 3 rows
    Tape<double> t;
    const MatD y = t.value(ops::index_add_rows(t, t.constant(x), idx, 5));
    REQUIRE(y.rows() == 5);
    CHECK(y.row(0) == x.row(1));
    CHECK(y.row(3) == MatD(x.row(0) + x.row(2)));
    CHECK(y.row(1).isZero(0.0));
    CHECK(y.row(4).isZero(0.0));
    CHECK_THROWS_AS(ops::index_add_rows(t, t.constant(x), std::vector<int64_t>{0, 5, 1}, 5), ShapeError);
    CHECK_THROWS_AS(ops::index_add_rows(t, t.constant(x), std::vector<int64_t>{0, 1}, 5), ShapeError);
    check_grad([&](Tape<double>& t, const std::vector<Var>& in) { return reduce_random(t, ops::index_add_rows(t, in[0], idx, 5)); },
               {x});
  }
  SUBCASE("gir_frontier: levels against plain loops, both readouts; gradients; errors") {
    // V = 5 nodes, d = 2. Level 0: nodes 0, 2; level 1: nodes 1, 1, 3 (A_1 [3, 2], weighted);
    // level 2: nodes 0, 4 (A_2 [2, 3], unweighted).
    auto a1 = std::make_shared<Csr>();
    a1->num_dst = 3;
    a1->num_src = 2;
    a1->indptr = {0, 2, 3, 4};
    a1->indices = {0, 1, 1, 0};
    a1->weights = {0.5f, 2.0f, -1.0f, 1.5f};
    auto a2 = std::make_shared<Csr>();
    a2->num_dst = 2;
    a2->num_src = 3;
    a2->indptr = {0, 1, 3};
    a2->indices = {2, 0, 1};
    auto list = [](std::vector<int64_t> v) { return std::make_shared<const std::vector<int64_t>>(std::move(v)); };
    auto s = std::make_shared<const std::vector<double>>(std::vector<double>{0.5, 2.0, 3.0, -0.75, 1.25});
    const MatD start = random_matrix(2, 2, 30), wt = random_matrix(4, 2, 31), y = random_matrix(5, 4, 32);
    for (bool scaled : {false, true})
      for (bool shared : {false, true}) {  // hop 2 reads its own weight block, or hop 1's
        CAPTURE(scaled);
        CAPTURE(shared);
        ops::GirLevels<double> plan;
        plan.num_nodes = 5;
        plan.hop = {a1, a2};
        plan.node = {list({0, 2}), list({1, 1, 3}), list({0, 4})};
        plan.weight = {0, shared ? 0 : 1};
        if (scaled) plan.scale = s;
        plan.num_sets = 3;  // entries e = v·3 + k
        plan.entry = {list({1, 6}), list({3, 5, 11}), list({0, 13})};
        // Plain loops: H_l[i] = ReLU(s[u] · (Σ_j a_ij H_{l−1}[j]) W_b + y[u, b]).
        std::vector<MatD> h{start};
        for (int l = 1; l <= 2; ++l) {
          const Csr& a = *plan.hop[l - 1];
          const int b = plan.weight[l - 1];
          MatD next(a.num_dst, 2);
          for (int64_t i = 0; i < a.num_dst; ++i) {
            Eigen::RowVectorXd m = Eigen::RowVectorXd::Zero(2);
            for (int64_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p) m += a.weight(p) * h[l - 1].row(a.indices[p]);
            const int64_t u = (*plan.node[l])[i];
            next.row(i) = relu((scaled ? (*s)[u] : 1.0) * m * wt.middleRows(2 * b, 2) + y.block(u, 2 * b, 1, 2));
          }
          h.push_back(next);
        }
        MatD rows(7, 2), sums = MatD::Zero(5, 2);
        rows << h[0], h[1], h[2];
        for (int l = 0, r = 0; l <= 2; ++l)
          for (int64_t i = 0; i < h[l].rows(); ++i, ++r) sums.row((*plan.node[l])[i]) += rows.row(r);
        REQUIRE(rows.bottomRows(5).cwiseAbs().maxCoeff() > 0);  // not every hop killed by the ReLU
        Tape<double> t;
        const MatD got = t.value(ops::gir_frontier(t, plan, t.constant(start), t.constant(wt), t.constant(y),
                                                   ops::GirReadout::rows));
        CHECK((got - rows).cwiseAbs().maxCoeff() < 1e-14);
        const MatD sum = t.value(ops::gir_frontier(t, plan, t.constant(start), t.constant(wt), t.constant(y),
                                                   ops::GirReadout::node_sum, 0.25));
        CHECK((sum - 0.25 * sums).cwiseAbs().maxCoeff() < 1e-14);
        CHECK(sum.row(2) == MatD(0.25 * h[0].row(1)));  // node 2: one row; node 3's row may be zeroed
        const MatD w = random_matrix(1, 2, 33);
        const MatD dots = t.value(ops::gir_frontier(t, plan, t.constant(start), t.constant(wt), t.constant(y),
                                                    ops::GirReadout::entry_dot, 1.0, t.constant(w)));
        REQUIRE(dots.rows() == 5);
        REQUIRE(dots.cols() == 3);
        MatD expect = MatD::Zero(5, 3);
        for (int l = 0, r = 0; l <= 2; ++l)
          for (int64_t e : *plan.entry[l]) expect(e / 3, e % 3) = rows.row(r++).dot(w.row(0));
        CHECK((dots - expect).cwiseAbs().maxCoeff() < 1e-14);
        for (ops::GirReadout readout : {ops::GirReadout::rows, ops::GirReadout::node_sum, ops::GirReadout::entry_dot})
          check_grad(
              [&](Tape<double>& t, const std::vector<Var>& in) {
                return reduce_random(t, ops::gir_frontier(t, plan, in[0], in[1], in[2], readout, 0.5, in[3]));
              },
              {start, wt, y, w});
      }
    ops::GirLevels<double> plan;
    plan.num_nodes = 5;
    plan.hop = {a1};
    plan.node = {list({0, 2}), list({1, 1, 3})};
    plan.weight = {0};
    Tape<double> t;
    auto run = [&](const ops::GirLevels<double>& p, const MatD& w, const MatD& yv) {
      return ops::gir_frontier(t, p, t.constant(start), t.constant(w), t.constant(yv), ops::GirReadout::rows);
    };
    CHECK(t.rows(run(plan, wt, y)) == 5);
    auto bad = plan;
    bad.node[1] = list({1, 3, 1});  // not non-decreasing
    CHECK_THROWS_AS(run(bad, wt, y), ShapeError);
    bad = plan;
    bad.node[1] = list({1, 5, 5});  // outside the 5 nodes
    CHECK_THROWS_AS(run(bad, wt, y), ShapeError);
    bad = plan;
    bad.weight = {2};  // w_top has blocks 0 and 1
    CHECK_THROWS_AS(run(bad, wt, y), ShapeError);
    bad = plan;
    bad.hop = {a2};  // [2, 3] where level 1 has 3 rows and level 0 two
    CHECK_THROWS_AS(run(bad, wt, y), ShapeError);
    CHECK_THROWS_AS(run(plan, wt, MatD(y.leftCols(3))), ShapeError);  // y must be [5, 4]
    bad = plan;
    bad.scale = std::make_shared<const std::vector<double>>(4, 1.0);  // 4 entries for 5 nodes
    CHECK_THROWS_AS(run(bad, wt, y), ShapeError);
    auto dot = [&](const ops::GirLevels<double>& p) {
      return ops::gir_frontier(t, p, t.constant(start), t.constant(wt), t.constant(y), ops::GirReadout::entry_dot, 1.0,
                               t.constant(MatD(random_matrix(1, 2, 34))));
    };
    CHECK_THROWS_AS(dot(plan), ShapeError);  // no entry lists
    bad = plan;
    bad.num_sets = 3;
    bad.entry = {list({1, 6}), list({3, 5, 11})};
    CHECK(t.rows(dot(bad)) == 5);
    bad.entry[1] = list({3, 6, 11});  // entry 6 is node 2's, the row is node 1's
    CHECK_THROWS_AS(dot(bad), ShapeError);
  }
}

TEST_CASE("anchor indication: indicator, concat and embedding") {
  const pe::AnchorSets sets = make_sets({{1, 4}, {0}, {4, 2, 3}});
  const MatD ind = anchor_indicator<double>(sets, 5);
  MatD expect = MatD::Zero(5, 3);
  expect(1, 0) = expect(4, 0) = expect(0, 1) = expect(4, 2) = expect(2, 2) = expect(3, 2) = 1;
  CHECK(ind == expect);
  CHECK_THROWS_AS(anchor_indicator<double>(sets, 4), ShapeError);
  CHECK(parse_anchor_indication("embedding") == AnchorIndicationMode::Embedding);
  CHECK_THROWS_AS(parse_anchor_indication("concatenate"), InputError);

  const MatD x = random_matrix(5, 2, 4);
  Rng rng(3);
  ParamStore<double> store;
  Linear<double> lin(store, rng, "lin", 2 + 3, 4);  // concat mode: [x ‖ I] W + b
  AnchorEmbedding<double> emb(store, rng, "emb", 3, 4);
  randomise(store, 5);
  {
    Tape<double> t;
    const Var i = anchor_indicator(t, sets, 5);
    const MatD y = t.value(lin.forward(t, append_indicator(t, Features<double>{t.constant(x), nullptr}, i)));
    MatD xi(5, 5);
    xi << x, ind;
    CHECK((y - linear(store, lin, xi)).cwiseAbs().maxCoeff() < 1e-12);
    const MatD ye = t.value(emb.add_to(t, t.constant(x.leftCols(2) * store.value(lin.weight()).topRows(2)), i));
    const MatD ee = x * store.value(lin.weight()).topRows(2) + ind * store.value(emb.table());
    CHECK((ye - ee).cwiseAbs().maxCoeff() < 1e-12);
  }
  auto r = gradcheck_params(
      [&](Tape<double>& t) {
        const Var i = anchor_indicator(t, sets, 5);
        const Var h = lin.forward(t, append_indicator(t, Features<double>{t.constant(x), nullptr}, i));
        return reduce_random(t, emb.add_to(t, h, i));
      },
      store);
  CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
}

TEST_CASE("anchor indication: after l GCN layers a channel is non-zero exactly within l hops of its set") {
  const Csr g = undirected(20, grid_edges(4, 5));
  const Csr a_hat = gcn_normalize(g);
  const pe::AnchorSets sets = pe::sample_anchor_sets(20, 7);  // 4 sizes × 4 copies
  const int64_t k = sets.num_sets();
  const auto depth = bfs_depths(g, sets);
  Rng rng(1);
  ParamStore<double> store;
  // First layer reads [x ‖ I] with W = [0; I_K]: only the indicator passes; the others are I_K.
  GcnConv<double> first(store, rng, "gcn0", 3 + k, k);
  store.value(ParamId{0}).setZero();
  store.value(ParamId{0}).bottomRows(k).setIdentity();
  std::vector<GcnConv<double>> rest;
  for (int l = 1; l < 5; ++l) {
    rest.emplace_back(store, rng, "gcn" + std::to_string(l), k, k);
    store.value(ParamId{2 * l}).setIdentity();
  }
  Tape<double> t;
  const Var i = anchor_indicator(t, sets, 20);
  const Features<double> x{t.constant(random_matrix(20, 3, 2)), nullptr};
  Var h = first.forward(t, a_hat, append_indicator(t, x, i));
  for (int l = 1; l <= 5; ++l) {
    if (l > 1) h = rest[l - 2].forward(t, a_hat, Features<double>{h, nullptr});
    const MatD hv = t.value(h);
    int mismatches = 0;
    for (int v = 0; v < 20; ++v)
      for (int64_t s = 0; s < k; ++s) mismatches += (hv(v, s) != 0.0) != (depth[v][s] <= l);
    CHECK_MESSAGE(mismatches == 0, "layer " << l);
  }
}

TEST_CASE("make_anchor_state: depths, start and frontiers match BFS") {
  const Csr g = small_graph();
  const pe::AnchorSets sets = make_sets({{4}, {0, 10}, {2, 6}, {7}});
  const auto depth = bfs_depths(g, sets);
  for (int hops : {1, 2, 4}) {
    const AnchorState st = make_anchor_state(g, sets, hops);
    REQUIRE(st.depth.rows() == 11);
    REQUIRE(st.depth.cols() == 4);
    REQUIRE(st.frontier.size() == static_cast<size_t>(hops));
    std::vector<int64_t> start;
    std::vector<std::vector<int64_t>> frontier(hops);
    for (int v = 0; v < 11; ++v)
      for (int s = 0; s < 4; ++s) {
        const int d = depth[v][s] <= hops ? depth[v][s] : -1;
        CHECK(st.depth(v, s) == d);
        if (d == 0) start.push_back(v * 4 + s);
        if (d > 0) frontier[d - 1].push_back(v * 4 + s);
      }
    CHECK(st.start == start);
    CHECK(st.frontier == frontier);
  }
}

TEST_CASE("make_anchor_state without a cutoff: every reachable depth; hop graphs link each entry to its parents") {
  const Csr g = small_graph();
  const pe::AnchorSets sets = make_sets({{4}, {0, 10}, {2, 6}, {7}});
  const auto depth = bfs_depths(g, sets);
  const AnchorState st = make_anchor_state(g, sets, -1, true);
  int max_depth = 0;
  for (int v = 0; v < 11; ++v)
    for (int s = 0; s < 4; ++s) {
      CHECK(st.depth(v, s) == depth[v][s]);
      max_depth = std::max(max_depth, depth[v][s]);
    }
  CHECK(st.exact);
  CHECK(st.hops == max_depth);
  REQUIRE(st.frontier.size() == static_cast<size_t>(max_depth));
  REQUIRE(st.hop.size() == static_cast<size_t>(max_depth));
  for (int l = 1; l <= max_depth; ++l) {
    const std::vector<int64_t>& rows = st.frontier[l - 1];
    const std::vector<int64_t>& prev = l == 1 ? st.start : st.frontier[l - 2];
    const Csr& a = *st.hop[l - 1];
    REQUIRE(a.num_dst == static_cast<int64_t>(rows.size()));
    REQUIRE(a.num_src == static_cast<int64_t>(prev.size()));
    CHECK_FALSE(a.has_weights());
    for (size_t i = 0; i < rows.size(); ++i) {
      const int64_t v = rows[i] / 4, s = rows[i] % 4;
      std::vector<int64_t> want;  // entries (u, s) of in-neighbours one level closer
      for (int64_t q = g.indptr[v]; q < g.indptr[v + 1]; ++q)
        if (depth[g.indices[q]][s] == l - 1) want.push_back(g.indices[q] * 4 + s);
      std::vector<int64_t> got;
      for (int64_t q = a.indptr[i]; q < a.indptr[i + 1]; ++q) got.push_back(prev[a.indices[q]]);
      CHECK(got == want);
      CHECK_FALSE(got.empty());  // on an undirected graph every reached entry has a parent
    }
  }
}

TEST_CASE("make_hop_graphs on a directed, weighted graph with duplicate edges: parents in g's order, and a cached transpose equal to Csr::reverse but for perm") {
  // Depths come from the undirected view; the hop graphs follow g's own in-edges, duplicates
  // (2 -> 5 twice, 4 -> 7 twice) and weights included, and a self loop (3 -> 3) is never a parent.
  const std::vector<int32_t> src{0, 1, 2, 2, 5, 3, 4, 4, 6, 7, 3, 1, 8, 7, 8};
  const std::vector<int32_t> dst{1, 2, 5, 5, 6, 4, 7, 7, 7, 8, 3, 4, 0, 5, 6};
  std::vector<float> w;
  for (size_t i = 0; i < src.size(); ++i) w.push_back(0.5f + 0.25f * static_cast<float>(i));
  const Csr g = Csr::from_edges(9, src, dst, w);
  const pe::AnchorSets sets = make_sets({{0}, {3, 8}, {5}, {1, 2, 6}});
  const int64_t k = sets.num_sets();
  for (int cutoff : {-1, 2}) {
    CAPTURE(cutoff);
    const AnchorState st = make_anchor_state(g, sets, cutoff, true);
    REQUIRE(st.hop.size() == static_cast<size_t>(st.hops));
    int64_t edges = 0;
    for (int l = 1; l <= st.hops; ++l) {
      const std::vector<int64_t>& rows = st.frontier[l - 1];
      const std::vector<int64_t>& prev = l == 1 ? st.start : st.frontier[l - 2];
      const Csr& a = *st.hop[l - 1];
      REQUIRE(a.num_dst == static_cast<int64_t>(rows.size()));
      REQUIRE(a.num_src == static_cast<int64_t>(prev.size()));
      REQUIRE(a.has_weights());
      for (size_t i = 0; i < rows.size(); ++i) {
        const int64_t v = rows[i] / k, s = rows[i] % k;
        std::vector<std::pair<int64_t, float>> want;  // (entry (u, s), weight) of in-edges one level closer
        for (int64_t q = g.indptr[v]; q < g.indptr[v + 1]; ++q)
          if (st.depth(g.indices[q], s) == l - 1) want.emplace_back(g.indices[q] * k + s, g.weights[q]);
        std::vector<std::pair<int64_t, float>> got;
        for (int64_t q = a.indptr[i]; q < a.indptr[i + 1]; ++q) got.emplace_back(prev[a.indices[q]], a.weights[q]);
        CHECK(got == want);
      }
      edges += a.num_edges();
      const Csr& cached = a.reversed();  // built with the hop graph
      const Csr fresh = a.reverse();
      CHECK(cached.num_dst == fresh.num_dst);
      CHECK(cached.num_src == fresh.num_src);
      CHECK(cached.indptr == fresh.indptr);
      CHECK(cached.indices == fresh.indices);
      CHECK(cached.weights == fresh.weights);
      CHECK(cached.perm.empty());  // nothing reads edge values through a hop graph's transpose
    }
    CHECK(edges > 10);  // the graph exercises the duplicates and several levels
  }
}

TEST_CASE("GIR state equals the brute-force shortest-path recursion; unreached entries are exactly zero") {
  const Csr g = small_graph();
  const int64_t n = 11, in = 3, d = 4;
  // Single anchors and sets with several members (set 1 spans both components).
  const pe::AnchorSets sets = make_sets({{4}, {0, 10}, {2, 6}, {7}, {1, 5, 8}});
  const int64_t k = sets.num_sets();
  const auto bfs = bfs_depths(g, sets);
  const MatD x = random_matrix(n, in, 11);
  int max_depth = 0;
  for (const auto& row : bfs)
    for (int dv : row) max_depth = std::max(max_depth, dv);
  REQUIRE(max_depth == 3);  // so hops 3 and past the weights are exercised
  // {hop weights L, hops propagated (GirOptions::max_hops)}: one per weight, past the last weight
  // (W_L reused), and exact (until every reachable entry is reached).
  for (auto hm : {std::pair{2, 0}, std::pair{3, 0}, std::pair{2, 4}, std::pair{2, -1}})
    for (ops::Reduce agg : {ops::Reduce::Sum, ops::Reduce::Mean})
      for (bool reached : {false, true})
        for (bool prebuilt : {false, true}) {
        const int hops = hm.first, max_hops = hm.second;  // not a structured binding: lambdas capture these (clang 14)
        CAPTURE(hops);
        CAPTURE(max_hops);
        CAPTURE(static_cast<int>(agg));
        CAPTURE(reached);
        CAPTURE(prebuilt);
        Rng rng(12);
        ParamStore<double> store;
        GirOptions opt;
        opt.aggregate = agg;
        opt.update_reached = reached;
        opt.max_hops = max_hops;
        GirEncoder<double> gir(store, rng, "gir", in, d, hops, opt);
        randomise(store, 13);
        const int prop = max_hops == 0 ? hops : max_hops < 0 ? max_depth : max_hops;  // hops propagated
        // A deeper state than needed (entries at prop + 1 stay 0), or the exact one; with or
        // without hop graphs (forward builds them when absent).
        const AnchorState st = make_anchor_state(g, sets, max_hops < 0 ? -1 : prop + 1, prebuilt);
        Tape<double> t;
        const GirOutput out = gir.forward(t, g, Features<double>{t.constant(x), nullptr}, st);
        const MatD state = t.value(out.state), zpos = t.value(out.z_pos), z = t.value(out.z);
        // One output alone: the same values, and the other outputs are not built.
        const GirOutput only_pos = gir.forward(t, g, Features<double>{t.constant(x), nullptr}, st, GirOutputs::z_pos);
        const GirOutput only_z = gir.forward(t, g, Features<double>{t.constant(x), nullptr}, st, GirOutputs::z);
        CHECK(MatD(t.value(only_pos.z_pos)) == zpos);
        CHECK(MatD(t.value(only_z.z)) == z);
        CHECK_FALSE(only_pos.z.valid());
        CHECK_FALSE(only_z.z_pos.valid());

        // Brute force: P[v][s] per entry, plain loops over in-neighbours.
        const MatD xu = linear(store, gir.input(), x);
        std::vector<std::vector<Eigen::RowVectorXd>> p(n, std::vector<Eigen::RowVectorXd>(k));
        for (int v = 0; v < n; ++v)
          for (int s = 0; s < k; ++s)
            p[v][s] = bfs[v][s] == 0 ? Eigen::RowVectorXd(relu(xu.row(v))) : Eigen::RowVectorXd::Zero(d);
        for (int l = 1; l <= prop; ++l) {
          const MatD w = store.value(gir.hop(std::min(l, hops)).weight());
          const MatD b = store.value(gir.hop(std::min(l, hops)).bias());
          auto next = p;
          for (int v = 0; v < n; ++v)
            for (int s = 0; s < k; ++s) {
              const int dv = bfs[v][s];
              const bool update = reached ? (dv >= 1 && dv <= l) : dv == l;
              if (!update) continue;
              Eigen::RowVectorXd m = Eigen::RowVectorXd::Zero(d);
              const int64_t deg = g.indptr[v + 1] - g.indptr[v];
              for (int64_t q = g.indptr[v]; q < g.indptr[v + 1]; ++q) m += p[g.indices[q]][s];
              if (agg == ops::Reduce::Mean && deg > 0) m /= static_cast<double>(deg);
              Eigen::RowVectorXd cat(2 * d);
              cat << m, xu.row(v);
              next[v][s] = relu(cat * w + b);
            }
          p = std::move(next);
        }
        const Eigen::RowVectorXd wpos = store.value(gir.pos_weight()).row(0);
        double err = 0;
        int unreached = 0, last_written = 0;
        for (int v = 0; v < n; ++v) {
          Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(d);
          for (int s = 0; s < k; ++s) {
            const Eigen::RowVectorXd got = state.block(v, s * d, 1, d);
            err = std::max(err, (got - p[v][s]).cwiseAbs().maxCoeff());
            err = std::max(err, std::abs(zpos(v, s) - p[v][s].dot(wpos)));
            mean += p[v][s] / static_cast<double>(k);
            if (bfs[v][s] < 0 || bfs[v][s] > prop) {
              CHECK(got.isZero(0.0));  // exactly zero
              CHECK(zpos(v, s) == 0.0);
              ++unreached;
            } else if (bfs[v][s] == std::min(prop, max_depth)) {
              last_written += !got.isZero(0.0);
            }
          }
          err = std::max(err, (z.row(v) - mean).cwiseAbs().maxCoeff());
        }
        CHECK(err < 1e-12);
        if (max_hops >= 0) CHECK(unreached > 0);  // exact: only the other component's entries
        CHECK(last_written > 0);  // the last hop reached something (not all killed by the ReLU)
        }
}

TEST_CASE("GIR: parameter gradients and input gradients (sum / mean, frontier / reached)") {
  const Csr g = small_graph();
  const pe::AnchorSets sets = make_sets({{4}, {0, 10}, {2, 6}});
  const AnchorState st2 = make_anchor_state(g, sets, 2), exact = make_anchor_state(g, sets, -1, true);
  const MatD x = random_matrix(11, 3, 21);
  const MatD wz = random_matrix(11, 3, 22);
  for (ops::Reduce agg : {ops::Reduce::Sum, ops::Reduce::Mean})
    for (bool reached : {false, true})
      for (int max_hops : {0, -1}) {  // 2 hops; exact depths (4 here) with W_2 reused
      CAPTURE(max_hops);
      const AnchorState& st = max_hops < 0 ? exact : st2;
      Rng rng(23);
      ParamStore<double> store;
      GirOptions opt;
      opt.aggregate = agg;
      opt.update_reached = reached;
      opt.max_hops = max_hops;
      GirEncoder<double> gir(store, rng, "gir", 3, 3, 2, opt);
      randomise(store, 24);
      auto loss = [&](Tape<double>& t, Var xv) {
        // z_pos and z each from its own forward (the GirOutputs::z_pos / z paths), plus all outputs.
        const Features<double> in{xv, nullptr};
        const Var zp = gir.forward(t, g, in, st, GirOutputs::z_pos).z_pos;
        const Var z = gir.forward(t, g, in, st, GirOutputs::z).z;
        const GirOutput out = gir.forward(t, g, in, st);
        return ops::add(t, ops::add(t, reduce_random(t, zp, 25), ops::weighted_sum(t, z, wz)),
                        ops::add(t, reduce_random(t, out.z_pos, 26), ops::weighted_sum(t, out.z, wz)));
      };
      auto r = gradcheck_params([&](Tape<double>& t) { return loss(t, t.constant(x)); }, store);
      CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
      check_grad([&](Tape<double>& t, const std::vector<Var>& in) { return loss(t, in[0]); }, {x});
    }
  Rng rng(1);
  ParamStore<double> store;
  GirEncoder<double> deep(store, rng, "gir", 3, 3, 3);
  Tape<double> t;
  CHECK_THROWS_AS(deep.forward(t, g, Features<double>{t.constant(x), nullptr}, st2), ShapeError);  // state for 2 hops
  GirOptions all;
  all.max_hops = -1;
  GirEncoder<double> unbounded(store, rng, "gir2", 3, 3, 2, all);
  CHECK_THROWS_AS(unbounded.forward(t, g, Features<double>{t.constant(x), nullptr}, st2), ShapeError);  // needs exact
  all.max_hops = 1;
  CHECK_THROWS_AS(GirEncoder<double>(store, rng, "gir3", 3, 3, 2, all), ShapeError);  // fewer hops than weights
}

namespace {
// Naive P-GNN layer: per (v, i) products, MLP_dist evaluated per entry from the stored parameters.
// Returns {z_pos [N, K], h' [N, out]}.
std::pair<MatD, MatD> naive_pgnn(ParamStore<double>& store, const MatD& h, const pe::AnchorDistances& dist) {
  // Registration order: dist.0 (W, b), dist.1 (W, b), anchor.weight, self.weight, self.bias, pos.
  const MatD w1 = store.value(ParamId{0}), b1 = store.value(ParamId{1});
  const MatD w2 = store.value(ParamId{2}), b2 = store.value(ParamId{3});
  const MatD wt = store.value(ParamId{4}), wb = store.value(ParamId{5}), b = store.value(ParamId{6});
  const MatD wpos = store.value(ParamId{7});
  const int64_t n = dist.value.rows(), k = dist.value.cols(), out = wt.cols();
  MatD zpos(n, k), hn = MatD::Zero(n, out);
  for (int64_t v = 0; v < n; ++v)
    for (int64_t i = 0; i < k; ++i) {
      const double s = dist.value(v, i);
      const double st = (relu(s * w1 + b1) * w2 + b2)(0, 0);
      const int32_t u = dist.nearest(v, i);
      const MatD hu = u >= 0 ? MatD(h.row(u)) : MatD::Zero(1, h.cols());
      MatD cat(1, 2 * h.cols());
      cat << st * hu, h.row(v);
      MatD w(2 * h.cols(), out);
      w << wt, wb;
      const MatD m = relu(cat * w + b);
      zpos(v, i) = (m * wpos.transpose())(0, 0);
      hn.row(v) += m / static_cast<double>(k);
    }
  return {zpos, hn};
}
}  // namespace

TEST_CASE("P-GNN (F and E): messages equal a naive per-(node, set) loop; gradients") {
  const Csr g = small_graph();
  const pe::AnchorSets sets = pe::sample_anchor_sets(11, 31);  // 3 sizes × 3 copies
  const MatD h = random_matrix(11, 4, 32);
  for (int cutoff : {2, -1}) {
    CAPTURE(cutoff);
    const pe::AnchorDistances dist = pe::anchor_distances(g, sets, cutoff);
    REQUIRE((dist.nearest.array() < 0).any());  // the 9–10 component misses some sets
    Rng rng(33);
    ParamStore<double> store;
    PgnnOptions opt;
    opt.dist_hidden = 3;
    PgnnLayer<double> layer(store, rng, "pgnn", 4, 5, opt);
    randomise(store, 34);
    Tape<double> t;
    const PgnnOutput out = layer.forward(t, Features<double>{t.constant(h), nullptr}, dist);
    const auto [zpos, hn] = naive_pgnn(store, h, dist);
    CHECK((MatD(t.value(out.z_pos)) - zpos).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((MatD(t.value(out.h)) - hn).cwiseAbs().maxCoeff() < 1e-12);
    {  // values not of the form 1/(d+1) (two in one class): MLP_dist per entry, same formula
      pe::AnchorDistances odd = dist;
      int changed = 0;
      for (int64_t e = 0; e < odd.value.size(); ++e)
        if (odd.value.data()[e] == 0.5f && changed++ == 0) odd.value.data()[e] = 0.49f;
      REQUIRE(changed > 1);
      Tape<double> t2;
      const PgnnOutput o2 = layer.forward(t2, Features<double>{t2.constant(h), nullptr}, odd);
      const auto [zpos2, hn2] = naive_pgnn(store, h, odd);
      CHECK((MatD(t2.value(o2.z_pos)) - zpos2).cwiseAbs().maxCoeff() < 1e-12);
      CHECK((MatD(t2.value(o2.h)) - hn2).cwiseAbs().maxCoeff() < 1e-12);
      CHECK((zpos2 - zpos).cwiseAbs().maxCoeff() > 0);
    }
    auto loss = [&](Tape<double>& t, Var hv) {
      const PgnnOutput o = layer.forward(t, Features<double>{hv, nullptr}, dist);
      return ops::add(t, reduce_random(t, o.z_pos, 35), reduce_random(t, o.h, 36));
    };
    auto r = gradcheck_params([&](Tape<double>& t) { return loss(t, t.constant(h)); }, store);
    CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
    check_grad([&](Tape<double>& t, const std::vector<Var>& in) { return loss(t, in[0]); }, {h});
  }
}

TEST_CASE("GIR and P-GNN: 1 and 2 threads give identical values and gradients") {
  // 24×24 grid, K = 81 sets, d = 8: [N, K·d] has 373k entries, above the 2^18 parallel threshold.
  const int n = 576;
  const Csr g = undirected(n, grid_edges(24, 24));
  const pe::AnchorSets sets = pe::sample_anchor_sets(n, 41);
  REQUIRE(sets.num_sets() == 81);
  const AnchorState st = make_anchor_state(g, sets, 3);
  const pe::AnchorDistances dist = pe::anchor_distances(g, sets, 2);
  const Mat x = random_matrix(n, 5, 42).cast<float>();
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    Rng rng(43);
    ParamStore<float> store;
    GirOptions opt;
    opt.aggregate = ops::Reduce::Mean;
    GirEncoder<float> gir(store, rng, "gir", 5, 8, 3, opt);
    PgnnLayer<float> pgnn(store, rng, "pgnn", 8, 8);
    Tape<float> t;
    const GirOutput o = gir.forward(t, g, Features<float>{t.constant(x), nullptr}, st);
    const PgnnOutput p = pgnn.forward(t, Features<float>{o.z, nullptr}, dist);
    const Var z = gir.forward(t, g, Features<float>{t.constant(x), nullptr}, st, GirOutputs::z).z;  // node_sum
    const Mat wz = random_matrix(n, 81, 44).cast<float>(), wh = random_matrix(n, 8, 45).cast<float>();
    const Var loss = ops::add(t, ops::add(t, ops::weighted_sum(t, o.z_pos, wz), ops::weighted_sum(t, p.z_pos, wz)),
                              ops::add(t, ops::weighted_sum(t, p.h, wh), ops::weighted_sum(t, z, wh)));
    t.backward(loss);
    omp_set_num_threads(omp_get_num_procs());
    return std::tuple{Mat(t.value(o.z_pos)), Mat(t.value(p.h)), store.grads()};
  };
  const auto [z1, h1, g1] = run(1);
  const auto [z2, h2, g2] = run(2);
  CHECK(z1 == z2);
  CHECK(h1 == h2);
  CHECK(g1 == g2);
  CHECK(z1.cwiseAbs().maxCoeff() > 0);
}

TEST_CASE("single-node anchor count: ⌊log₂ n⌋², every node while n·K fits the budget, or the count asked for") {
  CHECK(pe::kAnchorNodePairs == 65536);
  CHECK(pe::anchor_node_count(0) == 0);
  CHECK(pe::anchor_node_count(1) == 1);
  CHECK(pe::anchor_node_count(34) == 34);      // karate: every node
  CHECK(pe::anchor_node_count(250) == 250);    // 250 · 250 = 62500 pairs
  CHECK(pe::anchor_node_count(257) == 255);    // 65536 / 257 = 255 > ⌊log₂ 257⌋² = 64
  CHECK(pe::anchor_node_count(500) == 131);    // 65536 / 500
  CHECK(pe::anchor_node_count(1000) == 81);    // ⌊log₂ 1000⌋² = 81 > 65
  CHECK(pe::anchor_node_count(2708) == 121);   // Cora: ⌊log₂ 2708⌋² = 121
  CHECK(pe::anchor_node_count(100000) == 256);
  CHECK(pe::anchor_node_count(2708, 7) == 7);  // asked for
  CHECK(pe::anchor_node_count(5, 7) == 5);     // clamped to n
  CHECK_THROWS(pe::anchor_node_count(-1));
  CHECK_THROWS(pe::anchor_node_count(5, -1));

  // The branch draws that many fixed nodes (gnn.num_anchors through PositionBranchSpec).
  const Csr g = undirected(64, grid_edges(8, 8));
  for (const int64_t asked : {int64_t(0), int64_t(5)}) {
    CAPTURE(asked);
    Rng rng(60);
    ParamStore<double> store;
    PositionBranchSpec spec;
    spec.kind = "gir";
    spec.in_dim = 1;
    spec.hidden = 3;
    spec.fixed_nodes = true;
    spec.num_anchors = asked;
    PositionBranch<double> branch(store, rng, spec, g);
    CHECK(branch.out_dim() == (asked ? 5 : 64));
    CHECK(branch.eval_sets()->num_sets() == branch.out_dim());
  }
}

TEST_CASE("anchor branch: P-GNN sets are resampled per training call unless resample is off; single-node anchors stay fixed") {
  const pe::AnchorSets a = pe::sample_anchor_nodes(10, 7, 4), b = pe::sample_anchor_nodes(10, 7, 4);
  REQUIRE(a.num_sets() == 4);
  CHECK(a.nodes == b.nodes);  // reproducible from the seed
  std::vector<int32_t> sorted = a.nodes;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());  // distinct
  for (int64_t i = 0; i < 4; ++i) CHECK(a.set_size(i) == 1);
  CHECK(pe::sample_anchor_nodes(3, 7, 9).num_sets() == 3);  // clamped to n

  const int n = 64;
  const Csr g = undirected(n, grid_edges(8, 8));
  const MatD x = random_matrix(n, 3, 51);
  for (const std::string kind : {"gir", "pgnn"})
    for (const auto& choice : {std::pair{false, true}, {true, true}, {false, false}}) {
      const bool nodes = choice.first, resample = choice.second;  // named copies: CAPTURE cannot take bindings
      const bool fixed = nodes || !resample;
      CAPTURE(kind);
      CAPTURE(nodes);
      CAPTURE(resample);
      Rng rng(52);
      ParamStore<double> store;
      PositionBranchSpec spec;
      spec.kind = kind;
      spec.in_dim = 3;
      spec.hidden = 4;
      spec.dropout = 0.0;
      spec.fixed_nodes = nodes;
      spec.resample = resample;
      spec.eval_seed = 53;
      PositionBranch<double> branch(store, rng, spec, g);
      // ⌊log₂ 64⌋² sets; every node as a single-node anchor (64 · 64 pairs fit the budget)
      CHECK(branch.out_dim() == (nodes ? 64 : 36));
      Tape<double> t;
      const Features<double> in{t.constant(x), nullptr};
      const MatD train1 = t.value(branch.forward(t, in, true, 1)), train2 = t.value(branch.forward(t, in, true, 2));
      const MatD eval = t.value(branch.forward(t, in, false, 3));
      // New sets per training call unless the anchors are fixed nodes or resampling is off.
      CHECK((train1 == train2) == fixed);
      CHECK((train1 == eval) == fixed);
    }
}

TEST_CASE("anchor readout: a classifier reads Z_pos (one column per set) exactly when the anchors are fixed") {
  const int n = 64;
  const Csr g = undirected(n, grid_edges(8, 8));
  const MatD x = random_matrix(n, 3, 61);
  struct Case {
    bool nodes, resample;
    AnchorReadout readout;
    int64_t width;  // embed(): the anchor branch's output alone (layer_type gir)
  };
  // ⌊log₂ 64⌋² = 36 sets, or all 64 nodes as single-node anchors (pe::anchor_node_count); hidden 5.
  const std::vector<Case> cases{{false, true, AnchorReadout::Auto, 5},    {false, false, AnchorReadout::Auto, 36},
                                {true, true, AnchorReadout::Auto, 64},    {false, false, AnchorReadout::Mean, 5},
                                {true, true, AnchorReadout::Anchors, 64}, {false, false, AnchorReadout::Anchors, 36}};
  for (const std::string kind : {"gir", "pgnn"})
    for (const Case& c : cases) {
      CAPTURE(kind);
      CAPTURE(c.nodes);
      CAPTURE(c.resample);
      CAPTURE(static_cast<int>(c.readout));
      GnnSpec spec;
      spec.layer_type = kind;
      spec.in_dim = 3, spec.hidden = 5, spec.out_dim = 4;
      spec.anchors = c.nodes ? AnchorKind::Nodes : AnchorKind::Sets;
      spec.anchor_resample = c.resample ? Toggle::On : Toggle::Off;
      spec.anchor_readout = c.readout;
      CHECK(validate(spec).empty());
      ParamStore<double> store;
      Rng rng(62);
      GnnClassifier<double> model(store, rng, spec, g);
      Tape<double> t;
      CHECK(t.cols(model.embed(t, Features<double>{t.constant(x), nullptr})) == c.width);
      CHECK(t.cols(model.forward(t, Features<double>{t.constant(x), nullptr}, true, 1)) == 4);
    }
  // gnn.branch_dim sets the branch's own width: the order-free Z is 3 wide beside a 5-wide GNN;
  // Z_pos stays one column per set.
  for (const bool fixed : {false, true}) {
    CAPTURE(fixed);
    GnnSpec spec;
    spec.layer_type = "gcn";
    spec.position = "gir";
    spec.in_dim = 3, spec.hidden = 5, spec.out_dim = 4, spec.branch_dim = 3;
    spec.anchor_resample = fixed ? Toggle::Off : Toggle::On;
    spec.anchors = AnchorKind::Sets;
    spec.fusion = "concat";
    ParamStore<double> store;
    Rng rng(63);
    GnnClassifier<double> model(store, rng, spec, g);
    Tape<double> t;
    // embed(): the last GCN layer's input [h ‖ Z], h 5 wide.
    CHECK(t.cols(model.embed(t, Features<double>{t.constant(x), nullptr})) == 5 + (fixed ? 36 : 3));
    // Input fusion: the first layer reads [x ‖ Z] (3 + 36 or 3 + 3 rows), the last h alone.
    GnnSpec first = spec;
    first.fusion = "input";
    ParamStore<double> store_in;
    Rng rng_in(63);
    GnnClassifier<double> model_in(store_in, rng_in, first, g);
    CHECK(t.cols(model_in.embed(t, Features<double>{t.constant(x), nullptr})) == 5);
    const auto& pin = store_in.params();
    const auto w0 = std::find_if(pin.begin(), pin.end(), [](const ParamInfo& p) { return p.name == "layer0.weight"; });
    REQUIRE(w0 != pin.end());
    CHECK(w0->rows == 3 + (fixed ? 36 : 3));
    const auto& ps = store.params();
    const auto u = std::find_if(ps.begin(), ps.end(), [](const ParamInfo& p) { return p.name == "gir.input.weight"; });
    REQUIRE(u != ps.end());
    CHECK(u->rows == 1);  // the fused branch reads a constant column
    CHECK(u->cols == 3);
  }
  // Columns per set while the sets change every epoch: refused, naming the key and the fix.
  GnnSpec bad;
  bad.layer_type = "gir";
  bad.in_dim = 3, bad.out_dim = 4;
  bad.anchor_readout = AnchorReadout::Anchors;
  const std::vector<ConfigProblem> problems = validate(bad);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].key == "gnn.anchor_readout");
  CHECK(problems[0].fix.find("gnn.anchor_resample=false") != std::string::npos);
  bad.embeddings = true;  // pair tasks read Z_pos under P-GNN's resampling anyway
  CHECK(validate(bad).empty());
  // An anchor count for P-GNN's sets, which have their own: refused; with single nodes, taken.
  bad.num_anchors = 20;
  const std::vector<ConfigProblem> count = validate(bad);
  REQUIRE(count.size() == 1);
  CHECK(count[0].key == "gnn.num_anchors");
  CHECK(count[0].token == "20");
  CHECK(count[0].fix.find("gnn.anchors=nodes") != std::string::npos);
  bad.anchors = AnchorKind::Nodes;
  CHECK(validate(bad).empty());
}

TEST_CASE("fusion_select: the plain path reads no branch parameter; the gate picks the path; gir alone has none") {
  const int n = 64;
  const Csr g = undirected(n, grid_edges(8, 8));
  const MatD x = random_matrix(n, 3, 71);
  for (const std::string fusion : {"input", "concat", "sum"})
    for (const std::string kind : {"gir", "pgnn"}) {
      CAPTURE(fusion);
      CAPTURE(kind);
      GnnSpec spec;
      spec.layer_type = "gcn";
      spec.position = kind;
      spec.fusion = fusion;
      spec.fusion_select = Toggle::On;
      spec.anchors = AnchorKind::Nodes;
      spec.in_dim = 3, spec.hidden = 5, spec.out_dim = 4;
      ParamStore<double> store;
      Rng rng(72);
      GnnClassifier<double> model(store, rng, spec, g);
      REQUIRE(model.selects_position());
      CHECK(model.position_used());  // the gate starts open
      auto out = [&](PositionUse use, bool training = false) {
        Tape<double> t;
        return MatD(t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, training, 5, use)));
      };
      const MatD on = out(PositionUse::On), off = out(PositionUse::Off);
      CHECK((on - off).norm() > 1e-3);  // the branch moves the output
      CHECK(out(PositionUse::Model) == on);
      model.set_position_used(false);
      CHECK(!model.position_used());
      CHECK(out(PositionUse::Model) == off);
      // The branch's parameters (gir.*, pgnn0.*, ...) and sum fusion's Linear and weight (not the gate).
      auto in_branch = [&](const ParamInfo& p) {
        return (p.name.rfind(kind, 0) == 0 || p.name.rfind("fusion.", 0) == 0) && p.name != "fusion.gate";
      };
      // Training the plain path leaves every branch parameter without gradient, and others with one.
      {
        Tape<double> t;
        store.zero_grad();
        t.backward(reduce_random(t, model.forward(t, Features<double>{t.constant(x), nullptr}, true, 5, PositionUse::Off)));
        double branch_grad = 0, other_grad = 0;
        int64_t branch_params = 0;
        for (const ParamInfo& p : store.params()) {
          double gsum = 0;
          for (int64_t i = 0; i < p.rows * p.cols; ++i) gsum += std::abs(store.grads()[p.offset + i]);
          if (in_branch(p)) branch_grad += gsum, branch_params += p.rows * p.cols;
          else other_grad += gsum;
        }
        CHECK(branch_params > 0);
        CHECK(branch_grad == 0.0);
        CHECK(other_grad > 0.0);
      }
      // Changing every branch parameter moves the fused path only.
      for (const ParamInfo& p : store.params())
        if (in_branch(p))
          for (int64_t i = 0; i < p.rows * p.cols; ++i) store.values()[p.offset + i] += 0.25;
      CHECK(out(PositionUse::Off) == off);
      CHECK((out(PositionUse::On) - on).norm() > 1e-3);
    }
  // The anchor branch alone is the model: no gate to set.
  GnnSpec alone;
  alone.layer_type = "gir";
  alone.fusion_select = Toggle::On;
  alone.in_dim = 3, alone.hidden = 5, alone.out_dim = 4;
  ParamStore<double> store;
  Rng rng(73);
  GnnClassifier<double> model(store, rng, alone, g);
  CHECK(!model.selects_position());
  CHECK(model.position_used());
  CHECK_THROWS_AS(model.set_position_used(false), ShapeError);
  CHECK(!selects_branch(alone));
  for (const ParamInfo& p : store.params()) CHECK(p.name != "fusion.gate");
  // The default (auto): on for node classification, off for pair tasks (embeddings).
  GnnSpec fused;
  fused.position = "pgnn";
  CHECK(fused.fusion_select == Toggle::Auto);
  CHECK(selects_branch(fused));
  fused.embeddings = true;
  CHECK(!selects_branch(fused));
  fused.fusion_select = Toggle::On;
  CHECK(selects_branch(fused));
  fused.fusion_select = Toggle::Off;
  fused.embeddings = false;
  CHECK(!selects_branch(fused));
  fused.fusion_select = Toggle::Auto;
  fused.position = "none";
  CHECK(!selects_branch(fused));
  // gnn.fusion=auto and gnn.anchors=auto follow selection: the first layer reads Z and single
  // nodes anchor it where validation chooses the branch; pair tasks keep P-GNN's concat and sets.
  fused.position = "gir";
  CHECK(fused.fusion == "auto");
  CHECK(fused.anchors == AnchorKind::Auto);
  CHECK(fusion_mode(fused) == "input");
  CHECK(anchor_nodes(fused));
  CHECK(anchors_fixed(fused));
  fused.embeddings = true;
  CHECK(fusion_mode(fused) == "concat");
  CHECK(!anchor_nodes(fused));
  CHECK(!anchors_fixed(fused));
  fused.fusion = "sum";
  fused.anchors = AnchorKind::Nodes;
  CHECK(fusion_mode(fused) == "sum");
  CHECK(anchor_nodes(fused));
  fused.embeddings = false;
  fused.fusion_select = Toggle::Off;  // no plain path to fall back on: P-GNN's sets
  fused.anchors = AnchorKind::Auto;
  fused.fusion = "auto";
  CHECK(fusion_mode(fused) == "concat");
  CHECK(!anchor_nodes(fused));
  fused.fusion = "last";
  REQUIRE(validate(fused).size() == 1);
  CHECK(validate(fused)[0].key == "gnn.fusion");
  CHECK(validate(fused)[0].problem.find("auto, input, concat, sum") != std::string::npos);
}
