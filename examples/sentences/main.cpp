// Sentences as complete graphs: each sentence is one block of a Dense topology (every token
// attends to every token of its sentence, no N×N buffer), and a Transformer labels each token by
// how it compares with the token before it — first, less, equal or greater. Content alone cannot
// tell which token is "before": the model needs relative positions, which RoPE gives it.
//
//   sentences [epochs]
#include <cstdio>
#include <locus/core/error.hpp>
#include <locus/train/trainer.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

// `count` sentences of 8..24 tokens from a vocabulary of 4 (one-hot features); the label of a
// token is 0 for a sentence's first token, else 1, 2 or 3 as it is less than, equal to or greater
// than the token before it. Sentences are split 70/15/15 whole.
locus::Dataset make_sentences(int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> length(8, 24), token(0, 3);
  locus::Dataset ds;
  ds.name = "compare-with-previous";
  ds.num_classes = 4;
  ds.label_names = {"first", "less", "equal", "greater"};
  std::vector<Eigen::Triplet<float>> onehot;
  for (int s = 0; s < count; ++s) {
    const int n = length(rng);
    std::vector<int32_t>& split = s < count * 7 / 10 ? ds.train : s < count * 85 / 100 ? ds.val : ds.test;
    int previous = -1;
    for (int i = 0; i < n; ++i) {
      const int x = token(rng);
      const int32_t v = static_cast<int32_t>(ds.num_nodes++);
      onehot.emplace_back(v, x, 1.0f);
      ds.labels.push_back(previous < 0 ? 0 : x < previous ? 1 : x == previous ? 2 : 3);
      split.push_back(v);
      previous = x;
    }
    ds.blocks.push_back(n);  // the sentence's tokens: consecutive nodes, one complete graph
  }
  ds.features.resize(ds.num_nodes, 4);
  ds.features.setFromTriplets(onehot.begin(), onehot.end());
  return ds;
}

}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::stoi(argv[1]) : 120;
  try {
    const locus::DatasetOptions plain;  // no feature normalisation
    const locus::Problem problem = locus::make_problem(make_sentences(300, 7), plain);
    std::printf("%zu sentences, %lld tokens, %lld attention slots\n", problem.data.blocks.size(),
                static_cast<long long>(problem.data.num_nodes), static_cast<long long>(problem.num_edges));
    locus::TrainOptions train;
    train.optim.lr = 0.003;
    train.optim.weight_decay = 0;
    train.max_epoch = epochs;
    for (const std::string position : {"rope", "none"}) {
      locus::GnnSpec spec;
      spec.layer_type = "transformer";
      spec.layers = 2;
      spec.hidden = 32;
      spec.att_heads = 4;
      spec.dropout = 0;
      spec.att_dropout = 0;
      spec.posenc.seq = position;  // rope: q and k rotated by each token's position in its sentence
      locus::Trainer trainer(problem, spec, train, /*seed=*/0);
      const locus::RunResult& r = trainer.fit([&](const locus::EpochMetrics& m) {
        if (m.epoch % 25 == 0) std::printf("  %-4s epoch %3d loss %.4f val %.3f\n", position.c_str(), m.epoch, m.loss, m.val_acc);
        return true;
      });
      std::printf("transformer, positions %-4s: test accuracy %.2f%% (epoch %d)\n", position.c_str(),
                  100 * r.test_acc, r.best_epoch);
    }
  } catch (const locus::InputError& e) {
    std::fprintf(stderr, "sentences: %s\n", e.what());
    return 2;
  }
  return 0;
}
