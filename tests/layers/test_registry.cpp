// The layer registry: every built-in descriptor is complete and consistent with what the model
// builds; a layer type defined here (outside the library) registers itself and is then built,
// differentiated and estimated like the built-ins; validation names the types that read an option.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "apps/config.hpp"
#include "apps/train.hpp"
#include "core/error.hpp"
#include "core/ops/loss.hpp"
#include "layers/memory_estimate.hpp"
#include "layers/registry.hpp"
#include "tests/testing/gradcheck.hpp"
#include "tests/testing/temp_dir.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck_params;
using locus::testing::random_matrix;

namespace {

// A layer written outside the library: h'_v = ReLU(Σ_{u→v} h_u W) + b.
template <class T>
class ReluSum {
 public:
  ReluSum(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool decay)
      : lin_(store, rng, name, in, out, true, decay) {}
  Var forward(Tape<T>& t, const Csr& g, const Features<T>& x) const {
    return lin_.add_bias(t, ops::relu(t, ops::gspmm(t, GraphRef(g), lin_.transform(t, x))));
  }

 private:
  Linear<T> lin_;
};

LayerDescriptor relu_sum_layer() {
  LayerDescriptor d;
  d.name = "test_relu_sum";
  d.summary = "a layer registered by the test program";
  d.formula = "h'_v = ReLU(Σ_{u→v} h_u W) + b";
  d.graph = graph_as_loaded;
  d.set_factory([](const auto& a) {
    using T = typename std::decay_t<decltype(a)>::value_type;
    return built_layer<T>(ReluSum<T>(a.store, a.rng, a.name, a.in, a.out, a.decay), a, a.out);
  });
  d.memory = [](const MemoryShape& s, double in, double out, bool) {
    LayerMemory m;
    m.params = in * out + out;
    m.activations = s.n * out * 6;
    return m;
  };
  return d;
}

// Registered at start-up, as a program would: the test executable's registry holds it from main on.
const bool relu_sum_registered = register_layer(relu_sum_layer());

Csr test_graph() {
  std::vector<int32_t> src{0, 1, 2, 3, 4, 1, 2, 0, 5, 3};
  std::vector<int32_t> dst{1, 0, 1, 2, 3, 4, 0, 3, 2, 1};
  return Csr::from_edges(6, src, dst);
}

}  // namespace

TEST_CASE("registry: built-in descriptors are complete, names unique, the list in declaration order") {
  const std::vector<std::string> names = layer_names();
  const std::vector<std::string> builtins{"gcn", "sage", "gin", "gat", "transformer", "mlp", "gir", "pgnn"};
  REQUIRE(names.size() >= builtins.size());
  CHECK(std::vector<std::string>(names.begin(), names.begin() + builtins.size()) == builtins);
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  CHECK(std::find(names.begin(), names.end(), "test_relu_sum") != names.end());
  for (const LayerDescriptor& d : layer_registry()) {
    CAPTURE(d.name);
    CHECK(!d.summary.empty());
    CHECK(!d.formula.empty());
    CHECK((d.csr || d.dense));
    if (d.structure == Structure::AnchorOnly) {
      CHECK(!d.make_float);
      CHECK(!d.distributed);  // the anchor branch needs the whole graph
    } else {
      CHECK(d.make_float);
      CHECK(d.make_double);
      CHECK(d.memory);
    }
    // A type that runs on an edge list without a graph of its own must ignore the graph (mlp).
    if (!d.graph && d.structure != Structure::AnchorOnly) CHECK(!d.graph_memory);
    CHECK(find_layer(d.name) == &d);
    CHECK(&layer_descriptor(d.name) == &d);
  }
  CHECK(find_layer("nope") == nullptr);
  CHECK_THROWS_WITH_AS(layer_descriptor("gcm"), doctest::Contains("Did you mean 'gcn'?"), InputError);
}

TEST_CASE("registry: register_layer refuses a taken name, a missing factory and no topology") {
  LayerDescriptor dup = relu_sum_layer();
  CHECK_THROWS_WITH_AS(register_layer(dup), doctest::Contains("already registered"), InputError);
  LayerDescriptor no_factory;
  no_factory.name = "test_no_factory";
  CHECK_THROWS_WITH_AS(register_layer(no_factory), doctest::Contains("has no factory"), InputError);
  LayerDescriptor nowhere = relu_sum_layer();
  nowhere.name = "test_nowhere";
  nowhere.csr = false;
  CHECK_THROWS_WITH_AS(register_layer(nowhere), doctest::Contains("runs on no topology"), InputError);
  CHECK(find_layer("test_no_factory") == nullptr);
  CHECK(find_layer("test_nowhere") == nullptr);
}

