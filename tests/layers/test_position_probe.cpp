// The position probe (issue: identical tokens, target = position), trained end to end on a small
// batch of sentences: absolute encodings solve it; softmax attention with only relative
// information cannot (every output equals the same average of identical values); l2-normalised
// attention with the same relative information can (its weights do not sum to one, so a token
// near the edge of its sentence sees a different total weight than one in the middle).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/ops/loss.hpp"
#include "core/optim.hpp"
#include "datasets/sentence.hpp"
#include "layers/gnn.hpp"

using namespace locus;

namespace {
double probe_accuracy(const std::string& seq, const std::string& norm) {
  const Dataset d = sentence_probe({.sentences = 12, .length = 8});
  const Dense g = Dense::blocks(d.blocks);
  GnnSpec spec;
  spec.layer_type = "transformer";
  spec.layers = 1, spec.in_dim = 1, spec.hidden = 16, spec.out_dim = d.num_classes, spec.att_heads = 2;
  spec.dropout = 0, spec.att_dropout = 0;
  spec.posenc.seq = seq;
  spec.posenc.seq_dim = 8;
  spec.att_norm = norm;
  ParamStore<float> store;
  Rng rng(0);
  GnnClassifier<float> model(store, rng, spec, g);
  OptimOptions oo;
  oo.lr = 0.01;
  oo.weight_decay = 0;
  Optimizer<float> opt(oo);
  const Mat x = Mat::Ones(d.num_nodes, 1);  // identical tokens
  Tape<float> t;
  for (int epoch = 0; epoch < 300; ++epoch) {
    t.clear();
    store.zero_grad();
    Var loss = ops::nll_loss(t, model.forward(t, Features<float>{t.view(x), nullptr}, true, rng.next_key()), d.labels, d.train);
    t.backward(loss);
    opt.step(store);
  }
  t.clear();
  const Mat out = t.value(model.forward(t, Features<float>{t.view(x), nullptr}, false, 0));
  int correct = 0;
  for (int32_t i : d.test) {
    Eigen::Index arg;
    out.row(i).maxCoeff(&arg);
    correct += arg == d.labels[i];
  }
  return static_cast<double>(correct) / static_cast<double>(d.test.size());
}
}  // namespace

TEST_CASE("position probe: absolute encodings solve it") {
  CHECK(probe_accuracy("sinusoidal", "softmax") == 1.0);
  CHECK(probe_accuracy("learned", "softmax") == 1.0);
}

TEST_CASE("position probe: softmax with only relative information cannot; l2 attention can") {
  for (const char* rel : {"rope", "t5_bias"}) {
    CAPTURE(rel);
    CHECK(probe_accuracy(rel, "softmax") == doctest::Approx(1.0 / 8));  // one class for all tokens
    CHECK(probe_accuracy(rel, "l2") >= 0.99);
  }
}
