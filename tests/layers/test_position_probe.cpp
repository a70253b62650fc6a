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
struct ProbeResult {
  double accuracy;  // on the test sentences
  double spread;    // max |out_i − out_0| over all tokens: 0 when the model cannot tell them apart
};

ProbeResult probe(const std::string& seq, const std::string& norm) {
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
  return {static_cast<double>(correct) / static_cast<double>(d.test.size()),
          static_cast<double>((out.rowwise() - out.row(0)).cwiseAbs().maxCoeff())};
}
}  // namespace

TEST_CASE("position probe: absolute encodings solve it") {
  CHECK(probe("sinusoidal", "softmax").accuracy == 1.0);
  CHECK(probe("learned", "softmax").accuracy == 1.0);
}

TEST_CASE("position probe: softmax with only relative information cannot; l2 attention can") {
  for (const char* rel : {"rope", "t5_bias"}) {
    CAPTURE(rel);
    // Every token gets the same output (up to float rounding), so argmax picks one class for all
    // of them, or breaks the near-ties by rounding: at most chance-level accuracy either way.
    const ProbeResult soft = probe(rel, "softmax");
    CHECK(soft.spread < 1e-4);
    CHECK(soft.accuracy <= 0.25);
    CHECK(probe(rel, "l2").accuracy >= 0.99);
  }
}
