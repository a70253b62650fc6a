#include "layers/transformer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/ops/attention.hpp"
#include "core/ops/edge.hpp"
#include "core/ops/fft_attention.hpp"
#include "core/ops/position.hpp"
#include "layers/memory_estimate.hpp"
#include "layers/positional/sequence.hpp"
#include "layers/positional/spd.hpp"
#include "layers/registry.hpp"

namespace locus {

Csr transformer_graph(const Csr& g) { return g.add_self_loops(); }

template <class T>
TransformerLayer<T>::TransformerLayer(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t dim,
                                      TransformerOptions opt, bool decay)
    : store_(&store),
      opt_(opt),
      dim_(dim),
      wq_(store, rng, name + ".q", dim, dim, true, decay),
      wk_(store, rng, name + ".k", dim, dim, true, decay),
      wv_(store, rng, name + ".v", dim, dim, true, decay),
      wo_(store, rng, name + ".o", dim, dim, true, decay),
      ffn1_(store, rng, name + ".ffn.0", dim, 2 * dim, true, decay),
      ffn2_(store, rng, name + ".ffn.1", 2 * dim, dim, true, decay) {
  check(opt.heads >= 1 && dim % opt.heads == 0,
        "TransformerLayer: width " + std::to_string(dim) + " is not divisible by " + std::to_string(opt.heads) + " heads");
  if (opt.rel_buckets > 0) rel_bias_ = store.add(name + ".rel_bias", opt.heads, opt.rel_buckets, Init::Zeros, rng, false);
  if (opt.fft_radius > 0) fft_bias_ = store.add(name + ".fft_bias", opt.heads, 2 * opt.fft_radius + 1, Init::Zeros, rng, false);
  if (opt.spd_classes > 0) spd_bias_ = store.add(name + ".spd_bias", opt.heads, opt.spd_classes, Init::Zeros, rng, false);
  if (opt.rope && (dim / opt.heads) % 4 != 0)
    throw InputError("RoPE needs a head width divisible by 4 (2 per position dimension, up to 2-D); width " +
                     std::to_string(dim) + " with " + std::to_string(opt.heads) + " heads gives " +
                     std::to_string(dim / opt.heads) + ": change gnn.dim_inner or gnn.att_heads");
  for (int i = 0; i < 2; ++i) norm_[i] = Norm<T>(store, rng, name + ".norm" + std::to_string(i), dim, opt.norm);
}

template <class T>
Var TransformerLayer<T>::attention(Tape<T>& t, GraphRef g, Var h, bool training, uint64_t key,
                                   const AttentionExtras& ex) const {
  const Features<T> in{h, nullptr};
  Var q = wq_.forward(t, in), k = wk_.forward(t, in), v = wv_.forward(t, in);
  const int64_t heads = opt_.heads;
  if (opt_.rope) {
    check(ex.positions != nullptr, "TransformerLayer: RoPE needs positions");
    q = ops::rope(t, q, *ex.positions, heads);
    k = ops::rope(t, k, *ex.positions, heads);
  }
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(dim_ / heads)));
  Var out;
  if (g.dense && opt_.fft_radius > 0) {
    // Kernelized attention, O(n log n) per sentence; no clamp, no attention dropout.
    out = ops::fft_attention(t, *g.dense, q, k, v, t.param(*store_, fft_bias_), static_cast<int>(heads));
  } else if (g.dense) {
    AttnConfig cfg;
    cfg.scale = scale;
    cfg.clamp = opt_.clamp;
    cfg.norm = opt_.attn_norm;
    cfg.max_distance = opt_.rel_max_distance;
    cfg.dropout = opt_.attn_dropout;
    const Var bias = opt_.rel_buckets > 0 ? t.param(*store_, rel_bias_) : Var{};
    out = ops::dense_attention(t, *g.dense, q, k, v, static_cast<int>(heads), cfg, bias, training, key);
  } else {
    if (opt_.attn_norm != AttnNorm::Softmax || opt_.rel_buckets > 0 || opt_.fft_radius > 0)
      throw InputError("l2 attention and the T5 relative bias need sentences (a Dense topology); on graphs use "
                       "softmax attention and posenc_SPD");
    // Scores on edges: clamp(<q_d, k_s> / √d_h) (+ SPD bias), softmax over d's in-edges, weighted sum of v_s.
    Var s = ops::clamp(t, ops::scale(t, ops::gsddmm_dot(t, g, q, k, heads), scale), opt_.clamp);
    if (opt_.spd_classes > 0) {
      check(ex.edge_class != nullptr, "TransformerLayer: the SPD bias needs edge classes");
      s = ops::edge_class_bias(t, s, *ex.edge_class, t.param(*store_, spd_bias_));
    }
    Var a = ops::dropout(t, ops::edge_softmax(t, g, s), opt_.attn_dropout, key, training);
    out = ops::gspmm(t, g, v, ops::Reduce::Sum, a);
  }
  return wo_.forward(t, Features<T>{out, nullptr});
}

template <class T>
Var TransformerLayer<T>::forward(Tape<T>& t, GraphRef g, Var x, bool training, uint64_t key,
                                 const AttentionExtras& ex) const {
  const uint64_t k1 = splitmix64(key + 1), k2 = splitmix64(key + 2), k3 = splitmix64(key + 3);
  // Attention block with residual.
  Var a = attention(t, g, opt_.pre_norm ? norm_[0].forward(t, x, training) : x, training, k1, ex);
  Var h = ops::add(t, x, ops::dropout(t, a, opt_.dropout, k2, training));
  if (!opt_.pre_norm) h = norm_[0].forward(t, h, training);
  // Feed-forward block with residual.
  Var f_in = opt_.pre_norm ? norm_[1].forward(t, h, training) : h;
  Var f = ffn2_.forward(t, Features<T>{ops::activation(t, ffn1_.forward(t, Features<T>{f_in, nullptr}), opt_.ffn_act), nullptr});
  Var out = ops::add(t, h, ops::dropout(t, f, opt_.dropout, k3, training));
  return opt_.pre_norm ? out : norm_[1].forward(t, out, training);
}

