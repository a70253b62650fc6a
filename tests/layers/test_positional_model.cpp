// The model side of positional encodings: input columns appended to sparse or dense features
// (Features::extra), slice_rows and the SPD edge bias (gradients), the K-hop graph against a
// brute-force distance matrix, and the GnnClassifier wiring of every posenc option.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ops/edge.hpp"
#include "core/ops/shape.hpp"
#include "datasets/builtin.hpp"
#include "layers/gnn.hpp"
#include "layers/positional/spd.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::check_grad;
using locus::testing::random_matrix;
using locus::testing::reduce_random;

namespace {
Csr path_graph(int32_t n) {
  std::vector<int32_t> src, dst;
  for (int32_t i = 0; i + 1 < n; ++i) {
    src.push_back(i), dst.push_back(i + 1);
    src.push_back(i + 1), dst.push_back(i);
  }
  return Csr::from_edges(n, src, dst);
}
}  // namespace

TEST_CASE("slice_rows and edge_class_bias: gradients and values") {
  check_grad([](auto& t, auto& v) { return reduce_random(t, ops::slice_rows(t, v[0], 2, 3)); }, {random_matrix(6, 4, 1)});
  const std::vector<int32_t> cls{0, 2, 1, 2, 0};
  check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::edge_class_bias(t, v[0], cls, v[1])); },
             {random_matrix(5, 2, 2), random_matrix(2, 3, 3)});
  Tape<double> t;
  MatD e = MatD::Zero(5, 2), table(2, 3);
  table << 1, 2, 3, 4, 5, 6;
  const MatD out = t.value(ops::edge_class_bias(t, t.constant(e), cls, t.constant(table)));
  CHECK(out(1, 0) == 3);
  CHECK(out(1, 1) == 6);
  CHECK(out(2, 1) == 5);
  CHECK_THROWS_AS(ops::slice_rows(t, t.constant(e), 4, 2), ShapeError);
}

