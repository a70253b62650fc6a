#include "layers/pgnn.hpp"

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/ops/anchor.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/edge.hpp"
#include "core/ops/shape.hpp"
#include "layers/registry.hpp"

namespace locus {

template <class T>
PgnnLayer<T>::PgnnLayer(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in_dim, int64_t out_dim,
                        PgnnOptions options)
    : store_(&store),
      dist_(store, rng, name + ".dist", {1, options.dist_hidden > 0 ? options.dist_hidden : out_dim, 1}, ops::Act::Relu,
            0.0),
      anchor_(store, rng, name + ".anchor", in_dim, out_dim, /*bias=*/false),
      self_(store, rng, name + ".self", in_dim, out_dim, /*bias=*/true) {
  check(out_dim >= 1, "PgnnLayer: out_dim must be ≥ 1");
  w_ = store.add(name + ".pos", 1, out_dim, Init::Glorot, rng);
}

template <class T>
Var PgnnLayer<T>::distance_weights(Tape<T>& t, const pe::AnchorDistances& dist) const {
  const int64_t size = dist.value.size();
  const double max_class = static_cast<double>(dist.value.rows()) + 1.5;  // d ≤ N − 1 on N nodes
  const float* val = dist.value.data();
  // s = 1/(d+1) or 0 takes few distinct values: class c = d + 1 (0 for s = 0), each class's value
  // taken from its first entry. MLP_dist then runs on one row per class and is gathered per entry,
  // O(U·d_s + N·K) instead of O(N·K·d_s). Values of another form (two
  // values in one class, or 1/v beyond N + 1) fall back to one row per entry.
  std::vector<int32_t> cls(size);
  std::vector<float> table;
  std::vector<uint8_t> seen;
  bool exact = true;
  for (int64_t e = 0; e < size && exact; ++e) {
    const float v = val[e];
    const double inv = v > 0.0f ? 1.0 / static_cast<double>(v) : 0.0;
    exact = v == 0.0f || (v > 0.0f && inv <= max_class);
    if (!exact) break;
    const int32_t c = v > 0.0f ? static_cast<int32_t>(std::lround(inv)) : 0;
    if (c >= static_cast<int32_t>(table.size())) {
      table.resize(c + 1, 0.0f);
      seen.resize(c + 1, 0);
    }
    if (!seen[c]) {
      seen[c] = 1;
      table[c] = v;
    }
    exact = table[c] == v;
    cls[e] = c;
  }
  if (!exact) {
    MatT<T> sv(size, 1);
    for (int64_t e = 0; e < size; ++e) sv(e, 0) = static_cast<T>(val[e]);
    return dist_.forward(t, Features<T>{t.constant(std::move(sv), "pgnn_dist"), nullptr}, false, 0);
  }
  MatT<T> sv(static_cast<int64_t>(table.size()), 1);
  for (size_t c = 0; c < table.size(); ++c) sv(c, 0) = static_cast<T>(table[c]);
  const Var st_table = dist_.forward(t, Features<T>{t.constant(std::move(sv), "pgnn_dist"), nullptr}, false, 0);
  return ops::gather_rows_or_zero(t, st_table, cls);
}

template <class T>
PgnnOutput PgnnLayer<T>::forward(Tape<T>& t, const Features<T>& h, const pe::AnchorDistances& dist) const {
  const int64_t n = dist.value.rows(), k = dist.value.cols(), d = out_dim();
  check(dist.nearest.rows() == n && dist.nearest.cols() == k,
        "PgnnLayer: distance value and nearest shapes differ");
  check(k >= 1, "PgnnLayer: no anchor sets");
  const Var a = anchor_.transform(t, h);  // [N, out]  h W_top, once per node
  const Var b = self_.forward(t, h);      // [N, out]  h W_bottom + b
  check(t.rows(a) == n, "PgnnLayer: h has " + std::to_string(t.rows(a)) + " rows, the distances " + std::to_string(n));
  // Entry e = v·K + i, row-major like value and nearest.
  const Var hu = ops::gather_rows_or_zero(t, a, std::span<const int32_t>(dist.nearest.data(), n * k));  // [N·K, out]
  const Var st = distance_weights(t, dist);  // [N·K, 1]  s̃
  const Var m = ops::relu(t, ops::add(t, ops::row_scale(t, hu, st), ops::repeat_rows(t, b, k)));  // [N·K, out]
  const Var mw = ops::reshape(t, m, n, k * d);  // [N, K·out]: head i of row v is m_{v,i}
  const Var w_tiled = ops::reshape(t, ops::repeat_rows(t, t.param(*store_, w_), k), 1, k * d);
  return PgnnOutput{ops::head_dot(t, mw, w_tiled, k), ops::head_mean(t, mw, k)};
}

template class PgnnLayer<float>;
template class PgnnLayer<double>;

LayerDescriptor pgnn_layer() {
  LayerDescriptor d;
  d.name = "pgnn";
  d.summary = "P-GNN, position-aware messages to anchor sets, with a Linear head (You et al., ICML 2019)";
  d.formula = "m_{v,i} = ReLU(W [MLP(1/(d(v,u_i)+1)) h_{u_i} ‖ h_v] + b),  h'_v = mean_i m_{v,i}";
  d.structure = Structure::AnchorOnly;
  d.options = {"gnn.anchors", "gnn.num_anchors", "gnn.anchor_readout", "gnn.branch_dim", "gnn.pgnn_cutoff"};
  return d;
}

}  // namespace locus
