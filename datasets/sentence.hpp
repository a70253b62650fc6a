// Built-in sentence tasks: node classification on batches of complete graphs (one block per
// sentence), for comparing sequence positional encodings. Tokens are one-hot features; the
// split is by whole sentences. All are seeded and reproducible.
#pragma once
#include <cstdint>

#include "datasets/dataset.hpp"

namespace locus {

struct SentenceParams {
  int64_t sentences = 256;
  int64_t length = 16;      // probe, order: every sentence has this length
  int64_t vocab = 4;        // order, lengthgen: token values 0..vocab-1
  int64_t min_length = 8;   // lengthgen: train/val lengths uniform in [min_length, length]
  int64_t test_length = 64; // lengthgen: every test sentence has this length
  uint64_t seed = 0;
};

// seq_probe: `sentences` sentences of `length` identical tokens (one feature, 0); the label of a
// token is its position (length classes). Absolute encodings solve it; softmax attention with only
// relative information cannot (every output is the same average of identical values).
Dataset sentence_probe(const SentenceParams& p = {});

// seq_order: tokens uniform in 0..vocab-1 (one-hot); the label is the token's rank in its
// sentence, ties broken by position: #{j : x_j < x_i} + #{j < i : x_j = x_i} (length classes).
// Content alone fixes the rank up to ties; who comes first among equal tokens needs relative order.
Dataset sentence_order(const SentenceParams& p = {.sentences = 512});

// seq_lengthgen: tokens uniform in 0..vocab-1 (one-hot); label 0 for the first token, else
// 2 + sign(x_i − x_{i−1}): 1 less than, 2 equal to, 3 greater than the previous token.
// Train and val sentences have lengths in [min_length, length] (32), test sentences test_length (64):
// a model must apply what it learnt to positions it never saw.
Dataset sentence_lengthgen(const SentenceParams& p = {.sentences = 800, .length = 32});

}  // namespace locus
