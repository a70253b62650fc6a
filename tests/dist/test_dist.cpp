// Partitioned message passing on MPI ranks (run as `scripts/mpirun.sh -np 2 test_dist`; one rank
// works too): on every rank's owned rows, the partitioned gspmm, GCN (degrees of the halo fetched
// from its owners) and GAT layers give the values and gradients of the same computation on the
// whole graph, in double precision; a part file round-trips; the
// deterministic gradient sum adds in rank order. Every rank runs every case (the exchanges are
// collective), so the cases use CHECK, never REQUIRE.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/alloc.hpp"
#include "core/dist/comm.hpp"
#include "core/dist/halo.hpp"
#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/message.hpp"
#include "datasets/partition.hpp"
#include "layers/gat.hpp"
#include "layers/gcn.hpp"
#include "layers/gnn.hpp"
#include "layers/registry.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::random_matrix;

namespace {

dist::Comm& comm() { return dist::Comm::world(); }

// A random undirected graph on n nodes (both directions stored), weights when asked; the last
// `isolated` nodes have no edges.
Csr random_graph(int64_t n, int64_t m, bool weighted, int64_t isolated = 0, uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> node(0, static_cast<int32_t>(n - isolated - 1));
  std::uniform_real_distribution<float> w(0.5f, 2.0f);
  std::vector<int32_t> src, dst;
  std::vector<float> wt;
  for (int64_t e = 0; e < m; ++e) {
    const int32_t a = node(rng), b = node(rng);
    const float x = w(rng);
    src.push_back(a), dst.push_back(b), src.push_back(b), dst.push_back(a);
    if (weighted) wt.push_back(x), wt.push_back(x);
  }
  return Csr::from_edges(n, src, dst, wt);
}

// The layouts used: METIS's cut, and a cut that gives the last rank only isolated nodes (no
// halo, nothing to send) while the others still exchange.
std::vector<std::vector<int32_t>> cuts(const Csr& g, int64_t isolated) {
  const int p = comm().size();
  std::vector<std::vector<int32_t>> out{metis_partition(g, p)};
  if (p > 1) {
    std::vector<int32_t> part(static_cast<size_t>(g.num_dst));
    const int64_t connected = g.num_dst - isolated;
    for (int64_t v = 0; v < g.num_dst; ++v) part[v] = v < connected ? static_cast<int32_t>(v % (p - 1)) : p - 1;
    out.push_back(part);
  }
  return out;
}

MatD rows_of(const MatD& m, const std::vector<int32_t>& rows) {
  MatD out(static_cast<Eigen::Index>(rows.size()), m.cols());
  for (size_t i = 0; i < rows.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = m.row(rows[i]);
  return out;
}

double max_diff(const MatD& a, const MatD& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return 1e300;
  return a.size() ? (a - b).cwiseAbs().maxCoeff() : 0.0;
}

}  // namespace

TEST_CASE("the layouts of all ranks agree: what one sends is what the other expects") {
  const Csr g = random_graph(60, 90, false, 4);
  for (const auto& part : cuts(g, 4)) {
    const dist::LocalLayout l = dist::make_layout(g, part, comm().rank(), comm().size());
    // Every rank lists, per peer, the global ids it sends; gathered, they must equal the
    // receiver's halo group for that sender.
    for (int r = 0; r < comm().size(); ++r)
      for (int q = 0; q < comm().size(); ++q) {
        if (r == q) continue;
        const dist::LocalLayout lr = dist::make_layout(g, part, r, comm().size());
        const dist::LocalLayout lq = dist::make_layout(g, part, q, comm().size());
        std::vector<int32_t> sent, expected;
        for (const auto& p : lr.peers)
          if (p.rank == q)
            for (int32_t row : p.send_rows) sent.push_back(lr.owned[row]);
        for (const auto& p : lq.peers)
          if (p.rank == r)
            for (int64_t i = 0; i < p.recv_count; ++i) expected.push_back(lq.halo[p.recv_offset + i]);
        CHECK(sent == expected);
      }
    // The halo is exactly the remote sources of owned rows.
    std::vector<int32_t> remote;
    for (int32_t d : l.owned)
      for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p)
        if (part[g.indices[p]] != comm().rank()) remote.push_back(g.indices[p]);
    std::sort(remote.begin(), remote.end());
    remote.erase(std::unique(remote.begin(), remote.end()), remote.end());
    std::vector<int32_t> halo = l.halo;
    std::sort(halo.begin(), halo.end());
    CHECK(halo == remote);
  }
}