TEST_CASE("Linear on [x ‖ extra] equals Linear on the concatenated dense input, sparse x too") {
  ParamStore<double> store;
  Rng rng(3);
  Linear<double> lin(store, rng, "l", 5, 4);
  const MatD x = random_matrix(6, 3, 4), e = random_matrix(6, 2, 5);
  MatD cat(6, 5);
  cat << x, e;
  Tape<double> t;
  const MatD want = t.value(lin.forward(t, Features<double>{t.constant(cat), nullptr}));
  const MatD dense = t.value(lin.forward(t, Features<double>{t.constant(x), nullptr, t.constant(e)}));
  auto sp = std::make_shared<const SpMatT<double>>(x.sparseView());
  const MatD sparse = t.value(lin.forward(t, Features<double>{Var{}, sp, t.constant(e)}));
  CHECK((want - dense).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((want - sparse).cwiseAbs().maxCoeff() < 1e-12);
  // Gradients reach the extra columns and both weight blocks.
  check_grad(
      [&](auto& tp, auto& v) { return reduce_random(tp, lin.forward(tp, Features<double>{v[0], nullptr, v[1]})); },
      {x, e});
}

TEST_CASE("hop_graph: K-hop neighbourhoods with distances equal BFS on a path and a cycle") {
  const Csr path = path_graph(6);
  const pe::HopGraph h = pe::hop_graph(path, 2);
  // Row d holds every s with |s − d| ≤ 2, sorted, with distance |s − d|.
  for (int32_t d = 0; d < 6; ++d) {
    std::vector<int32_t> want;
    for (int32_t s = 0; s < 6; ++s)
      if (std::abs(s - d) <= 2) want.push_back(s);
    const auto b = h.graph.indptr[d], e = h.graph.indptr[d + 1];
    REQUIRE(e - b == static_cast<int64_t>(want.size()));
    for (int64_t p = b; p < e; ++p) {
      CHECK(h.graph.indices[p] == want[p - b]);
      CHECK(h.dist[p] == std::abs(h.graph.indices[p] - d));
    }
  }
  // A 7-cycle with max_dist 3 reaches every node; distances are min(|i−j|, 7 − |i−j|).
  std::vector<int32_t> src, dst;
  for (int32_t i = 0; i < 7; ++i) src.push_back(i), dst.push_back((i + 1) % 7), src.push_back((i + 1) % 7), dst.push_back(i);
  const pe::HopGraph c = pe::hop_graph(Csr::from_edges(7, src, dst), 3);
  CHECK(c.graph.indices.size() == 49);
  for (int32_t d = 0; d < 7; ++d)
    for (int64_t p = c.graph.indptr[d]; p < c.graph.indptr[d + 1]; ++p) {
      const int32_t diff = std::abs(c.graph.indices[p] - d);
      CHECK(c.dist[p] == std::min(diff, 7 - diff));
    }
  CHECK_THROWS_AS(pe::hop_graph(path, 0), InputError);
}

TEST_CASE("GnnClassifier: every positional option builds, runs and adds its columns") {
  const Dataset grid = builtin_dataset("grid");
  const Csr g = Csr::from_edges(grid.num_nodes, grid.src, grid.dst);
  const MatD x = random_matrix(grid.num_nodes, 3, 7);
  struct Case {
    std::string type;
    pe::PosEncSpec pe;
    int64_t extra;
  };
  pe::PosEncSpec lap, rwse, anchor, spd;
  lap.lap = true, lap.lap_freqs = 4, lap.lap_dim = 3;
  rwse.rwse = true, rwse.rwse_steps = 5, rwse.rwse_dim = 2;
  anchor.anchor = true, anchor.anchor_dim = 6, anchor.anchor_cutoff = 2;
  spd.spd = true, spd.spd_max_dist = 2;
  const std::vector<Case> cases{{"gcn", lap, 3}, {"sage", rwse, 2}, {"gat", anchor, 6}, {"transformer", spd, 0}};
  for (const auto& c : cases) {
    CAPTURE(c.type);
    GnnSpec spec;
    spec.layer_type = c.type;
    spec.in_dim = 3, spec.hidden = 8, spec.out_dim = 4, spec.att_heads = 2;
    spec.posenc = c.pe;
    ParamStore<double> store;
    Rng rng(1);
    GnnClassifier<double> model(store, rng, spec, g);
    CHECK(model.posenc_dim() == c.extra);
    Tape<double> t;
    const MatD a = t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, false, 5));
    const MatD b = t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, false, 6));
    CHECK(a.rows() == grid.num_nodes);
    CHECK(std::isfinite(a.sum()));
    CHECK((a - b).cwiseAbs().maxCoeff() == 0.0);  // evaluation is deterministic (fixed anchors, no flips)
    // Training calls differ by key (dropout, sign flips, resampled anchors) but stay finite.
    CHECK(std::isfinite(t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, true, 5)).sum()));
  }
  // Sequence encodings need sentences; graph ones need graphs; relative ones need a transformer.
  GnnSpec bad;
  bad.in_dim = 3, bad.out_dim = 2;
  bad.posenc.seq = "sinusoidal";
  ParamStore<double> store;
  Rng rng(1);
  CHECK_THROWS_AS(GnnClassifier<double>(store, rng, bad, g), InputError);
  bad.posenc.seq = "none";
  bad.posenc.spd = true;
  CHECK_THROWS_AS(GnnClassifier<double>(store, rng, bad, g), InputError);
  const Dense sentences = Dense::blocks(std::vector<int64_t>{3, 4});
  GnnSpec seq;
  seq.in_dim = 3, seq.out_dim = 2, seq.layer_type = "gcn";
  CHECK_THROWS_AS(GnnClassifier<double>(store, rng, seq, sentences), InputError);
  seq.layer_type = "gat";
  seq.posenc.seq = "rope";
  CHECK_THROWS_AS(GnnClassifier<double>(store, rng, seq, sentences), InputError);
}

