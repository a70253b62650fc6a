#include "train/graph_posenc.hpp"

#include "core/error.hpp"
#include "layers/positional/anchors.hpp"
#include "layers/positional/laplacian.hpp"
#include "layers/positional/random_walk.hpp"

namespace locus {

GraphEncodings graph_encodings(const Dataset& ds, const GraphIndex& index, const pe::PosEncSpec& spec, uint64_t seed) {
  GraphEncodings out;
  check(!spec.anchor || spec.anchor_sizes > 0, "graph_encodings: posenc_Anchor on many graphs needs anchor_sizes");
  if (spec.lap) out.lap = Mat::Zero(ds.num_nodes, spec.lap_freqs);
  if (spec.rwse) out.rwse = Mat::Zero(ds.num_nodes, spec.rwse_steps);
  if (spec.anchor) out.anchor = Mat::Zero(ds.num_nodes, int64_t(spec.anchor_sizes) * spec.anchor_sizes);
  if (!spec.lap && !spec.rwse && !spec.anchor) return out;
  const int64_t graphs = index.num_graphs();
  // One graph per iteration, each writing only its own nodes' rows.
#pragma omp parallel for schedule(dynamic, 8) if (graphs > 1)
  for (int64_t g = 0; g < graphs; ++g) {
    const std::vector<int32_t> one{static_cast<int32_t>(g)};
    const GraphBatch b = make_batch(ds, index, one);
    const Mat lap = spec.lap ? pe::laplacian_pe(b.graph, spec.lap_freqs).vectors : Mat();
    const Mat rwse = spec.rwse ? pe::random_walk_pe(b.graph, spec.rwse_steps) : Mat();
    // Graph g's evaluation sets, as the model draws them for g in any batch (a batch of g alone).
    const std::vector<uint64_t> g_seed{pe::graph_anchor_seed(seed, g)};
    const Mat anchor = spec.anchor ? pe::anchor_values(b.graph, pe::batch_anchor_sets(b.offset, g_seed, spec.anchor_sizes),
                                                       spec.anchor_cutoff)
                                   : Mat();
    for (size_t i = 0; i < b.nodes.size(); ++i) {
      const auto r = static_cast<Eigen::Index>(i);
      if (spec.lap) out.lap.row(b.nodes[i]) = lap.row(r);
      if (spec.rwse) out.rwse.row(b.nodes[i]) = rwse.row(r);
      if (spec.anchor) out.anchor.row(b.nodes[i]) = anchor.row(r);
    }
  }
  return out;
}

}  // namespace locus