TEST_CASE("partitioned gspmm equals the whole graph's, values and gradients") {
  for (bool weighted : {false, true})
    for (auto red : {ops::Reduce::Sum, ops::Reduce::Mean}) {
      const Csr g = random_graph(50, 80, weighted, 3);
      const MatD x = random_matrix(50, 5, 1), w = random_matrix(50, 5, 2);
      // Whole graph, on every rank.
      Tape<double> ref;
      Var xr = ref.leaf(x);
      Var yr = ops::gspmm(ref, GraphRef(g), xr, red);
      ref.backward(ops::weighted_sum(ref, yr, w));
      for (const auto& part : cuts(g, 3)) {
        auto layout = std::make_shared<const dist::LocalLayout>(dist::make_layout(g, part, comm().rank(), comm().size()));
        const Csr local = dist::localise(g, layout, &comm());
        Tape<double> t;
        Var xl = t.leaf(rows_of(x, layout->owned));
        Var yl = ops::gspmm(t, GraphRef(local), xl, red);
        t.backward(ops::weighted_sum(t, yl, rows_of(w, layout->owned)));
        CHECK(max_diff(MatD(t.value(yl)), rows_of(MatD(ref.value(yr)), layout->owned)) < 1e-12);
        CHECK(max_diff(MatD(t.grad(xl)), rows_of(MatD(ref.grad(xr)), layout->owned)) < 1e-12);
      }
    }
}

TEST_CASE("partitioned GCN and GAT layers equal the whole graph's, values and parameter gradients") {
  const Csr raw = random_graph(48, 70, false, 2, 11);
  const MatD x = random_matrix(48, 6, 3), w3 = random_matrix(48, 3, 4), w8 = random_matrix(48, 8, 5);
  for (const auto& part : cuts(raw, 2)) {
    auto layout = std::make_shared<const dist::LocalLayout>(dist::make_layout(raw, part, comm().rank(), comm().size()));
    for (bool gat : {false, true}) {
      // The rank builds its graph cache from its own rows (GCN: the halo's degrees fetched).
      const Csr whole = gat ? gat_graph(raw) : gcn_normalize(raw);
      const Csr linked = dist::localise(raw, layout, &comm());
      const Csr local = gat ? gat_graph(linked) : gcn_normalize(linked);
      CHECK(local.halo != nullptr);
      const MatD& w = gat ? w8 : w3;
      auto run = [&](const Csr& g, const MatD& xin, const MatD& win, MatD& y, std::vector<double>& grads) {
        ParamStore<double> store;
        Rng rng(5);
        Tape<double> t;
        Var out;
        if (gat) {
          GatOptions opt;
          opt.heads = 2;
          GatConv<double> layer(store, rng, "gat", 6, 4, opt);
          out = layer.forward(t, GraphRef(g), Features<double>{t.constant(xin), nullptr}, false, 0);
        } else {
          GcnConv<double> layer(store, rng, "gcn", 6, 3);
          out = layer.forward(t, g, Features<double>{t.constant(xin), nullptr});
        }
        store.zero_grad();
        t.backward(ops::weighted_sum(t, out, win));
        y = t.value(out);
        grads.assign(store.grads().begin(), store.grads().end());
      };
      MatD y_ref, y_loc;
      std::vector<double> g_ref, g_loc;
      run(whole, x, w, y_ref, g_ref);
      run(local, rows_of(x, layout->owned), rows_of(w, layout->owned), y_loc, g_loc);
      comm().sum(g_loc.data(), static_cast<int64_t>(g_loc.size()), true);  // the ranks' shares add up
      CHECK(max_diff(y_loc, rows_of(y_ref, layout->owned)) < 1e-12);
      REQUIRE(g_loc.size() == g_ref.size());
      double worst = 0;
      for (size_t i = 0; i < g_ref.size(); ++i) worst = std::max(worst, std::abs(g_loc[i] - g_ref[i]));
      CHECK(worst < 1e-11);
    }
  }
}

