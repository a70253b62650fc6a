#include "layers/gnn.hpp"

#include <type_traits>

#include "core/dist/halo.hpp"
#include "core/error.hpp"
#include "core/ops/loss.hpp"
#include "core/ops/scalar.hpp"
#include "core/ops/shape.hpp"
#include "core/ops/norm.hpp"
#include "layers/gat.hpp"
#include "layers/gcn.hpp"
#include "layers/gin.hpp"
#include "layers/sage.hpp"
#include "layers/positional/spd.hpp"
#include "layers/transformer.hpp"

namespace locus {

const std::vector<std::string>& gnn_layer_types() {
  static const std::vector<std::string> types{"gcn", "sage", "gin", "gat", "transformer", "mlp", "gir", "pgnn"};
  return types;
}

namespace {
// Adapts a layer class to StackLayer; graph-based layers share the model's cached graph.
template <class T, class Layer>
struct Adapter : StackLayer<T> {
  Layer layer;
  GraphRef g;  // unused by Linear
  Adapter(Layer l, GraphRef graph) : layer(std::move(l)), g(graph) {}
  Var forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key) const override {
    if constexpr (std::is_same_v<Layer, Linear<T>>) return layer.forward(t, x);
    else if constexpr (std::is_same_v<Layer, GatConv<T>>) return layer.forward(t, g, x, training, key);
    else if constexpr (std::is_same_v<Layer, TransformerLayer<T>>) return layer.forward(t, g, x.var, training, key, this->extras);
    else return layer.forward(t, *g.csr, x);
  }
};
template <class T, class Layer>
std::unique_ptr<StackLayer<T>> adapt(Layer l, GraphRef g) {
  return std::make_unique<Adapter<T, Layer>>(std::move(l), g);
}
}  // namespace

template <class T>
GnnClassifier<T>::GnnClassifier(ParamStore<T>& store, Rng& rng, const GnnSpec& spec, const Csr& graph)
    : spec_(spec) {
  const std::string& type = spec.layer_type;
  // Partitioned training: `graph` is this rank's part in local numbering; linked to its halo, the
  // graph caches below stay linked (and GCN's degrees include the halo's).
  const Csr linked = spec.partition ? dist::link_halo(graph, spec.partition, spec.comm) : Csr();
  const Csr& base = spec.partition ? linked : graph;
  if (type == "gcn") graph_ = std::make_shared<const Csr>(gcn_normalize(base));
  else if (type == "gat" && spec.partition) {
    // Attention and value dropout draw per edge and per source: key the masks by their places in
    // the whole graph.
    Csr a = gat_graph(base);
    auto link = std::make_shared<dist::HaloLink>(*a.halo);
    link->edge_ids = dist::global_edge_positions(a);
    link->source_ids.assign(spec.partition->owned.begin(), spec.partition->owned.end());
    link->source_ids.insert(link->source_ids.end(), spec.partition->halo.begin(), spec.partition->halo.end());
    a.halo = std::move(link);
    graph_ = std::make_shared<const Csr>(std::move(a));
  } else if (type == "gat") graph_ = std::make_shared<const Csr>(gat_graph(base));
  else if (type == "sage" || type == "gin") graph_ = std::make_shared<const Csr>(base);
  else if (type == "transformer" && spec.posenc.spd) {
    pe::HopGraph hop = pe::hop_graph(graph, spec.posenc.spd_max_dist);
    graph_ = std::make_shared<const Csr>(std::move(hop.graph));
    spd_ = std::make_shared<const std::vector<int32_t>>(std::move(hop.dist));
  } else if (type == "transformer") graph_ = std::make_shared<const Csr>(transformer_graph(graph));
  else if (type != "mlp" && type != "gir" && type != "pgnn")
    throw InputError("unknown layer type '" + type + "'. Use gcn, sage, gin, gat, transformer, mlp, gir or pgnn");
  if (type == "gir" || type == "pgnn" || spec.position != "none") raw_ = std::make_shared<const Csr>(graph);
  if (spec.posenc.spd && type != "transformer")
    throw InputError("posenc_SPD is an attention bias: it needs gnn.layer_type transformer");
  if (!graph_) graph_ = std::make_shared<const Csr>();
  pos_ = std::make_shared<pe::PositionalInputs<T>>(store, rng, spec.posenc, GraphRef(graph), spec.posenc_seed);
  build(store, rng);
}

