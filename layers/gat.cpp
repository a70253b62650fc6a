#include "layers/gat.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/dist/halo.hpp"
#include "core/kernels/edge.hpp"
#include "core/ops/edge.hpp"
#include "core/ops/shape.hpp"
#include "layers/memory_estimate.hpp"
#include "layers/registry.hpp"

namespace locus {

Csr gat_graph(const Csr& g) {
  Csr a = g.remove_self_loops().add_self_loops();
  if (g.halo) return dist::link_halo(std::move(a), g.halo->layout, g.halo->comm);
  return a;
}

template <class T>
GatConv<T>::GatConv(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out_per_head,
                    GatOptions opt, bool decay)
    : store_(&store), opt_(opt), f_(out_per_head), lin_(store, rng, name + ".lin", in, opt.heads * out_per_head, false, decay) {
  // Attention vectors: Glorot over a [heads, F] tensor, bound sqrt(6 / (H + F)) as in PyG.
  att_src_ = store.add(name + ".att_src", 1, opt.heads * f_, Init::Zeros, rng, decay);
  att_dst_ = store.add(name + ".att_dst", 1, opt.heads * f_, Init::Zeros, rng, decay);
  const double a = std::sqrt(6.0 / static_cast<double>(opt.heads + f_));
  for (ParamId p : {att_src_, att_dst_})
    for (int64_t i = 0; i < opt.heads * f_; ++i) store.value(p)(0, i) = static_cast<T>(rng.uniform(-a, a));
  bias_ = store.add(name + ".bias", 1, out_dim(), Init::Zeros, rng, decay);
}

template <class T>
Var GatConv<T>::forward(Tape<T>& t, GraphRef g, const Features<T>& x, bool training, uint64_t key) const {
  const int64_t heads = opt_.heads;
  Var z = lin_.transform(t, x);  // [n, H·F]
  // On a partitioned graph the sources are the owned rows and the halo: z is extended by the
  // halo's rows (one exchange of H·F columns per layer; the scores are computed from them).
  Var z_src = g.csr && g.csr->halo ? ops::halo_extend(t, *g.csr, z) : z;
  Var s_src = ops::head_dot(t, z_src, t.param(*store_, att_src_), heads);  // [num_src, H]
  Var s_dst = ops::head_dot(t, z, t.param(*store_, att_dst_), heads);      // [num_dst, H]
  // A rank draws the value-dropout masks of one process: rows keyed by global node id.
  const std::vector<int64_t>* source_rows =
      g.csr && g.csr->halo && !g.csr->halo->source_ids.empty() ? &g.csr->halo->source_ids : nullptr;
  if (g.csr && !g.csr->halo && heads <= kernels::kMaxFusedHeads) {
    // One graph: scores, softmax, attention dropout and aggregation in one op (same values).
    Var values = ops::dropout(t, z_src, opt_.value_dropout, splitmix64(key ^ 0x5bd1e995ull), training, source_rows);
    Var out = ops::gat_attention(t, *g.csr, values, s_src, s_dst, opt_.negative_slope, opt_.attn_dropout, key, training);
    if (!opt_.concat && heads > 1) out = ops::head_mean(t, out, heads);
    return ops::add_bias(t, out, t.param(*store_, bias_));
  }
  Var e = ops::leaky_relu(t, ops::gsddmm_add(t, g, s_src, s_dst), opt_.negative_slope);
  const std::vector<int64_t>* edge_rows =
      g.csr && g.csr->halo && !g.csr->halo->edge_ids.empty() ? &g.csr->halo->edge_ids : nullptr;
  Var alpha = ops::dropout(t, ops::edge_softmax(t, g, e), opt_.attn_dropout, key, training, edge_rows);
  Var values = ops::dropout(t, z_src, opt_.value_dropout, splitmix64(key ^ 0x5bd1e995ull), training, source_rows);
  Var out = ops::gspmm(t, g, values, ops::Reduce::Sum, alpha);
  if (!opt_.concat && heads > 1) out = ops::head_mean(t, out, heads);
  return ops::add_bias(t, out, t.param(*store_, bias_));
}

template class GatConv<float>;
template class GatConv<double>;

LayerDescriptor gat_layer() {
  LayerDescriptor d;
  d.name = "gat";
  d.summary = "graph attention, H heads (Veličković et al., ICLR 2018)";
  d.formula = "h'_v = ‖_h Σ_{u→v} softmax_u(LeakyReLU(a_srcᵀ z_u + a_dstᵀ z_v)) z_u,  z = h W";
  d.dense = true;
  d.distributed = true;
  d.options = {"gnn.att_heads", "gnn.att_heads_out", "gnn.att_dropout", "gnn.att_value_dropout"};
  d.hidden_width = [](const GnnSpec& spec) { return spec.att_heads * spec.hidden; };  // hidden heads concatenated
  d.graph = [](const Csr& base, const GnnSpec& spec) {
    Csr a = gat_graph(base);
    if (spec.partition) {
      // Attention and value dropout draw per edge and per source: key the masks by their places
      // in the whole graph.
      auto link = std::make_shared<dist::HaloLink>(*a.halo);
      link->edge_ids = dist::global_edge_positions(a);
      link->source_ids.assign(spec.partition->owned.begin(), spec.partition->owned.end());
      link->source_ids.insert(link->source_ids.end(), spec.partition->halo.begin(), spec.partition->halo.end());
      a.halo = std::move(link);
    }
    return GraphCache{std::make_shared<const Csr>(std::move(a)), nullptr};
  };
  d.set_factory([](const auto& a) {
    using T = typename std::decay_t<decltype(a)>::value_type;
    GatOptions opt;
    opt.heads = a.last ? a.spec.att_heads_out : a.spec.att_heads;  // hidden heads concatenated, output heads averaged
    opt.concat = !a.last;
    opt.attn_dropout = a.spec.att_dropout;
    opt.value_dropout = a.spec.att_value_dropout;
    GatConv<T> conv(a.store, a.rng, a.name, a.in, a.out, opt, a.decay);
    const int64_t width = conv.out_dim();
    return built_layer<T>(std::move(conv), a, width);
  });
  d.graph_memory = [](const MemoryShape& s) {
    return GraphMemory{csr_with_reverse(s.n, s.edges + s.n, s.weighted), "self-loop copy"};
  };
  d.memory = [](const MemoryShape& s, double in, double out, bool last) {
    const GnnSpec& spec = s.spec;
    const double H = static_cast<double>(last ? spec.att_heads_out : spec.att_heads), F = out;
    LayerMemory m;
    m.params = in * H * F + 3 * H * F;
    // z, dropped values (+ mask), aggregation, bias, activation, next dropout (+ mask).
    m.activations = s.n * H * F * (4 + 3 + (spec.att_value_dropout > 0 ? 3 : 0)) + 4 * s.n * H;
    // gsddmm, LeakyReLU, softmax, dropout (+ mask): 5 values, 4 gradients per edge and head.
    m.edge_floats = 9 * H * (s.sentences ? s.sum_sq : s.edges + s.n);
    m.out_width = last ? F : H * F;
    const int L = std::max(1, spec.layers);
    m.edge_what = s.sentences ? fmt::format("dense attention scores (gat on sentences: {} heads × {} layers × Σ n² = {} × 9 buffers)",
                                            spec.att_heads, L, count_text(s.sum_sq))
                              : fmt::format("sparse attention ({} heads × {} layers × {} edges × 9 buffers)", spec.att_heads, L,
                                            count_text(s.edges + s.n));
    m.edge_kind = s.sentences ? "dense_attention" : "sparse_attention";
    return m;
  };
  return d;
}

}  // namespace locus