TEST_CASE("every registered type with partitioned training: the model on a rank's part equals the whole graph's") {
  const Csr raw = random_graph(40, 60, false, 2, 13);
  const MatD x = random_matrix(40, 5, 6);
  for (const LayerDescriptor& d : layer_registry()) {
    if (!d.distributed) continue;
    INFO("layer type ", d.name);
    GnnSpec spec;
    spec.layer_type = d.name;
    spec.layers = 2;
    spec.in_dim = 5;
    spec.hidden = 4;
    spec.out_dim = 3;
    spec.att_heads = 2;
    const MatD w = random_matrix(40, 3, 8);
    // Values and summed parameter gradients of a weighted sum of the model's output rows.
    auto run = [&](const GnnSpec& sp, const Csr& g, const MatD& xin, const MatD& win, MatD& y, std::vector<double>& grads) {
      ParamStore<double> store;
      Rng rng(21);
      GnnClassifier<double> model(store, rng, sp, g);
      Tape<double> t;
      const Var out = model.forward(t, Features<double>{t.constant(xin), nullptr}, false, 0);
      store.zero_grad();
      t.backward(ops::weighted_sum(t, out, win));
      y = t.value(out);
      grads.assign(store.grads().begin(), store.grads().end());
    };
    MatD y_ref, y_loc;
    std::vector<double> g_ref, g_loc;
    run(spec, raw, x, w, y_ref, g_ref);
    const std::vector<int32_t> part = metis_partition(raw, comm().size());
    auto layout = std::make_shared<const dist::LocalLayout>(dist::make_layout(raw, part, comm().rank(), comm().size()));
    GnnSpec local = spec;
    local.partition = layout;
    local.comm = &comm();
    run(local, dist::extract_rows(raw, *layout), rows_of(x, layout->owned), rows_of(w, layout->owned), y_loc, g_loc);
    comm().sum(g_loc.data(), static_cast<int64_t>(g_loc.size()), true);
    CHECK(max_diff(y_loc, rows_of(y_ref, layout->owned)) < 1e-12);
    CHECK(g_loc.size() == g_ref.size());
    double worst = 0;
    for (size_t i = 0; i < std::min(g_ref.size(), g_loc.size()); ++i) worst = std::max(worst, std::abs(g_loc[i] - g_ref[i]));
    CHECK(worst < 1e-11);
  }
}

TEST_CASE("a rank draws one process's dropout masks: rows, stored features and GAT edges by global place") {
  const Csr raw = random_graph(45, 70, false, 2, 5);
  auto layout = std::make_shared<const dist::LocalLayout>(
      dist::make_layout(raw, metis_partition(raw, comm().size()), comm().rank(), comm().size()));
  std::vector<int64_t> rows(layout->owned.begin(), layout->owned.end());
  // Dense rows.
  const MatD x = random_matrix(45, 6, 1);
  Tape<double> whole, part;
  const MatD yw = whole.value(ops::dropout(whole, whole.constant(x), 0.5, 77, true));
  const MatD yp = part.value(ops::dropout(part, part.constant(rows_of(x, layout->owned)), 0.5, 77, true, &rows));
  CHECK(max_diff(yp, rows_of(yw, layout->owned)) == 0.0);
  // Stored values of a sparse matrix.
  SpMatT<double> sx = random_matrix(45, 9, 2).unaryExpr([](double v) { return v > 0.3 ? v : 0.0; }).sparseView();
  sx.makeCompressed();
  SpMatT<double> sp(static_cast<Eigen::Index>(rows.size()), 9);
  std::vector<Eigen::Triplet<double>> tr;
  std::vector<int64_t> nnz_start;
  for (size_t i = 0; i < rows.size(); ++i) {
    nnz_start.push_back(sx.outerIndexPtr()[rows[i]]);
    for (SpMatT<double>::InnerIterator it(sx, rows[i]); it; ++it) tr.emplace_back(static_cast<Eigen::Index>(i), it.col(), it.value());
  }
  sp.setFromTriplets(tr.begin(), tr.end());
  const MatD sw = MatD(ops::sparse_dropout(sx, 0.5, 78));
  const MatD sl = MatD(ops::sparse_dropout(sp, 0.5, 78, &nnz_start));
  CHECK(max_diff(sl, rows_of(sw, layout->owned)) == 0.0);
  // GAT graph edges: each local edge's global place holds the same (destination, source).
  const Csr whole_gat = gat_graph(raw);
  const Csr local_gat = gat_graph(dist::localise(raw, layout, &comm()));
  const std::vector<int64_t> pos = dist::global_edge_positions(local_gat);
  REQUIRE(pos.size() == static_cast<size_t>(local_gat.num_edges()));
  const int64_t own = layout->num_own();
  for (int64_t i = 0; i < own; ++i)
    for (int64_t p = local_gat.indptr[i]; p < local_gat.indptr[i + 1]; ++p) {
      const int32_t s = local_gat.indices[p];
      const int32_t global_src = s < own ? layout->owned[s] : layout->halo[s - own];
      const int32_t d = layout->owned[i];
      CHECK(pos[p] >= whole_gat.indptr[d]);
      CHECK(pos[p] < whole_gat.indptr[d + 1]);
      CHECK(whole_gat.indices[pos[p]] == global_src);
    }
}

