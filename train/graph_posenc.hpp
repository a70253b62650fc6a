// Positional encodings on a dataset of many graphs: each graph's own LapPE, RWSE and evaluation
// anchor distances, computed once per graph (a graph's encoding does not depend on the graphs
// batched with it) and stacked in node order; the trainer hands each mini-batch its rows
// (GnnClassifier::set_graph).
#pragma once
#include "core/tensor.hpp"
#include "datasets/graph_batch.hpp"
#include "layers/positional/inputs.hpp"

namespace locus {

struct GraphEncodings {
  Mat lap;   // [N, posenc_LapPE.eigen.max_freqs] when LapPE is on, else empty
  Mat rwse;  // [N, posenc_RWSE.kernel.times] when RWSE is on, else empty
  // [N, posenc_Anchor.sizes²] when posenc_Anchor is on: 1/(d+1) to graph g's evaluation sets, those
  // of pe::graph_anchor_seed(seed, g) (what the model draws for g in any batch); else empty
  Mat anchor;
};

// Graphs in parallel, each on its own (the same values for any thread count). `seed`: the model's
// posenc seed (GnnSpec::posenc_seed); spec.anchor_sizes must be set when posenc_Anchor is on.
GraphEncodings graph_encodings(const Dataset& ds, const GraphIndex& index, const pe::PosEncSpec& spec, uint64_t seed);

}  // namespace locus