template class TransformerLayer<float>;
template class TransformerLayer<double>;

LayerDescriptor transformer_layer() {
  LayerDescriptor d;
  d.name = "transformer";
  d.summary = "Transformer encoder layers, post- or pre-norm (Vaswani et al. 2017; on graphs Dwivedi & Bresson 2021)";
  d.formula = "h' = Norm(h + MHA(h)),  out = Norm(h' + FFN(h')),  attention over in-neighbours or the whole sentence";
  d.dense = true;
  d.structure = Structure::Residual;
  d.options = {"gnn.att_heads", "gnn.att_dropout", "gnn.norm", "gnn.pre_norm", "gnn.att_clamp", "gnn.att_norm",
               "posenc_SPD.enable", "posenc_seq.kind"};
  // Attention over in-neighbours plus a self loop, or over the K-hop ball with SPD classes.
  d.graph = [](const Csr& g, const GnnSpec& spec) {
    if (!spec.posenc.spd) return GraphCache{std::make_shared<const Csr>(transformer_graph(g)), nullptr};
    pe::HopGraph hop = pe::hop_graph(g, spec.posenc.spd_max_dist);
    return GraphCache{std::make_shared<const Csr>(std::move(hop.graph)),
                      std::make_shared<const std::vector<int32_t>>(std::move(hop.dist))};
  };
  d.set_factory([](const auto& a) {
    using T = typename std::decay_t<decltype(a)>::value_type;
    const GnnSpec& spec = a.spec;
    const pe::SeqPE seq = pe::parse_seq_pe(spec.posenc.seq);
    TransformerOptions opt;
    opt.heads = spec.att_heads;
    opt.norm = parse_norm(spec.norm);
    opt.pre_norm = spec.pre_norm;
    opt.clamp = spec.att_clamp;
    opt.dropout = spec.dropout;
    opt.attn_dropout = spec.att_dropout;
    opt.ffn_act = spec.act;
    opt.attn_norm = parse_attn_norm(spec.att_norm);
    opt.rope = seq == pe::SeqPE::Rope;
    opt.rel_buckets = seq == pe::SeqPE::T5Bias ? spec.posenc.seq_buckets : 0;
    opt.rel_max_distance = spec.posenc.seq_max_distance;
    opt.spd_classes = a.graph.csr && spec.posenc.spd ? spec.posenc.spd_max_dist + 1 : 0;
    opt.fft_radius = seq == pe::SeqPE::FftKernel ? spec.posenc.seq_max_distance : 0;
    return built_layer<T>(TransformerLayer<T>(a.store, a.rng, a.name, a.in, opt, a.decay), a, a.in);
  });
  d.graph_memory = [](const MemoryShape& s) {
    if (s.spec.posenc.spd) return GraphMemory{};  // the hop graph is counted with the attention
    return GraphMemory{csr_with_reverse(s.n, s.edges + s.n, s.weighted), "self-loop copy"};
  };
  d.memory = [](const MemoryShape& s, double in, double out_dim, bool) {
    const GnnSpec& spec = s.spec;
    const pe::PosEncSpec& pe = spec.posenc;
    const double n = s.n, d = static_cast<double>(spec.hidden), H = static_cast<double>(spec.att_heads);
    const double L = std::max(1, spec.layers);
    LayerMemory m;
    // Encoder, per layer q, k, v, o (d → d) and the FFN (d → 2d → d) with biases and two norms, head.
    m.params = in * d + d + L * (8 * d * d + 7 * d + 2 * norm_values(spec.norm, d)) + head_params(spec, d, out_dim);
    // Encoder + head, then per layer: q, k, v, o and the FFN (matmul + bias each), residual adds,
    // dropouts (+ masks), norms: ~25 d values and ~20 d gradients per node.
    m.activations = n * (4 * d + 4 * out_dim) + L * n * 45 * d;
    if (s.sentences) {
      if (pe::parse_seq_pe(pe.seq) == pe::SeqPE::FftKernel) {  // O(N·H·(m + d_h)) features, spectra and gradients
        const double features = 64, dh = d / H;
        m.activations += L * 6 * n * H * (features + dh);
      } else {
        m.activations += L * 4 * n * H;  // fused kernel: row statistics only, no score matrix
      }
      return m;
    }
    // Sparse attention over in-edges (+ self loops), or over the SPD hop graph.
    double e_att = s.edges + n;
    if (pe.spd) {
      const double mean_deg = n > 0 ? s.edges / n : 0;
      double ball = 1, pw = 1;
      for (int j = 1; j <= pe.spd_max_dist; ++j) ball += (pw *= std::max(mean_deg, 1.0));
      e_att = std::min(n * ball, n * n);
      m.items.push_back(MemoryItem{fmt::format("SPD hop graph (≤{} hops, ~{} edges)", pe.spd_max_dist, count_text(e_att)),
                                   csr_with_reverse(n, e_att, false) + 4 * e_att, "graph"});
    }
    const double per = 5 + (spec.att_clamp > 0 ? 2 : 0) + (pe.spd ? 2 : 0) + 4;  // values + gradients
    m.edge_floats = L * per * H * e_att;
    m.edge_what = fmt::format("sparse attention ({} heads × {} layers × {} edges × {} buffers)", spec.att_heads,
                              static_cast<int>(L), count_text(e_att), per);
    m.edge_kind = "sparse_attention";
    return m;
  };
  return d;
}

}  // namespace locus
