#include <doctest/doctest.h>

#include <string>

#include "core/error.hpp"
#include "layers/memory_estimate.hpp"
#include "layers/positional/anchors.hpp"

using namespace locus;

namespace {
double item_bytes(const MemoryEstimate& e, const std::string& kind) {
  double s = 0;
  for (const auto& i : e.items)
    if (i.kind == kind) s += i.bytes;
  return s;
}

GnnSpec gat_spec() {
  GnnSpec s;
  s.layer_type = "gat";
  s.layers = 2;
  s.in_dim = 4;
  s.hidden = 8;
  s.out_dim = 4;
  s.att_heads = 8;
  return s;
}

GraphShape sentences(int64_t count, int64_t len) {
  GraphShape g;
  g.sentence_blocks.assign(count, len);
  g.num_nodes = count * len;
  g.feature_nnz = g.num_nodes;
  return g;
}

GnnSpec gir_spec(int64_t d) {
  GnnSpec s;
  s.layer_type = "gir";
  s.layers = 2;
  s.in_dim = 1;
  s.hidden = d;
  s.out_dim = 3;
  return s;
}

GraphShape grid_like(int64_t n) {
  GraphShape g;
  g.num_nodes = n;
  g.num_edges = 4 * n;
  g.feature_nnz = n;
  return g;
}
}  // namespace

TEST_CASE("memory estimate: GAT's dense attention on sentences grows as the sum of n_b squared") {
  const GnnSpec spec = gat_spec();
  const double a = item_bytes(estimate_training_memory(spec, sentences(100, 64)), "dense_attention");
  const double b = item_bytes(estimate_training_memory(spec, sentences(100, 128)), "dense_attention");
  const double c = item_bytes(estimate_training_memory(spec, sentences(200, 64)), "dense_attention");
  REQUIRE(a > 0);
  CHECK(b == doctest::Approx(4 * a));  // doubling n quadruples Σ n²
  CHECK(c == doctest::Approx(2 * a));  // twice the sentences: twice Σ n²
  // 2 layers: 8 + 1 heads, 9 buffers of 4-byte floats per slot and head.
  CHECK(a == doctest::Approx(9.0 * 4 * (8 + 1) * 100 * 64 * 64));
  // The fused Transformer keeps no score matrix: nothing grows with Σ n².
  GnnSpec tr = spec;
  tr.layer_type = "transformer";
  tr.hidden = 32;
  tr.att_heads = 4;
  const MemoryEstimate t1 = estimate_training_memory(tr, sentences(100, 64));
  const MemoryEstimate t2 = estimate_training_memory(tr, sentences(100, 128));
  CHECK(item_bytes(t1, "dense_attention") == 0);
  CHECK(t2.total() < 2.2 * t1.total());  // twice the tokens, about twice the memory
}

TEST_CASE("memory estimate: GIR's per-anchor state is linear in K and d") {
  // K = ⌊log₂ N⌋²: 16² at 2^16 nodes, 17² at 2^17.
  CHECK(pe::anchor_set_count(1 << 16) == 256);
  CHECK(pe::anchor_set_count((1 << 17) + 5) == 289);
  CHECK(pe::anchor_set_count(1) == 1);
  const GraphShape g = grid_like(1 << 16);
  const double s32 = item_bytes(estimate_training_memory(gir_spec(32), g), "anchor_state");
  const double s64 = item_bytes(estimate_training_memory(gir_spec(64), g), "anchor_state");
  // The d-dependent part (the tape) doubles; the sets/depths part does not depend on d.
  const double fixed = 2 * s32 - s64;
  CHECK(fixed > 0);
  CHECK(fixed < 0.5 * s32);  // at d = 32 the three state-sized buffers still outweigh the depths and hop graphs
  const double n = 1 << 16, K = 256;
  CHECK(s32 - fixed == doctest::Approx(3.0 * 4 * n * K * 32));
  // Linear in K at fixed N: an anchor set count of 17² instead of 16² scales the N·K·d term.
  GraphShape g2 = grid_like(1 << 17);
  const double t32 = item_bytes(estimate_training_memory(gir_spec(32), g2), "anchor_state");
  const double t64 = item_bytes(estimate_training_memory(gir_spec(64), g2), "anchor_state");
  CHECK((t64 - t32) / (s64 - s32) == doctest::Approx(2.0 * 289 / 256));
  // The reached rule keeps the full state per hop: gir_hops = 4 → (16·4 − 6) state-sized buffers.
  GnnSpec r = gir_spec(32);
  r.gir.update_reached = true;
  r.gir.max_hops = 4;
  const MemoryEstimate er = estimate_training_memory(r, g);
  double reached = 0;
  for (const auto& i : er.items)
    if (i.what.find("reached") != std::string::npos) reached = i.bytes;
  CHECK(reached == doctest::Approx(58.0 * 4 * n * K * 32));
}

TEST_CASE("memory estimate: check_memory refuses with the estimate, the limit and an alternative") {
  const GnnSpec spec = gat_spec();
  const MemoryEstimate e = estimate_training_memory(spec, sentences(1000, 512));  // Σ n² = 2.6e8
  REQUIRE(e.total() > 8.0 * (1 << 30));
  const double limit = 1.0 * (1 << 30);
  std::string msg;
  try {
    check_memory(e, limit, spec);
  } catch (const InputError& err) {
    msg = err.what();
  }
  REQUIRE(!msg.empty());
  CHECK(msg.find("estimated peak memory") != std::string::npos);
  CHECK(msg.find("dense attention scores") != std::string::npos);
  CHECK(msg.find("exceeds the limit 1.0 GiB") != std::string::npos);
  CHECK(msg.find("train.memory_limit_mib") != std::string::npos);
  CHECK(msg.find("posenc_seq.kind=fft_kernel") != std::string::npos);
  CHECK(msg.find("gnn.layer_type=transformer") != std::string::npos);
  CHECK_NOTHROW(check_memory(e, e.total() * 1.01, spec));

  // GIR on the reached path: the frontier rule is offered.
  GnnSpec r = gir_spec(32);
  r.gir.update_reached = true;
  const MemoryEstimate er = estimate_training_memory(r, grid_like(1 << 17));
  try {
    check_memory(er, limit, r);
    FAIL("no refusal");
  } catch (const InputError& err) {
    CHECK(std::string(err.what()).find("gnn.gir_update=frontier") != std::string::npos);
    CHECK(std::string(err.what()).find("gnn.branch_dim") != std::string::npos);
  }
}

TEST_CASE("memory estimate: available memory and the BFS depth hint") {
  CHECK(available_memory_bytes() > 0);
  CHECK(resident_memory_bytes() > 1024.0 * 1024.0);  // the test binary itself is over 1 MiB resident
  // A path 0 - 1 - 2 - 3 stored one way only: the hint follows edges both ways.
  std::vector<int32_t> src{0, 1, 2}, dst{1, 2, 3};
  const Csr path = Csr::from_edges(4, src, dst);
  CHECK(bfs_depth_hint(path) == 3);
  CHECK(bfs_depth_hint(Csr()) == 0);
}