TEST_CASE("GnnClassifier on sentences: absolute encodings add columns, relative ones act in attention") {
  const Dense sentences = Dense::blocks(std::vector<int64_t>{5, 3, 8});
  const MatD x = MatD::Ones(16, 1);  // identical tokens
  for (const char* kind : {"none", "sinusoidal", "learned", "fourier", "cape", "rope", "t5_bias", "fft_kernel"}) {
    for (const char* norm : {"softmax", "l2"}) {
      CAPTURE(kind);
      CAPTURE(norm);
      GnnSpec spec;
      spec.layer_type = "transformer";
      spec.in_dim = 1, spec.hidden = 8, spec.out_dim = 3, spec.att_heads = 2, spec.layers = 1;
      spec.posenc.seq = kind;
      spec.posenc.seq_dim = 4;
      spec.att_norm = norm;
      ParamStore<double> store;
      Rng rng(2);
      if (std::string(kind) == "fft_kernel" && std::string(norm) == "l2") {
        CHECK_THROWS_AS(GnnClassifier<double>(store, rng, spec, sentences), InputError);
        continue;
      }
      GnnClassifier<double> model(store, rng, spec, sentences);
      const std::string k = kind;
      const bool absolute = k == "sinusoidal" || k == "learned" || k == "fourier" || k == "cape";
      CHECK(model.posenc_dim() == (absolute ? 4 : 0));
      Tape<double> t;
      const MatD out = t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, false, 1));
      // Identical tokens: with softmax and no absolute encoding every token of every sentence
      // gets the same output (weights sum to one over identical values); otherwise they differ.
      const double spread = (out.rowwise() - out.row(0)).cwiseAbs().maxCoeff();
      if (!absolute && std::string(norm) == "softmax") CHECK(spread < 1e-9);
      else CHECK(spread > 1e-6);
    }
  }
}

TEST_CASE("GnnClassifier: anchor branches alone and fused, anchor indication columns") {
  const Dataset grid = builtin_dataset("grid-T");
  const Csr g = Csr::from_edges(grid.num_nodes, grid.src, grid.dst);
  const MatD x = random_matrix(grid.num_nodes, 3, 9);
  struct Case {
    std::string type, position, fusion;
  };
  for (const Case& c : std::vector<Case>{{"gir", "none", "concat"},
                                         {"pgnn", "none", "concat"},
                                         {"gcn", "gir", "concat"},
                                         {"sage", "pgnn", "sum"},
                                         {"gat", "gir", "sum"}}) {
    CAPTURE(c.type);
    CAPTURE(c.position);
    GnnSpec spec;
    spec.layer_type = c.type;
    spec.position = c.position;
    spec.fusion = c.fusion;
    spec.anchor_resample = Toggle::On;  // P-GNN's sets, fresh every training call
    spec.in_dim = 3, spec.hidden = 4, spec.out_dim = 5, spec.att_heads = 2;
    ParamStore<double> store;
    Rng rng(4);
    GnnClassifier<double> model(store, rng, spec, g);
    Tape<double> t;
    const MatD a = t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, false, 1));
    const MatD b = t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, false, 2));
    CHECK(a.cols() == 5);
    CHECK((a - b).cwiseAbs().maxCoeff() == 0.0);  // fixed evaluation anchors
    // Training draws fresh anchor sets: another key gives another output.
    const MatD c1 = t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, true, 1));
    const MatD c2 = t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, true, 2));
    CHECK((c1 - c2).cwiseAbs().maxCoeff() > 0.0);
    // Every parameter gets a gradient from a training loss.
    t.clear();
    store.zero_grad();
    t.backward(reduce_random(t, model.forward(t, Features<double>{t.constant(x), nullptr}, true, 3)));
    for (size_t p = 0; p < store.params().size(); ++p) {
      CAPTURE(store.params()[p].name);
      // A classifier reads the anchor-order-free output, so the Z_pos weights (name.pos) are unused.
      const std::string& name = store.params()[p].name;
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".pos") == 0) continue;
      if (name == "fusion.gate") continue;  // set by validation (gnn.fusion_select), never by gradients
      if (name.rfind("plain.", 0) == 0) continue;  // the plain path's own GNN: not on the fused path
      // Sum fusion starts at b = 0: at the first step only b (and the GNN) get a gradient.
      const bool branch_param = name.rfind("gir", 0) == 0 || name.rfind("pgnn", 0) == 0 || name.rfind("fusion.pos", 0) == 0;
      if (c.fusion == "sum" && branch_param) continue;
      CHECK(store.grad(ParamId{static_cast<int>(p)}).cwiseAbs().sum() > 0);
    }
  }
  // Pair tasks read Z_pos [N, K]: the embedding has K columns before the head.
  for (const char* type : {"gir", "pgnn"}) {
    GnnSpec spec;
    spec.layer_type = type;
    spec.in_dim = 3, spec.hidden = 4, spec.out_dim = 6, spec.embeddings = true;
    ParamStore<double> store;
    Rng rng(6);
    GnnClassifier<double> model(store, rng, spec, g);
    Tape<double> t;
    const MatD z = t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, false, 1));
    CHECK(z.cols() == 6);
    CHECK(z.rowwise().norm().minCoeff() == doctest::Approx(1.0));  // L2-normalised rows
    t.clear();
    store.zero_grad();
    t.backward(reduce_random(t, model.forward(t, Features<double>{t.constant(x), nullptr}, true, 3)));
    bool pos_used = false;
    for (size_t p = 0; p < store.params().size(); ++p)
      if (store.params()[p].name.find(".pos") != std::string::npos)
        pos_used |= store.grad(ParamId{static_cast<int>(p)}).cwiseAbs().sum() > 0;
    CHECK(pos_used);
  }
  // Anchor indication: K = ⌊log₂ 400⌋² = 64 columns appended.
  GnnSpec ind;
  ind.in_dim = 3, ind.out_dim = 4, ind.hidden = 8;
  ind.posenc.indication = true;
  ParamStore<double> store;
  Rng rng(5);
  GnnClassifier<double> model(store, rng, ind, g);
  CHECK(model.posenc_dim() == 64);
  GnnSpec bad = ind;
  bad.posenc.indication = false;
  bad.position = "p-gnn";
  CHECK_THROWS_AS(GnnClassifier<double>(store, rng, bad, g), InputError);
}

