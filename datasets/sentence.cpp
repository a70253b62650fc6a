#include "datasets/sentence.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace locus {
namespace {

// Appends one sentence's tokens as one-hot rows (vocab columns; vocab 1 → a single zero feature).
struct Builder {
  Dataset d;
  std::vector<Eigen::Triplet<float, int64_t>> nz;
  int64_t vocab = 1;

  void sentence(const std::vector<int64_t>& tokens, const std::vector<int32_t>& labels, std::vector<int32_t>& part) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      const auto node = static_cast<int32_t>(d.num_nodes + static_cast<int64_t>(i));
      if (vocab > 1) nz.emplace_back(node, tokens[i], 1.0f);
      d.labels.push_back(labels[i]);
      part.push_back(node);
    }
    d.num_nodes += static_cast<int64_t>(tokens.size());
    d.blocks.push_back(static_cast<int64_t>(tokens.size()));
  }

  Dataset finish(const std::string& name, int32_t classes) {
    d.name = name;
    d.source = "built-in:" + name;
    d.directed = true;
    d.num_classes = classes;
    d.features = SpMat(d.num_nodes, vocab);
    d.features.setFromTriplets(nz.begin(), nz.end());
    return std::move(d);
  }
};

// Sentence s goes to train, val or test: 60/20/20 by index (sentences are i.i.d.).
std::vector<int32_t>& part_of(Dataset& d, int64_t s, int64_t n) {
  if (s < n * 3 / 5) return d.train;
  if (s < n * 4 / 5) return d.val;
  return d.test;
}

void check_params(const SentenceParams& p, const char* name) {
  if (p.sentences < 5 || p.length < 1 || p.vocab < 1 || p.min_length < 1 || p.min_length > p.length ||
      p.test_length < 1)
    throw InputError(std::string(name) +
                     ": needs sentences >= 5, length >= min_length >= 1, vocab >= 1 and test_length >= 1");
}

}  // namespace

Dataset sentence_probe(const SentenceParams& p) {
  check_params(p, "seq_probe");
  Builder b;
  std::vector<int64_t> tokens(static_cast<size_t>(p.length), 0);
  std::vector<int32_t> labels(tokens.size());
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i);
  for (int64_t s = 0; s < p.sentences; ++s) b.sentence(tokens, labels, part_of(b.d, s, p.sentences));
  return b.finish("seq_probe", static_cast<int32_t>(p.length));
}

Dataset sentence_order(const SentenceParams& p) {
  check_params(p, "seq_order");
  Builder b;
  b.vocab = p.vocab;
  Rng rng(p.seed);
  const auto n = static_cast<size_t>(p.length);
  std::vector<int64_t> x(n);
  std::vector<int32_t> rank(n);
  for (int64_t s = 0; s < p.sentences; ++s) {
    for (auto& v : x) v = static_cast<int64_t>(rng.below(static_cast<uint64_t>(p.vocab)));
    for (size_t i = 0; i < n; ++i) {
      int32_t r = 0;
      for (size_t j = 0; j < n; ++j) r += x[j] < x[i] || (x[j] == x[i] && j < i);
      rank[i] = r;
    }
    b.sentence(x, rank, part_of(b.d, s, p.sentences));
  }
  return b.finish("seq_order", static_cast<int32_t>(p.length));
}

Dataset sentence_lengthgen(const SentenceParams& p) {
  check_params(p, "seq_lengthgen");
  Builder b;
  b.vocab = p.vocab;
  Rng rng(p.seed);
  for (int64_t s = 0; s < p.sentences; ++s) {
    auto& part = part_of(b.d, s, p.sentences);
    const bool test = &part == &b.d.test;
    const int64_t len =
        test ? p.test_length : p.min_length + static_cast<int64_t>(rng.below(static_cast<uint64_t>(p.length - p.min_length + 1)));
    std::vector<int64_t> x(static_cast<size_t>(len));
    std::vector<int32_t> y(x.size());
    for (auto& v : x) v = static_cast<int64_t>(rng.below(static_cast<uint64_t>(p.vocab)));
    for (size_t i = 0; i < x.size(); ++i)
      y[i] = i == 0 ? 0 : 2 + (x[i] > x[i - 1]) - (x[i] < x[i - 1]);
    b.sentence(x, y, part);
  }
  return b.finish("seq_lengthgen", 4);
}

}  // namespace locus