TEST_CASE("registry: a layer registered outside the library builds, computes its formula and differentiates") {
  REQUIRE(relu_sum_registered);
  const Csr g = test_graph();
  Rng rng(3);
  ParamStore<double> store;
  GnnSpec spec;
  spec.layer_type = "test_relu_sum";
  spec.layers = 1;
  spec.in_dim = 4;
  spec.hidden = 5;
  spec.out_dim = 3;
  spec.dropout = 0;
  GnnClassifier<double> model(store, rng, spec, g);
  // One layer: parameters W [4, 3] and b [1, 3].
  REQUIRE(store.size() == 4 * 3 + 3);
  for (auto& v : store.values()) v = rng.uniform(-1.0, 1.0);
  const MatD x = random_matrix(6, 4, 5);
  Tape<double> t;
  const MatD logp = t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, false, 0));
  MatD a = MatD::Zero(6, 6);
  for (int64_t d = 0; d < g.num_dst; ++d)
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) a(d, g.indices[p]) += 1;
  MatD z = (a * x * store.value(ParamId{0})).cwiseMax(0.0);
  z.rowwise() += store.value(ParamId{1}).row(0);
  for (int64_t i = 0; i < z.rows(); ++i) {  // log-softmax per row
    const double m = z.row(i).maxCoeff();
    double sum = 0;
    for (int64_t j = 0; j < z.cols(); ++j) sum += std::exp(z(i, j) - m);
    for (int64_t j = 0; j < z.cols(); ++j) z(i, j) -= m + std::log(sum);
  }
  CHECK((logp - z).cwiseAbs().maxCoeff() < 1e-12);
  std::vector<int32_t> labels{0, 1, 2, 1, 0, 2}, train{0, 1, 3, 5};
  auto f = [&](Tape<double>& tt) {
    return ops::nll_loss(tt, model.forward(tt, Features<double>{tt.constant(x), nullptr}, true, 9), labels, train);
  };
  auto r = gradcheck_params(f, store);
  CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));

  // Its memory hook enters the estimate like a built-in's.
  GraphShape shape;
  shape.num_nodes = 1000;
  shape.num_edges = 5000;
  shape.feature_nnz = 4000;
  GnnSpec big = spec;
  big.in_dim = 64;
  big.hidden = 32;
  big.layers = 2;
  const MemoryEstimate e = estimate_training_memory(big, shape);
  double params = -1;
  for (const auto& i : e.items)
    if (i.kind == "params") params = i.bytes;
  CHECK(params == doctest::Approx(4 * 4 * ((64.0 * 32 + 32) + (32.0 * 3 + 3))));
}

TEST_CASE("registry: every type's memory hook gives a positive estimate with parameters and activations") {
  GraphShape shape;
  shape.num_nodes = 2000;
  shape.num_edges = 10000;
  shape.feature_nnz = 20000;
  for (const LayerDescriptor& d : layer_registry()) {
    if (!d.csr) continue;
    CAPTURE(d.name);
    GnnSpec spec;
    spec.layer_type = d.name;
    spec.in_dim = 100;
    spec.out_dim = 7;
    const MemoryEstimate e = estimate_training_memory(spec, shape);
    double params = 0, act = 0;
    for (const auto& i : e.items) {
      if (i.kind == "params") params += i.bytes;
      if (i.kind == "activations") act += i.bytes;
    }
    CHECK(params > 4 * 4 * 100.0 * 7);  // at least one [in, out] map with Adam state
    CHECK(act > 0);
  }
}

TEST_CASE("validate: options a layer type does not read name the types that do") {
  GnnSpec spec;
  spec.layer_type = "gcn";
  spec.posenc.spd = true;
  spec.att_norm = "l2";
  const std::vector<ConfigProblem> p = validate(spec);
  REQUIRE(p.size() == 2);
  CHECK(p[0].key == "posenc_SPD.enable");
  CHECK(p[0].problem == "posenc_SPD is an attention bias: it needs gnn.layer_type transformer (now gcn), got");
  CHECK(p[1].key == "gnn.att_norm");
  spec.layer_type = "transformer";
  CHECK(validate(spec).empty());
  spec.layer_type = "gcnn";
  const auto unknown = validate(spec);
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].key == "gnn.layer_type");
  CHECK(unknown[0].fix.find("did you mean 'gcn'?") != std::string::npos);
  GnnSpec hops;
  hops.layers = 3;
  hops.gir.max_hops = 2;
  REQUIRE(validate(hops).size() == 1);
  CHECK(validate(hops)[0].key == "gnn.gir_hops");
  CHECK_THROWS_WITH_AS(throw_if_invalid(hops), doctest::Contains("gnn.gir_hops is below gnn.layers_mp (3)"), InputError);
}

TEST_CASE("registry: a YAML config of this program can name the layer it registered") {
  testing::TempDir dir;
  const std::string config = dir.write("custom.yaml",
                                       "dataset: {name: karate}\n"
                                       "gnn: {layer_type: test_relu_sum, layers_mp: 2, dim_inner: 16, dropout: 0.2}\n"
                                       "optim: {max_epoch: 100}\n"
                                       "num_runs: 2\n");
  const ExperimentConfig cfg = load_config(config, {});
  CHECK(cfg.gnn.layer_type == "test_relu_sum");
  std::ostringstream log;
  const TrainSummary s = run_training(cfg, log, false);
  REQUIRE(s.runs.size() == 2);
  CHECK(s.num_params == (34 * 16 + 16) + (16 * 2 + 2));  // one-hot input 34 → 16 → 2 classes
  CHECK(s.test_acc_mean >= 0.75);
  // A name nobody registered is refused with the registered list.
  CHECK_THROWS_WITH_AS(load_config(config, {"gnn.layer_type=test_relu_summ"}), doctest::Contains("test_relu_sum"),
                       InputError);
}
