// Built-in sentence tasks: sizes, labels recomputed from the tokens, splits by whole sentence.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "datasets/builtin.hpp"
#include "datasets/sentence.hpp"

using namespace locus;

namespace {
// The token of node i: its one-hot column (0 when the features are empty, i.e. all zero).
int64_t token(const Dataset& d, int64_t i) {
  for (SpMat::InnerIterator it(d.features, i); it; ++it) return it.col();
  return 0;
}
// Every sentence's nodes lie in exactly one split part.
void check_split_by_sentence(const Dataset& d) {
  std::vector<int> part(static_cast<size_t>(d.num_nodes), -1);
  for (int32_t i : d.train) part[i] = 0;
  for (int32_t i : d.val) part[i] = 1;
  for (int32_t i : d.test) part[i] = 2;
  int64_t start = 0;
  for (int64_t len : d.blocks) {
    for (int64_t i = start; i < start + len; ++i) CHECK(part[i] == part[start]);
    start += len;
  }
  CHECK(start == d.num_nodes);
  CHECK(std::count(part.begin(), part.end(), -1) == 0);
}
}  // namespace

TEST_CASE("seq_probe: identical zero tokens, label = position") {
  const Dataset d = builtin_dataset("seq_probe");
  CHECK(d.is_sentences());
  CHECK(d.blocks.size() == 256);
  CHECK(d.num_nodes == 256 * 16);
  CHECK(d.num_classes == 16);
  CHECK(d.num_features() == 1);
  CHECK(d.features.nonZeros() == 0);
  CHECK(d.src.empty());
  for (int64_t i = 0; i < d.num_nodes; ++i) CHECK(d.labels[i] == i % 16);
  check_split_by_sentence(d);
  CHECK(d.train.size() == 153 * 16);
}

TEST_CASE("seq_order: rank among the sentence's tokens, ties by position") {
  const Dataset d = builtin_dataset("seq_order");
  CHECK(d.num_classes == 16);
  CHECK(d.num_features() == 4);
  int64_t start = 0;
  for (int64_t len : d.blocks) {
    std::vector<int32_t> ranks;
    for (int64_t i = start; i < start + len; ++i) {
      // Brute force: sort (token, position) pairs; the rank is the place in that order.
      std::vector<std::pair<int64_t, int64_t>> order;
      for (int64_t j = start; j < start + len; ++j) order.emplace_back(token(d, j), j);
      std::sort(order.begin(), order.end());
      const auto it = std::find(order.begin(), order.end(), std::pair{token(d, i), i});
      CHECK(d.labels[i] == it - order.begin());
      ranks.push_back(d.labels[i]);
    }
    std::sort(ranks.begin(), ranks.end());
    std::vector<int32_t> perm(ranks.size());
    std::iota(perm.begin(), perm.end(), 0);
    CHECK(ranks == perm);  // a permutation of 0..len-1
    start += len;
  }
  check_split_by_sentence(d);
  // Same seed, same data; another seed, other tokens.
  CHECK(sentence_order().labels == d.labels);
  CHECK(sentence_order({.sentences = 512, .seed = 1}).labels != d.labels);
}

TEST_CASE("seq_lengthgen: compare with the previous token; test sentences are longer") {
  const Dataset d = builtin_dataset("seq_lengthgen");
  CHECK(d.num_classes == 4);
  std::set<int32_t> test_nodes(d.test.begin(), d.test.end());
  int64_t start = 0, longest_train = 0;
  for (int64_t len : d.blocks) {
    if (test_nodes.count(static_cast<int32_t>(start))) {
      CHECK(len == 64);
    } else {
      longest_train = std::max(longest_train, len);
      CHECK(len >= 8);
      CHECK(len <= 32);
    }
    for (int64_t i = start; i < start + len; ++i) {
      const int32_t want = i == start ? 0 : token(d, i) < token(d, i - 1) ? 1 : token(d, i) == token(d, i - 1) ? 2 : 3;
      CHECK(d.labels[i] == want);
    }
    start += len;
  }
  CHECK(longest_train == 32);
  check_split_by_sentence(d);
  CHECK_THROWS(sentence_lengthgen({.sentences = 10, .length = 4, .min_length = 8}));
}
