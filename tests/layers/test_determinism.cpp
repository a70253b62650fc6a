// Same seed and thread count give bit-identical training; 1 and 2 threads agree to 1e-5.
#include <doctest/doctest.h>
#include <omp.h>

#include "core/ops/loss.hpp"
#include "core/optim.hpp"
#include "layers/gnn.hpp"

using namespace locus;

namespace {
// Trains a 2-layer GCN for a few Adam steps on a random graph large enough for the parallel
// kernel paths, with sparse inputs and dropout; returns the parameters.
ParamStore<float>::Buffer train(int threads, uint64_t seed) {
  omp_set_num_threads(threads);
  const int n = 4000, f = 300, c = 5;
  Rng data(123);
  std::vector<int32_t> src, dst, labels(n), train_idx;
  for (int i = 0; i < 30000; ++i) {
    const auto a = static_cast<int32_t>(data.below(n)), b = static_cast<int32_t>(data.below(n));
    src.insert(src.end(), {a, b});
    dst.insert(dst.end(), {b, a});
  }
  std::vector<Eigen::Triplet<float>> trip;
  for (int i = 0; i < n; ++i) {
    labels[i] = static_cast<int32_t>(data.below(c));
    if (i % 3 == 0) train_idx.push_back(i);
    for (int k = 0; k < 12; ++k) trip.emplace_back(i, static_cast<int>(data.below(f)), 1.0f);
  }
  SpMat x(n, f);
  x.setFromTriplets(trip.begin(), trip.end(), [](float a, float) { return a; });
  x.makeCompressed();
  const auto xs = std::make_shared<const SpMat>(std::move(x));
  const Csr g = Csr::from_edges(n, src, dst);

  Rng rng(seed);
  ParamStore<float> store;
  GnnSpec spec;
  spec.in_dim = f;
  spec.hidden = 32;
  spec.out_dim = c;
  GnnClassifier<float> model(store, rng, spec, g);
  Optimizer<float> opt({OptimKind::Adam, 0.01, 5e-4});
  for (int epoch = 0; epoch < 5; ++epoch) {
    Tape<float> t;
    store.zero_grad();
    Var logp = model.forward(t, Features<float>{Var{}, xs}, true, rng.next_key());
    t.backward(ops::nll_loss(t, logp, labels, train_idx));
    opt.step(store);
  }
  omp_set_num_threads(omp_get_num_procs());
  return store.values();
}
}  // namespace

TEST_CASE("training is bit-identical for a seed and thread count") {
  CHECK(train(2, 5) == train(2, 5));
  CHECK(train(1, 5) == train(1, 5));
  CHECK(train(1, 5) != train(1, 6));  // the seed matters
}

TEST_CASE("1 and 2 threads agree to 1e-5") {
  const auto a = train(1, 5), b = train(2, 5);
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  CHECK(worst <= 1e-5);
}