template <class T>
GnnClassifier<T>::GnnClassifier(ParamStore<T>& store, Rng& rng, const GnnSpec& spec, const Dense& sentences)
    : spec_(spec), dense_(std::make_shared<const Dense>(sentences)) {
  const std::string& type = spec.layer_type;
  if (spec.position != "none") throw InputError("gnn.position (anchor branches) needs an edge-list graph, not sentences");
  if (type != "transformer" && type != "gat" && type != "mlp")
    throw InputError("gnn.layer_type '" + type +
                     "' needs an edge-list graph; on sentences (complete graphs) use transformer, gat or mlp");
  pos_ = std::make_shared<pe::PositionalInputs<T>>(store, rng, spec.posenc, GraphRef(*dense_), spec.posenc_seed);
  build(store, rng);
}

template <class T>
void GnnClassifier<T>::build(ParamStore<T>& store, Rng& rng) {
  store_ = &store;
  const GnnSpec& spec = spec_;
  check(spec.layers >= 1, "GnnClassifier: at least one layer");
  check(spec.in_dim > 0 && spec.out_dim > 0 && spec.hidden > 0, "GnnClassifier: sizes must be positive");
  const std::string& type = spec.layer_type;
  const GraphRef topo = topology();
  const pe::SeqPE seq = pe::parse_seq_pe(spec.posenc.seq);
  if (type != "transformer" &&
      (seq == pe::SeqPE::Rope || seq == pe::SeqPE::T5Bias || seq == pe::SeqPE::FftKernel || spec.att_norm != "softmax"))
    throw InputError("posenc_seq.kind " + spec.posenc.seq + " and gnn.att_norm " + spec.att_norm +
                     " act inside attention: they need gnn.layer_type transformer");
  if (seq == pe::SeqPE::FftKernel && spec.att_norm != "softmax")
    throw InputError("posenc_seq.kind fft_kernel normalises its own kernel weights: leave gnn.att_norm at softmax");
  const int64_t in_dim = spec.in_dim + pos_->dim();  // node features ‖ positional columns
  // The anchor branch: alone (layer_type gir / pgnn) or fused with the GNN stack below.
  const bool anchor_only = type == "gir" || type == "pgnn";
  if (anchor_only || spec.position != "none") {
    if (spec.position != "none" && spec.position != "gir" && spec.position != "pgnn")
      throw InputError("unknown gnn.position '" + spec.position + "'. Use none, gir or pgnn");
    if (spec.fusion != "concat" && spec.fusion != "sum")
      throw InputError("unknown gnn.fusion '" + spec.fusion + "'. Use concat or sum");
    PositionBranchSpec ps;
    ps.kind = anchor_only ? type : spec.position;
    // Fused, the branch reads position only (a constant input) unless position_features: the GNN
    // branch carries the features, and a second, unsmoothed feature path would overfit them.
    const_branch_input_ = !anchor_only && !spec.position_features;
    ps.in_dim = const_branch_input_ ? 1 : in_dim;
    ps.hidden = spec.hidden;
    ps.layers = spec.layers;
    ps.pgnn_cutoff = spec.pgnn_cutoff;
    ps.gir = spec.gir;
    ps.fixed_nodes = spec.anchor_nodes;
    ps.dropout = spec.dropout;
    ps.eval_seed = splitmix64(spec.posenc_seed ^ 0xB4A7C4ull);
    ps.order_free = !spec.embeddings;  // classification heads need columns that mean the same every epoch
    branch_ = std::make_shared<PositionBranch<T>>(store, rng, ps, *raw_);
    const int64_t k = branch_->out_dim();
    if (anchor_only) {
      head_pos_ = std::make_shared<Linear<T>>(store, rng, "head", k, spec.out_dim);
      return;
    }
    if (spec.fusion == "concat") {
      fuse_cols_ = k;  // the last layer reads [h ‖ Z]
    } else {
      // out = GNN(x) + b·Linear(Z), b a learnt scale from 1 (from 0 the pair tasks stay stuck at the
      // plain GNN: Linear(Z) gets no gradient while b = 0).
      head_pos_ = std::make_shared<Linear<T>>(store, rng, "fusion.pos", k, spec.out_dim);
      fusion_weight_ = store.add("fusion.weight", 1, 1, Init::Ones, rng, false);
    }
  }
  // Concat fusion widens the last layer's input by the branch's columns; the stack itself is the
  // plain GNN's (a GNN with the branch output at zero is exactly the plain one).
  const int64_t stack_out = spec.out_dim;
  if (type == "transformer") {
    // Encoder, residual layers at width `hidden`, head. Weight decay follows decay_first_only
    // with the encoder as the first layer.
    residual_stack_ = true;
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
    opt.spd_classes = spd_ ? spec.posenc.spd_max_dist + 1 : 0;
    opt.fft_radius = seq == pe::SeqPE::FftKernel ? spec.posenc.seq_max_distance : 0;
    const bool decay_rest = !spec.decay_first_only;
    layers_.push_back(adapt<T>(Linear<T>(store, rng, "encoder", in_dim, spec.hidden), topo));
    for (int l = 0; l < spec.layers; ++l) {
      layers_.push_back(adapt<T>(
          TransformerLayer<T>(store, rng, "layer" + std::to_string(l), spec.hidden, opt, decay_rest), topo));
      layers_.back()->extras = AttentionExtras{pos_->positions(), spd_.get()};
    }
    layers_.push_back(
        adapt<T>(Linear<T>(store, rng, "head", spec.hidden + fuse_cols_, stack_out, true, decay_rest), topo));
    return;
  }
  int64_t in = in_dim;
  for (int l = 0; l < spec.layers; ++l) {
    const bool last = l + 1 == spec.layers;
    const int64_t out = last ? stack_out : spec.hidden;
    const bool decay = !spec.decay_first_only || l == 0;
    if (last) in += fuse_cols_;
    const std::string name = "layer" + std::to_string(l);
    const GraphRef g = topo;
    if (type == "gcn") {
      layers_.push_back(adapt<T>(GcnConv<T>(store, rng, name, in, out, decay), g));
    } else if (type == "sage") {
      layers_.push_back(adapt<T>(SageConv<T>(store, rng, name, in, out, decay), g));
    } else if (type == "gin") {
      layers_.push_back(adapt<T>(GinConv<T>(store, rng, name, in, out, decay), g));
    } else if (type == "gat") {
      GatOptions opt;
      opt.heads = last ? spec.att_heads_out : spec.att_heads;
      opt.concat = !last;
      opt.attn_dropout = spec.att_dropout;
      opt.value_dropout = spec.att_value_dropout;
      GatConv<T> conv(store, rng, name, in, out, opt, decay);
      in = conv.out_dim();
      layers_.push_back(adapt<T>(std::move(conv), g));
      continue;
    } else {
      layers_.push_back(adapt<T>(Linear<T>(store, rng, name, in, out, true, decay), g));
    }
    in = out;
  }
}

