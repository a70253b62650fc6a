#include "layers/gat.hpp"

#include <cmath>

#include "core/dist/halo.hpp"
#include "core/ops/edge.hpp"
#include "core/ops/shape.hpp"

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
  Var e = ops::leaky_relu(t, ops::gsddmm_add(t, g, s_src, s_dst), opt_.negative_slope);
  const std::vector<int64_t>* edge_rows =
      g.csr && g.csr->halo && !g.csr->halo->edge_ids.empty() ? &g.csr->halo->edge_ids : nullptr;
  Var alpha = ops::dropout(t, ops::edge_softmax(t, g, e), opt_.attn_dropout, key, training, edge_rows);
  // A rank draws the value-dropout masks of one process: rows keyed by global node id.
  const std::vector<int64_t>* source_rows =
      g.csr && g.csr->halo && !g.csr->halo->source_ids.empty() ? &g.csr->halo->source_ids : nullptr;
  Var values = ops::dropout(t, z_src, opt_.value_dropout, splitmix64(key ^ 0x5bd1e995ull), training, source_rows);
  Var out = ops::gspmm(t, g, values, ops::Reduce::Sum, alpha);
  if (!opt_.concat && heads > 1) out = ops::head_mean(t, out, heads);
  return ops::add_bias(t, out, t.param(*store_, bias_));
}

template class GatConv<float>;
template class GatConv<double>;

}  // namespace locus