TEST_CASE("a part file holds the rank's layout, rows, features, labels and split") {
  Dataset ds;
  ds.name = "rnd";
  ds.num_nodes = 40;
  const Csr g = random_graph(40, 60, true, 2, 3);
  ds.features = random_matrix(40, 5, 9).cast<float>().sparseView();
  ds.num_classes = 3;
  for (int v = 0; v < 40; ++v) ds.labels.push_back(v % 4 == 3 ? -1 : v % 3);
  ds.train = {0, 5, 9, 31, 2};
  ds.val = {7, 8};
  ds.test = {1, 3, 33};
  const auto part = metis_partition(g, 3);
  const std::string path = std::filesystem::temp_directory_path() /
                           ("locus-test-dist-" + std::to_string(::getpid()) + "-" + std::to_string(comm().rank()) + ".bin");
  for (int k = 0; k < 3; ++k) {
    const PartData p = make_part(ds, g, part, k, 3, "rnd");
    write_part(path, p);
    const PartData q = read_part(path);
    CHECK(q.layout.owned == p.layout.owned);
    CHECK(q.layout.halo == p.layout.halo);
    REQUIRE(q.layout.peers.size() == p.layout.peers.size());
    for (size_t i = 0; i < p.layout.peers.size(); ++i) CHECK(q.layout.peers[i].send_rows == p.layout.peers[i].send_rows);
    CHECK(q.graph.indptr == p.graph.indptr);
    CHECK(q.graph.indices == p.graph.indices);
    CHECK(q.graph.weights == p.graph.weights);
    CHECK(MatD(q.features.cast<double>()) == MatD(p.features.cast<double>()));
    CHECK(q.labels == p.labels);
    CHECK(q.feature_nnz_start == p.feature_nnz_start);
    CHECK(q.train == p.train);
    CHECK(q.num_train == 5);
    // The part's rows are the owned nodes' rows of the whole data.
    for (size_t i = 0; i < p.layout.owned.size(); ++i) {
      const int32_t v = p.layout.owned[i];
      CHECK(p.labels[i] == ds.labels[v]);
      CHECK(MatD(p.features.row(static_cast<Eigen::Index>(i)).cast<double>()) ==
            MatD(ds.features.row(v).cast<double>()));
      CHECK(p.graph.indptr[i + 1] - p.graph.indptr[i] == g.indptr[v + 1] - g.indptr[v]);
    }
    for (int32_t row : p.train) CHECK(std::find(ds.train.begin(), ds.train.end(), p.layout.owned[row]) != ds.train.end());
  }
  // A damaged file is refused, not read out of bounds.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  CHECK_THROWS_WITH_AS(read_part(path), doctest::Contains("partition part is truncated or corrupt"), InputError);
  std::filesystem::remove(path);
}

TEST_CASE("deterministic gradient sum adds in rank order on every rank") {
  const int p = comm().size();
  std::vector<float> v(1000), expected(1000, 0.0f);
  auto value = [](int r, size_t i) { return 1.0f / static_cast<float>(3 + 7 * r + static_cast<int>(i % 13)) * (i % 2 ? 1e4f : 1e-4f); };
  // Every rank's vector, stored first (so the compiler cannot fuse a product into the sums).
  std::vector<std::vector<float>> all(static_cast<size_t>(p), std::vector<float>(v.size()));
  for (int r = 0; r < p; ++r)
    for (size_t i = 0; i < v.size(); ++i) all[r][i] = value(r, i);
  v = all[comm().rank()];
  for (size_t i = 0; i < v.size(); ++i) {
    expected[i] = all[0][i];
    for (int r = 1; r < p; ++r) expected[i] += all[r][i];
  }
  comm().sum(v.data(), static_cast<int64_t>(v.size()), true);
  CHECK(v == expected);  // bit for bit
  std::vector<float> fast(1000);
  fast = all[comm().rank()];
  comm().sum(fast.data(), static_cast<int64_t>(fast.size()), false);  // MPI's order: close, not equal
  for (size_t i = 0; i < fast.size(); ++i) CHECK(std::abs(fast[i] - expected[i]) <= 1e-5f * std::abs(expected[i]));
  CHECK(comm().sum(int64_t{comm().rank() + 1}) == int64_t{p} * (p + 1) / 2);
}

int main(int argc, char** argv) {
  locus::configure_allocator();
  dist::Comm& c = dist::Comm::world();
  doctest::Context context(argc, argv);
  const int rc = context.run();
  // The run fails when any rank failed.
  const int64_t failed = c.sum(int64_t{rc != 0});
  if (c.rank() == 0) std::printf("test_dist: %d ranks, %lld failed\n", c.size(), static_cast<long long>(failed));
  dist::Comm::finalize();
  return failed ? 1 : 0;
}