TEST_CASE("positional inputs: per-epoch randomisation of LapPE signs and anchor sets, or the evaluation's throughout") {
  const Csr g = path_graph(40);
  for (const std::string source : {"lap", "anchor", "indication"})
    for (Toggle toggle : {Toggle::On, Toggle::Off, Toggle::Auto}) {  // Auto unresolved reads as On
      const bool randomise = toggle != Toggle::Off;
      CAPTURE(source);
      CAPTURE(randomise);
      Rng init(3);
      ParamStore<double> store;
      pe::PosEncSpec spec;
      spec.lap = source == "lap";
      spec.anchor = source == "anchor";
      spec.indication = source == "indication";
      spec.lap_sign_flip = spec.anchor_resample = spec.indication_resample = toggle;
      pe::PositionalInputs<double> inputs(store, init, spec, GraphRef(g), 11);
      Tape<double> t;
      const MatD train1 = t.value(inputs.forward(t, true, 1)), train2 = t.value(inputs.forward(t, true, 2));
      const MatD eval = t.value(inputs.forward(t, false, 3));
      CHECK((train1 == train2) == !randomise);
      CHECK((train1 == eval) == !randomise);
    }
}

TEST_CASE("posenc_select: auto by task, fixed coordinates where selected; the off path reads no encoder, the gate picks") {
  const Csr g = path_graph(40);
  const MatD x = random_matrix(40, 3, 81);
  // Auto: on for node classification with graph columns, off for pair tasks and without columns.
  GnnSpec spec;
  spec.in_dim = 3, spec.hidden = 6, spec.out_dim = 4;
  CHECK(!selects_posenc(spec));  // no graph columns
  spec.posenc.lap = spec.posenc.anchor = spec.posenc.indication = true;
  CHECK(selects_posenc(spec));
  CHECK(selects_position(spec));
  for (const Toggle t : {resolve_posenc(spec).lap_sign_flip, resolve_posenc(spec).anchor_resample,
                         resolve_posenc(spec).indication_resample})
    CHECK(t == Toggle::Off);  // transductive node task: evaluation's signs and sets in training
  spec.posenc.anchor_resample = Toggle::On;  // an explicit choice wins
  CHECK(resolve_posenc(spec).anchor_resample == Toggle::On);
  spec.posenc.anchor_resample = Toggle::Auto;
  spec.embeddings = true;  // pair tasks: no selection, the papers' randomisation
  CHECK(!selects_posenc(spec));
  CHECK(resolve_posenc(spec).lap_sign_flip == Toggle::On);
  CHECK(resolve_posenc(spec).anchor_resample == Toggle::On);
  spec.embeddings = false;
  spec.posenc_select = Toggle::Off;  // no plain path to fall back on: randomised
  CHECK(!selects_posenc(spec));
  CHECK(resolve_posenc(spec).indication_resample == Toggle::On);
  spec.posenc_select = Toggle::Auto;
  pe::PosEncSpec seq_only;
  seq_only.spd = true;  // an attention bias, not a column
  spec.posenc = seq_only;
  CHECK(!selects_posenc(spec));

  for (const std::string source : {"lap", "rwse", "anchor"}) {
    CAPTURE(source);
    GnnSpec s;
    s.in_dim = 3, s.hidden = 6, s.out_dim = 4;
    s.posenc.lap = source == "lap";
    s.posenc.rwse = source == "rwse";
    s.posenc.anchor = source == "anchor";
    ParamStore<double> store;
    Rng rng(82);
    GnnClassifier<double> model(store, rng, s, g);
    REQUIRE(model.selects_position());
    CHECK(model.position_used());
    auto out = [&](PositionUse use, bool training, uint64_t key = 5) {
      Tape<double> t;
      return MatD(t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, training, key, use)));
    };
    const MatD on = out(PositionUse::On, false), off = out(PositionUse::Off, false);
    CHECK((on - off).norm() > 1e-3);
    CHECK(out(PositionUse::Model, false) == on);
    model.set_position_used(false);
    CHECK(out(PositionUse::Model, false) == off);
    // Fixed coordinates: with dropout off, training calls with different keys give the same
    // positional columns (the same output); randomised ones would not (see the test above).
    GnnSpec nodrop = s;
    nodrop.dropout = 0;
    ParamStore<double> store2;
    Rng rng2(83);
    GnnClassifier<double> fixed(store2, rng2, nodrop, g);
    auto train_out = [&](uint64_t key) {
      Tape<double> t;
      return MatD(t.value(fixed.forward(t, Features<double>{t.constant(x), nullptr}, true, key, PositionUse::On)));
    };
    CHECK(train_out(1) == train_out(2));
    // The off path gives the encoders no gradient; changing them moves the on path only.
    auto is_encoder = [](const ParamInfo& p) { return p.name.rfind("posenc.", 0) == 0; };
    {
      Tape<double> t;
      store.zero_grad();
      t.backward(reduce_random(t, model.forward(t, Features<double>{t.constant(x), nullptr}, true, 5, PositionUse::Off)));
      double enc_grad = 0, other_grad = 0;
      for (const ParamInfo& p : store.params()) {
        double gsum = 0;
        for (int64_t i = 0; i < p.rows * p.cols; ++i) gsum += std::abs(store.grads()[p.offset + i]);
        (is_encoder(p) ? enc_grad : other_grad) += gsum;
      }
      CHECK(enc_grad == 0.0);
      CHECK(other_grad > 0.0);
    }
    for (const ParamInfo& p : store.params())
      if (is_encoder(p))
        for (int64_t i = 0; i < p.rows * p.cols; ++i) store.values()[p.offset + i] += 0.25;
    CHECK(out(PositionUse::Off, false) == off);
    CHECK((out(PositionUse::On, false) - on).norm() > 1e-3);
  }
}