template <class T>
Var GnnClassifier<T>::forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key) const {
  // Layer scopes (Tape::scope) name where a NaN/Inf starts: "positional inputs", "layer i (type)"
  // (1-based; the dropout before a layer and the activation after it belong to it; transformer:
  // "encoder (linear)", "layer i (transformer)", "head (linear)"), "anchor branch (gir|pgnn)",
  // "head (linear)" / "fusion (sum)" of the branch, and "model output" (log-softmax / L2 norm).
  Features<T> h = x;
  {
    auto scope = t.scope("positional inputs");
    h.extra = pos_->forward(t, training, splitmix64(key ^ 0x9E3779B97F4A7C15ull));
  }
  auto finish = [&](Var out) {
    auto scope = t.scope("model output");
    return spec_.embeddings ? ops::l2_normalize_rows(t, out) : ops::log_softmax(t, out);
  };
  const std::string branch_scope =
      branch_ ? "anchor branch (" + (layers_.empty() ? spec_.layer_type : spec_.position) + ")" : std::string();
  // The anchor branch sees the same (dropped-out) input as the first GNN layer (alone, or fused
  // with position_features; fused without, a constant column).
  const uint64_t branch_key = splitmix64(key ^ 0xC3C3C3C3C3C3C3C3ull);
  if (branch_ && layers_.empty()) {  // gir / pgnn alone: the branch output → Linear head
    Var z;
    {
      auto scope = t.scope(branch_scope);
      const Features<T> in = dropout(t, h, spec_.dropout, splitmix64(key), training);
      z = branch_->forward(t, in, training, branch_key);
    }
    Var out;
    {
      auto scope = t.scope("head (linear)");
      out = head_pos_->forward(t, Features<T>{z, nullptr});
    }
    return finish(out);
  }
  // The anchor branch's output Z, with the feature dropout of the GNN layers.
  auto branch_output = [&](const Features<T>& in) {
    auto scope = t.scope(branch_scope);
    const Var z = branch_->forward(
        t, const_branch_input_ ? Features<T>{t.constant(MatT<T>::Ones(raw_->num_dst, 1)), nullptr} : in, training,
        branch_key);
    return ops::dropout(t, z, spec_.dropout, splitmix64(branch_key + 1), training);
  };
  // [h ‖ z]: sparse h keeps z as extra columns, dense h is concatenated.
  auto append = [](Tape<T>& t, const Features<T>& h, Var z) {
    if (h.is_sparse()) return Features<T>{Var{}, h.sparse, h.has_extra() ? ops::concat_cols(t, {h.extra, z}) : z};
    std::vector<Var> cols{h.var};
    if (h.has_extra()) cols.push_back(h.extra);
    cols.push_back(z);
    return Features<T>{ops::concat_cols(t, cols), nullptr};
  };
  Var gnn_out;
  Features<T> first_input;
  if (residual_stack_) {
    const size_t n = layers_.size();
    auto name = [&](size_t l) {
      return l == 0 ? std::string("encoder (linear)")
             : l + 1 == n ? std::string("head (linear)")
                          : "layer " + std::to_string(l) + " (transformer)";
    };
    {
      // Dropout on the input only; the Transformer layers drop inside their residual branches.
      auto scope = t.scope(name(0));
      h = dropout(t, h, spec_.dropout, splitmix64(key), training);
    }
    first_input = h;
    for (size_t l = 0; l < n; ++l) {
      const Var z = l + 1 == n && fuse_cols_ > 0 ? branch_output(first_input) : Var{};  // the head reads [h ‖ z]
      auto scope = t.scope(name(l));
      if (z.valid()) h = append(t, h, z);
      h = Features<T>{layers_[l]->forward(t, h, training, splitmix64(key + 1 + l)), nullptr};
    }
    gnn_out = h.var;
  } else {
    for (int l = 0; l < spec_.layers; ++l) {
      const std::string name = "layer " + std::to_string(l + 1) + " (" + spec_.layer_type + ")";
      // Feature dropout key per layer; the layer's own (attention) dropout gets a derived key.
      const uint64_t k = splitmix64(key + static_cast<uint64_t>(l));
      {
        auto scope = t.scope(name);
        h = dropout(t, h, spec_.dropout, k, training, spec_.partition_rows.get());
      }
      if (l == 0) first_input = h;
      const Var z = l + 1 == spec_.layers && fuse_cols_ > 0 ? branch_output(first_input) : Var{};
      auto scope = t.scope(name);
      if (z.valid()) h = append(t, h, z);
      Var y = layers_[l]->forward(t, h, training, splitmix64(k ^ 0xA5A5A5A5A5A5A5A5ull));
      if (l + 1 < spec_.layers) y = ops::activation(t, y, spec_.act);
      h = Features<T>{y, nullptr};
    }
    gnn_out = h.var;
  }
  if (!branch_ || fuse_cols_ > 0) return finish(gnn_out);
  // Sum fusion: out = GNN(x) + b·Linear(Z).
  const Var z = branch_output(first_input);
  Var out;
  {
    auto scope = t.scope("fusion (sum)");
    const Var b = t.param(*store_, fusion_weight_);
    out = ops::add(t, gnn_out, ops::scale_by(t, head_pos_->forward(t, Features<T>{z, nullptr}), b));
  }
  return finish(out);
}

template class GnnClassifier<float>;
template class GnnClassifier<double>;

}  // namespace locus
