// Inference on a no-grad tape (Tape::NoGrad, as Trainer::predict runs it) gives the same bits as
// the same forward pass with gradients on, for every registered layer type and activation, and
// keeps no backward closure; transient intermediates are released as they are read.
#include <doctest/doctest.h>

#include "core/rng.hpp"
#include "layers/gnn.hpp"
#include "layers/registry.hpp"

using namespace locus;

namespace {

Csr random_graph(int n, int edges, uint64_t seed) {
  Rng r(seed);
  std::vector<int32_t> src, dst;
  for (int i = 0; i < edges; ++i) {
    const auto a = static_cast<int32_t>(r.below(n)), b = static_cast<int32_t>(r.below(n));
    if (a == b) continue;
    src.insert(src.end(), {a, b});
    dst.insert(dst.end(), {b, a});
  }
  return Csr::from_edges(n, src, dst);
}

struct Outputs {
  Mat grad_on, no_grad;
  size_t closures = 0;  // nodes of the no-grad tape that require a gradient
  size_t released = 0;  // nodes of the no-grad tape whose value was released
};

// The input: `sparse` when given, else the dense `x`.
Outputs run_both(const GnnSpec& spec, const Csr& g, const Mat& x, std::shared_ptr<const SpMat> sparse = nullptr) {
  Rng rng(11);
  ParamStore<float> store;
  GnnClassifier<float> model(store, rng, spec, g);
  auto input = [&](Tape<float>& t) { return sparse ? Features<float>{Var{}, sparse} : Features<float>{t.view(x), nullptr}; };
  Outputs out;
  {
    Tape<float> t;
    out.grad_on = t.value(model.forward(t, input(t), false, 0));
  }
  Tape<float> t;
  const Tape<float>::NoGrad no_grad(t);
  const Var y = model.forward(t, input(t), false, 0);
  out.no_grad = t.value(y);
  for (int i = 0; i < static_cast<int>(t.size()); ++i) {
    out.closures += t.requires_grad(Var{i});
    try {
      (void)t.value(Var{i});
    } catch (const ShapeError&) {
      ++out.released;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("no-grad inference equals the forward pass with gradients, for every layer type and activation") {
  const int n = 40;
  const Csr g = random_graph(n, 120, 3);
  Rng r(5);
  Mat x(n, 6);
  for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(r.uniform(-1.0, 1.0));
  int built = 0;
  for (const std::string& type : layer_names()) {
    if (!layer_descriptor(type).csr) continue;
    for (ops::Act act : {ops::Act::Relu, ops::Act::Identity, ops::Act::Elu, ops::Act::Gelu, ops::Act::LeakyRelu}) {
      CAPTURE(type);
      CAPTURE(static_cast<int>(act));
      GnnSpec spec;
      spec.layer_type = type;
      spec.layers = 3;
      spec.in_dim = x.cols();
      spec.hidden = 8;
      spec.out_dim = 3;
      spec.att_heads = 2;
      spec.act = act;
      const Outputs o = run_both(spec, g, x);
      ++built;
      CHECK(o.no_grad.rows() == n);
      CHECK(o.no_grad == o.grad_on);  // bit-identical
      CHECK(o.closures == 0);
    }
  }
  CHECK(built >= 5 * 5);
}

TEST_CASE("GCN, GraphSAGE and GIN release their intermediates at inference") {
  const int n = 50;
  const Csr g = random_graph(n, 150, 4);
  Rng r(6);
  std::vector<Eigen::Triplet<float>> trip;
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < 3; ++k) trip.emplace_back(i, static_cast<int>(r.below(20)), 1.0f);
  SpMat xs(n, 20);
  xs.setFromTriplets(trip.begin(), trip.end(), [](float a, float) { return a; });
  const auto sparse = std::make_shared<const SpMat>(xs);
  // Per layer (3), and the two hidden layers' outputs taken by their ReLU:
  //   gcn: X·W (read by the aggregation), Â·XW (taken by the bias);
  //   sage: X·W_l, its mean aggregation, X·W_r, their sum (taken by the bias);
  //   gin: ε·XW, XW + ε·XW, Σ XW, their sum, the hidden MLP layer before and after its ReLU (its
  //        dense Linear maps are one affine op each: x W + b in one buffer, nothing to release).
  for (const auto& expected : {std::pair<std::string, size_t>{"gcn", 2}, {"sage", 4}, {"gin", 6}}) {
    const std::string type = expected.first;  // named copies: CAPTURE cannot take bindings
    const size_t per_layer = expected.second;
    CAPTURE(type);
    GnnSpec spec;
    spec.layer_type = type;
    spec.layers = 3;
    spec.in_dim = 20;
    spec.hidden = 16;
    spec.out_dim = 4;
    const Outputs o = run_both(spec, g, Mat(), sparse);
    CHECK(o.no_grad == o.grad_on);
    CHECK(o.released == 3 * per_layer + 2);
  }
}
