#include "layers/gnn.hpp"

#include <algorithm>

#include "core/dist/halo.hpp"
#include "core/error.hpp"
#include "core/ops/loss.hpp"
#include "core/ops/scalar.hpp"
#include "core/ops/shape.hpp"
#include "core/ops/norm.hpp"
#include "core/text.hpp"
#include "layers/norm.hpp"
#include "layers/registry.hpp"
#include "layers/transformer.hpp"

namespace locus {

namespace {
// The registered layer types whose options include `key`, as "a or b".
std::string readers_of(const std::string& key) {
  std::string out;
  for (const auto& d : layer_registry())
    if (d.reads(key)) out += (out.empty() ? "" : " or ") + d.name;
  return out.empty() ? std::string("(none registered)") : out;
}
}  // namespace

std::vector<std::string> position_branch_kinds() {
  std::vector<std::string> kinds;
  for (const auto& d : layer_registry())
    if (d.structure == Structure::AnchorOnly) kinds.push_back(d.name);
  return kinds;
}

const std::vector<std::string>& fusion_names() {
  static const std::vector<std::string> names{"auto", "input", "concat", "sum"};
  return names;
}

bool anchor_branch_alone(const GnnSpec& spec) {
  return layer_descriptor(spec.layer_type).structure == Structure::AnchorOnly;
}

std::string anchor_branch_kind(const GnnSpec& spec) {
  return anchor_branch_alone(spec) ? spec.layer_type : spec.position == "none" ? std::string() : spec.position;
}

// Auto selection is for a transductive node task on one graph: not for pair tasks (embeddings) and
// not on many graphs (spec.batched: inductive, whole graphs held out).
bool selects_branch(const GnnSpec& spec) {
  const bool on = spec.fusion_select == Toggle::On || (spec.fusion_select == Toggle::Auto && !spec.embeddings && !spec.batched);
  return on && anchor_branch_fused(spec);
}

bool selects_posenc(const GnnSpec& spec) {
  const bool on = spec.posenc_select == Toggle::On || (spec.posenc_select == Toggle::Auto && !spec.embeddings && !spec.batched);
  return on && spec.posenc.graph_columns();
}

pe::PosEncSpec resolve_posenc(const GnnSpec& spec) {
  pe::PosEncSpec pe = spec.posenc;
  const Toggle by_protocol = selects_posenc(spec) ? Toggle::Off : Toggle::On;
  for (Toggle* t : {&pe.lap_sign_flip, &pe.anchor_resample, &pe.indication_resample})
    if (*t == Toggle::Auto) *t = by_protocol;
  return pe;
}

bool anchor_nodes(const GnnSpec& spec) {
  return spec.anchors == AnchorKind::Nodes || (spec.anchors == AnchorKind::Auto && selects_branch(spec));
}

std::string fusion_mode(const GnnSpec& spec) {
  if (spec.fusion != "auto") return spec.fusion;
  return selects_branch(spec) ? "input" : "concat";
}

bool anchors_fixed(const GnnSpec& spec) {
  return anchor_nodes(spec) || spec.anchor_resample == Toggle::Off ||
         (spec.anchor_resample == Toggle::Auto && selects_branch(spec));
}

std::vector<ConfigProblem> validate(const GnnSpec& spec) {
  std::vector<ConfigProblem> out;
  const LayerDescriptor* layer = find_layer(spec.layer_type);
  if (!layer) {
    const std::string near = nearest(spec.layer_type, layer_names());
    out.push_back({"gnn.layer_type", "gnn.layer_type must be one of " + join(layer_names()) + ", got",
                   (near.empty() ? "" : "did you mean '" + near + "'? ") + "or register the layer type (layers/registry.hpp)", ""});
    return out;  // the checks below read the layer's options
  }
  const std::vector<std::string> kinds = position_branch_kinds();
  if (spec.position != "none" && std::find(kinds.begin(), kinds.end(), spec.position) == kinds.end())
    out.push_back({"gnn.position", "gnn.position must be none or one of " + join(kinds) + ", got",
                   "set gnn.position to none, " + join(kinds), ""});
  if (std::find(fusion_names().begin(), fusion_names().end(), spec.fusion) == fusion_names().end())
    out.push_back({"gnn.fusion", "gnn.fusion must be one of " + join(fusion_names()) + ", got",
                   "set gnn.fusion to one of " + join(fusion_names()), ""});
  if (spec.gir.max_hops > 0 && spec.gir.max_hops < spec.layers)
    out.push_back({"gnn.gir_hops", "gnn.gir_hops is below gnn.layers_mp (" + std::to_string(spec.layers) + "):",
                   "GIR propagates at least one hop per layer: set gnn.gir_hops to 0 (= layers_mp), -1 (until every "
                   "node is reached) or a value >= gnn.layers_mp", ""});
  if (spec.anchor_readout == AnchorReadout::Anchors && !spec.embeddings && !anchors_fixed(spec))
    out.push_back({"gnn.anchor_readout", "gnn.anchor_readout=anchors reads one column per anchor set, but the sets are "
                                         "drawn anew every training epoch (gnn.anchor_resample=" +
                                         std::string(spec.anchor_resample == Toggle::On ? "true" : "auto") + "):",
                   "set gnn.anchor_resample=false or gnn.anchors=nodes, or gnn.anchor_readout=auto", "anchors"});
  if (spec.num_anchors > 0 && !anchor_branch_kind(spec).empty() && !anchor_nodes(spec))
    out.push_back({"gnn.num_anchors", "gnn.num_anchors counts single-node anchors, but this branch uses P-GNN's "
                                      "anchor sets (⌊log₂ n⌋², gnn.anchors=" +
                                          std::string(spec.anchors == AnchorKind::Sets ? "sets" : "auto") + "):",
                   "set gnn.anchors=nodes, or gnn.num_anchors=0", std::to_string(spec.num_anchors)});
  // Options that act inside a layer: only types that read them may be asked for them.
  const std::string& type = spec.layer_type;
  if (spec.posenc.spd && !layer->reads("posenc_SPD.enable"))
    out.push_back({"posenc_SPD.enable", "posenc_SPD is an attention bias: it needs gnn.layer_type " +
                                            readers_of("posenc_SPD.enable") + " (now " + type + "), got",
                   "set gnn.layer_type=" + readers_of("posenc_SPD.enable") + " or posenc_SPD.enable=false", ""});
  const pe::SeqPE seq = pe::parse_seq_pe(spec.posenc.seq);
  const bool inside = seq == pe::SeqPE::Rope || seq == pe::SeqPE::T5Bias || seq == pe::SeqPE::FftKernel;
  if (inside && !layer->reads("posenc_seq.kind"))
    out.push_back({"posenc_seq.kind", "posenc_seq.kind " + spec.posenc.seq + " acts inside attention: it needs "
                                      "gnn.layer_type " + readers_of("posenc_seq.kind") + " (now " + type + "), got",
                   "set gnn.layer_type=" + readers_of("posenc_seq.kind") +
                       ", or an appended encoding (sinusoidal, learned, fourier, cape)", ""});
  if (spec.att_norm != "softmax" && !layer->reads("gnn.att_norm"))
    out.push_back({"gnn.att_norm", "gnn.att_norm " + spec.att_norm + " needs gnn.layer_type " +
                                       readers_of("gnn.att_norm") + " (now " + type + "), got",
                   "set gnn.layer_type=" + readers_of("gnn.att_norm") + " or gnn.att_norm=softmax", ""});
  if (spec.residual && layer->structure != Structure::Stack)
    out.push_back({"gnn.residual", layer->structure == Structure::Residual
                                       ? "gnn.residual wraps a stack's layers in residual blocks, but " + type +
                                             " layers are residual already; got"
                                       : "gnn.residual needs a message-passing stack, but " + type +
                                             " is an anchor branch alone; got",
                   "remove gnn.residual (or set it false)", "true"});
  if (spec.head == "per_layer" && !anchor_branch_kind(spec).empty())
    out.push_back({"gnn.head", "gnn.head per_layer sums linear maps of the stack's layers; an anchor branch "
                               "(gnn.position " + spec.position + ") is fused with one output map; got",
                   "set gnn.head=linear (or mlp), or gnn.position=none", spec.head});
  if (spec.head != "linear" && !residual_structure(spec))
    out.push_back({"gnn.head", "gnn.head " + spec.head + " is the output map of residual stacks (gnn.residual, "
                               "transformer, gatedgcn), but " + type + " here is a plain stack; got",
                   "set gnn.residual=true, or gnn.head=linear", spec.head});
  if (seq == pe::SeqPE::FftKernel && spec.att_norm != "softmax")
    out.push_back({"gnn.att_norm", "posenc_seq.kind fft_kernel normalises its own kernel weights; gnn.att_norm must "
                                   "stay softmax, got",
                   "set gnn.att_norm=softmax", ""});
  return out;
}

const std::vector<std::string>& head_names() {
  static const std::vector<std::string> names = {"linear", "mlp", "per_layer"};
  return names;
}

double head_params(const GnnSpec& spec, double in, double out) {
  if (spec.head == "per_layer") return (spec.layers + 1) * (in * out + out);
  if (spec.head != "mlp") return in * out + out;
  const std::vector<int64_t> d = mlp_head_dims(static_cast<int64_t>(in), static_cast<int64_t>(out));
  double p = 0;
  for (size_t i = 0; i + 1 < d.size(); ++i) p += static_cast<double>(d[i] * d[i + 1] + d[i + 1]);
  return p;
}

bool residual_structure(const GnnSpec& spec) {
  const Structure s = layer_descriptor(spec.layer_type).structure;
  return s == Structure::Residual || (s == Structure::Stack && spec.residual);
}

GnnSpec plain_spec(const GnnSpec& spec) {
  GnnSpec p = spec;
  p.position = "none";
  p.posenc.lap = p.posenc.rwse = p.posenc.anchor = p.posenc.indication = false;
  p.fusion_select = p.posenc_select = Toggle::Off;
  p.param_prefix = spec.param_prefix + "plain.";
  return p;
}

void throw_if_invalid(const GnnSpec& spec) {
  const std::vector<ConfigProblem> problems = validate(spec);
  if (!problems.empty())
    throw_input_error("model spec", 0, problems.front().problem, problems.front().key, problems.front().fix);
}

template <class T>
template <class Topology>
Rng& GnnClassifier<T>::make_plain(ParamStore<T>& store, Rng& rng, const Topology& topology, Rng& own) {
  if (!locus::selects_position(spec_)) return rng;
  // Drawn from `rng` as the plain model would be; the rest of this model from a stream of its own,
  // so that `rng` moves on (dropout keys) as after the plain model alone.
  plain_ = std::make_shared<GnnClassifier<T>>(store, rng, plain_spec(spec_), topology);
  own = Rng(splitmix64(rng.state() ^ 0x51EC7ED9A7B0F00Dull));
  return own;
}

template <class T>
GnnClassifier<T>::GnnClassifier(ParamStore<T>& store, Rng& rng, const GnnSpec& spec, const Csr& graph)
    : spec_(spec), layer_(&layer_descriptor(spec.layer_type)) {
  throw_if_invalid(spec);
  if (!layer_->csr)
    throw InputError("gnn.layer_type '" + spec.layer_type + "' runs on sentences only (complete graphs), not on an edge-list graph");
  Rng own;
  Rng& draw = make_plain(store, rng, graph, own);
  if (plain_) {
    // The same layer type on the same graph: the plain GNN's cache serves both (the graph hooks
    // read the partition and posenc_SPD, which plain_spec keeps).
    graph_ = plain_->graph_;
    edge_class_ = plain_->edge_class_;
  } else if (layer_->graph) {
    // Partitioned training: `graph` is this rank's part in local numbering; linked to its halo, the
    // graph caches below stay linked (and GCN's degrees include the halo's).
    const Csr linked = spec.partition ? dist::link_halo(graph, spec.partition, spec.comm) : Csr();
    GraphCache cache = layer_->graph(spec.partition ? linked : graph, spec);
    graph_ = std::move(cache.graph);
    edge_class_ = std::move(cache.edge_class);
  }
  if (spec.batched) {
    // The layers keep a reference to *graph_ (and the transformer to *edge_class_): set_graph
    // rewrites these objects in place. LapPE and RWSE come per graph with each batch; SPD's hop
    // graph is rebuilt per batch (a union of graphs: its hop graph is theirs, block for block);
    // posenc_Anchor and AnchorInd draw each graph's sets. Anchor branches are drawn for one graph.
    if (plain_ || !anchor_branch_kind(spec).empty() || spec.partition || spec.posenc.seq != "none")
      throw InputError("a model on many graphs (mini-batches) cannot yet use anchor branches (gnn.position, gir, pgnn), "
                       "fusion selection or partitioned training (the posenc_* encodings work); turn them off for this "
                       "dataset");
    batch_graph_ = std::make_shared<Csr>(graph_ ? *graph_ : Csr());
    graph_ = batch_graph_;
    if (edge_class_) {
      batch_edge_class_ = std::make_shared<std::vector<int32_t>>(*edge_class_);
      edge_class_ = batch_edge_class_;
    }
  }
  if (!anchor_branch_kind(spec).empty()) raw_ = std::make_shared<const Csr>(graph);
  if (!graph_) graph_ = std::make_shared<const Csr>();
  pos_ = std::make_shared<pe::PositionalInputs<T>>(store, draw, resolve_posenc(spec), GraphRef(graph), spec.posenc_seed);
  build(store, draw);
}

template <class T>
GnnClassifier<T>::GnnClassifier(ParamStore<T>& store, Rng& rng, const GnnSpec& spec, const Dense& sentences)
    : spec_(spec), layer_(&layer_descriptor(spec.layer_type)), dense_(std::make_shared<const Dense>(sentences)) {
  throw_if_invalid(spec);
  if (spec.position != "none") throw InputError("gnn.position (anchor branches) needs an edge-list graph, not sentences");
  if (!layer_->dense) {
    std::string ok;
    for (const auto& d : layer_registry())
      if (d.dense) ok += (ok.empty() ? "" : ", ") + d.name;
    throw InputError("gnn.layer_type '" + spec.layer_type +
                     "' needs an edge-list graph; on sentences (complete graphs) use one of " + ok);
  }
  Rng own;
  Rng& draw = make_plain(store, rng, sentences, own);
  if (spec.batched) {
    // The layers keep a reference to *dense_: set_graph rewrites this object in place.
    check(!plain_, "GnnClassifier: a batched model on sentences has no plain path");
    batch_dense_ = std::make_shared<Dense>(sentences);
    dense_ = batch_dense_;
  }
  pos_ = std::make_shared<pe::PositionalInputs<T>>(store, draw, resolve_posenc(spec), GraphRef(*dense_), spec.posenc_seed);
  build(store, draw);
}

namespace {

// gnn.residual: a Stack layer as a residual block, h ← dropout(h + act(norm(layer(h)))) (the
// benchmarking-GNNs layers' order: conv, BatchNorm, ReLU, residual sum, dropout). x [n, w] → [n, w].
template <class T>
struct ResidualBlock : StackLayer<T> {
  std::unique_ptr<StackLayer<T>> layer;
  Norm<T> norm;
  ops::Act act;
  double dropout;
  ResidualBlock(std::unique_ptr<StackLayer<T>> l, Norm<T> n, ops::Act a, double p)
      : layer(std::move(l)), norm(std::move(n)), act(a), dropout(p) {}
  Var forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key) const override {
    Var y = norm.forward(t, layer->forward(t, x, training, key), training);
    if (act != ops::Act::Identity) y = ops::activation(t, y, act);
    return ops::dropout(t, ops::add(t, x.var, y), dropout, splitmix64(key ^ 0x5EB1D0A1ull), training);
  }
};

}  // namespace

template <class T>
void GnnClassifier<T>::build(ParamStore<T>& store, Rng& rng) {
  store_ = &store;
  const GnnSpec& spec = spec_;
  check(spec.layers >= 1, "GnnClassifier: at least one layer");
  check(spec.in_dim > 0 && spec.out_dim > 0 && spec.hidden > 0, "GnnClassifier: sizes must be positive");
  const GraphRef topo = topology();
  const int64_t in_dim = spec.in_dim + pos_->dim();  // node features ‖ positional columns
  // The anchor branch: alone (layer_type gir / pgnn) or fused with the GNN stack below.
  const bool anchor_only = anchor_branch_alone(spec);
  if (const std::string kind = anchor_branch_kind(spec); !kind.empty()) {
    PositionBranchSpec ps;
    ps.kind = kind;
    // Fused, the branch reads position only (a constant input) unless position_features: the GNN
    // branch carries the features, and a second, unsmoothed feature path would overfit them.
    const_branch_input_ = !anchor_only && !spec.position_features;
    ps.in_dim = const_branch_input_ ? 1 : in_dim;
    ps.hidden = branch_width(spec);
    ps.layers = spec.layers;
    ps.pgnn_cutoff = spec.pgnn_cutoff;
    ps.gir = spec.gir;
    ps.fixed_nodes = anchor_nodes(spec);
    ps.num_anchors = spec.num_anchors;
    ps.resample = !anchors_fixed(spec);
    ps.dropout = spec.dropout;
    ps.eval_seed = splitmix64(spec.posenc_seed ^ 0xB4A7C4ull);
    ps.eval_sets = spec.branch_eval_sets;
    // A classifier's columns must mean the same every epoch: Z_pos's column k names anchor set k,
    // so it is read only when the sets stay fixed in training. There it is what tells communities
    // apart (the order-free mean cannot say which anchor is near): on a 20-block SBM with constant
    // features, GCN + GIR with fixed sets went from 8.9 % (Z) to 87.3 % (Z_pos) test accuracy, 5 seeds.
    ps.order_free = !spec.embeddings && (spec.anchor_readout == AnchorReadout::Mean ||
                                         (spec.anchor_readout == AnchorReadout::Auto && !anchors_fixed(spec)));
    branch_ = std::make_shared<PositionBranch<T>>(store, rng, ps, *raw_);
    const int64_t k = branch_->out_dim();
    if (anchor_only) {
      head_pos_ = std::make_shared<Linear<T>>(store, rng, "head", k, spec.out_dim);
      return;
    }
    if (const std::string mode = fusion_mode(spec); mode != "sum") {
      // The first layer reads [x ‖ Z] (input) or the last [h ‖ Z] (concat); a residual stack
      // has its encoder and head around the spec.layers layers.
      fuse_cols_ = k;
      const int depth = spec.layers + (residual_structure(spec) ? 2 : 0);
      fuse_at_ = mode == "input" ? 0 : depth - 1;
    } else {
      // out = GNN(x) + b·Linear(Z), b a learnt scale from 1 (from 0 the pair tasks stay stuck at the
      // plain GNN: Linear(Z) gets no gradient while b = 0).
      head_pos_ = std::make_shared<Linear<T>>(store, rng, "fusion.pos", k, spec.out_dim);
      fusion_weight_ = store.add("fusion.weight", 1, 1, Init::Ones, rng, false);
    }
  }
  // Set by the trainer from validation, never by gradients (the tape does not read it).
  if (locus::selects_position(spec)) gate_ = store.add("fusion.gate", 1, 1, Init::Ones, rng, false);
  // Input / concat fusion widens the first / last layer's input by the branch's columns.
  const int64_t stack_out = spec.out_dim;
  // One layer of the registered type, with the positions (RoPE) and SPD classes attention reads.
  auto build_layer = [&](const std::string& name, int64_t in, int64_t out, bool last, bool decay) {
    BuiltLayer<T> b =
        layer_->factory<T>()(LayerArgs<T>{store, rng, spec, topo, spec.param_prefix + name, in, out, last, decay});
    b.layer->extras = AttentionExtras{pos_->positions(), edge_class_.get()};
    return b;
  };
  auto add_layer = [&](const std::string& name, int64_t in, int64_t out, bool last, bool decay) {
    BuiltLayer<T> b = build_layer(name, in, out, last, decay);
    layers_.push_back(std::move(b.layer));
    return b.out_dim;
  };
  if (residual_structure(spec)) {
    // Encoder, residual layers at one width, head. Weight decay follows decay_first_only with the
    // encoder as the first layer. A Stack type (gnn.residual) runs at its hidden width, each layer
    // wrapped in a ResidualBlock; a Residual type's layers are residual themselves.
    residual_stack_ = true;
    const bool wrap = layer_->structure == Structure::Stack;
    const int64_t width = wrap && layer_->hidden_width ? layer_->hidden_width(spec) : spec.hidden;
    const bool decay_rest = !spec.decay_first_only;
    const int head = spec.layers + 1;  // its index in layers_
    layers_.push_back(std::make_unique<LayerAdapter<T, Linear<T>>>(
        Linear<T>(store, rng, spec.param_prefix + "encoder", in_dim + (fuse_at_ == 0 ? fuse_cols_ : 0), width), topo));
    for (int l = 0; l < spec.layers; ++l) {
      const std::string name = "layer" + std::to_string(l);
      if (!wrap) {
        add_layer(name, spec.hidden, spec.hidden, l + 1 == spec.layers, decay_rest);
        continue;
      }
      BuiltLayer<T> b = build_layer(name, width, spec.hidden, false, decay_rest);
      check(b.out_dim == width, "GnnClassifier: " + spec.layer_type + "'s hidden width " + std::to_string(b.out_dim) +
                                    " is not its hidden_width " + std::to_string(width) + " (layers/registry.hpp)");
      layers_.push_back(std::make_unique<ResidualBlock<T>>(
          std::move(b.layer), Norm<T>(store, rng, spec.param_prefix + name + ".norm", width, parse_norm(spec.norm)),
          spec.act, spec.dropout));
    }
    const int64_t head_in = width + (fuse_at_ == head ? fuse_cols_ : 0);
    if (spec.head == "per_layer") {  // no anchor branch here (validate)
      for (int l = 0; l <= spec.layers; ++l)
        layer_heads_.emplace_back(store, rng, spec.param_prefix + "head" + std::to_string(l), width, stack_out, true,
                                  decay_rest);
      return;
    }
    if (spec.head == "mlp")
      layers_.push_back(std::make_unique<LayerAdapter<T, Mlp<T>>>(
          Mlp<T>(store, rng, spec.param_prefix + "head", mlp_head_dims(head_in, stack_out), ops::Act::Relu, 0.0, decay_rest),
          topo));
    else
      layers_.push_back(std::make_unique<LayerAdapter<T, Linear<T>>>(
          Linear<T>(store, rng, spec.param_prefix + "head", head_in, stack_out, true, decay_rest), topo));
    return;
  }
  int64_t in = in_dim;
  for (int l = 0; l < spec.layers; ++l) {
    const bool last = l + 1 == spec.layers;
    if (l == fuse_at_) in += fuse_cols_;
    in = add_layer("layer" + std::to_string(l), in, last ? stack_out : spec.hidden, last,
                   !spec.decay_first_only || l == 0);
  }
}

template <class T>
void GnnClassifier<T>::set_graph(GraphRef graph, pe::BatchRows rows) {
  if (graph.dense) {
    check(batch_dense_ != nullptr, "GnnClassifier::set_graph: the model was not built with spec.batched on sentences");
    *batch_dense_ = *graph.dense;
    pos_->set_sentences(*batch_dense_);
    return;
  }
  check(batch_graph_ != nullptr, "GnnClassifier::set_graph: the model was not built with spec.batched on a graph");
  if (layer_->graph) {
    GraphCache cache = layer_->graph(*graph.csr, spec_);
    *batch_graph_ = *cache.graph;
    if (batch_edge_class_) *batch_edge_class_ = *cache.edge_class;
  } else {
    *batch_graph_ = Csr();
  }
  if (rows.graphs.empty()) rows.offset = {0, graph.csr->num_dst}, rows.graphs = {0};  // one graph, id 0
  pos_->set_batch(*graph.csr, std::move(rows));
}

template <class T>
Var GnnClassifier<T>::forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key, PositionUse use) const {
  return run(t, x, training, key, false, use);
}

template <class T>
Var GnnClassifier<T>::embed(Tape<T>& t, const Features<T>& x) const {
  return run(t, x, false, 0, true, PositionUse::Model);
}

template <class T>
bool GnnClassifier<T>::position_used() const {
  return !selects_position() || store_->value(gate_)(0, 0) > T(0.5);
}

template <class T>
void GnnClassifier<T>::set_position_used(bool on) {
  check(selects_position(), "GnnClassifier::set_position_used: the model has no fusion gate (gnn.fusion_select, "
                            "gnn.posenc_select)");
  store_->value(gate_)(0, 0) = on ? T(1) : T(0);
}

template <class T>
Var GnnClassifier<T>::run(Tape<T>& t, const Features<T>& x, bool training, uint64_t key, bool embed,
                          PositionUse use) const {
  // Layer scopes (Tape::scope) name where a NaN/Inf starts: "positional inputs", "layer i (type)"
  // (1-based; the dropout before a layer and the activation after it belong to it; transformer:
  // "encoder (linear)", "layer i (transformer|gatedgcn)", "head (linear)"), "anchor branch (gir|pgnn)",
  // "head (linear)" / "fusion (sum)" of the branch, and "model output" (log-softmax / L2 norm);
  // the plain path of a selecting model under "plain path/".
  // The position path: the anchor branch and the positional columns; off, the plain GNN. Its own
  // parameters, not the fused stack's with Z at zero: shared, the two losses pulled one set of
  // weights two ways, and on Cora GIN + GIR lost a point to GIN (73.1 ± 3.9 % against 74.2 ± 1.6 %,
  // 5 seeds; one seed 65.6 % against GIN's 72.5 %).
  const bool position_on = use == PositionUse::On || (use == PositionUse::Model && position_used());
  if (plain_ && !position_on) {
    auto scope = t.scope("plain path");
    return plain_->run(t, x, training, key, embed, PositionUse::Model);
  }
  Features<T> h = x;
  {
    auto scope = t.scope("positional inputs");
    h.extra = pos_->forward(t, training, splitmix64(key ^ 0x9E3779B97F4A7C15ull));
  }
  auto finish = [&](Var out) {
    if (spec_.raw_output) return out;
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
    if (embed) return z;
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
  // The last layer's input as one dense matrix (embed): a sparse input of a one-layer stack is
  // densified, extra columns appended.
  auto dense = [](Tape<T>& t, const Features<T>& h) {
    const Var base = h.is_sparse() ? t.constant(MatT<T>(*h.sparse)) : h.var;
    return h.has_extra() ? ops::concat_cols(t, {base, h.extra}) : base;
  };
  Var gnn_out;
  Features<T> first_input;
  if (residual_stack_) {
    const size_t n = layers_.size();
    const bool per_layer = !layer_heads_.empty();  // layers_ ends with the last layer, not a head
    auto name = [&](size_t l) {
      return l == 0 ? std::string("encoder (linear)")
             : l + 1 == n && !per_layer ? "head (" + spec_.head + ")"
                                        : "layer " + std::to_string(l) + " (" + spec_.layer_type + ")";
    };
    Var summed;  // per_layer: Σ_l Linear_l(h_l)
    {
      // Dropout on the input only; the Transformer layers drop inside their residual branches.
      auto scope = t.scope(name(0));
      h = dropout(t, h, spec_.dropout, splitmix64(key), training);
    }
    first_input = h;
    for (size_t l = 0; l < n; ++l) {
      // The encoder reads [x ‖ z] (input fusion) or the head [h ‖ z] (concat).
      const Var z = static_cast<int>(l) == fuse_at_ ? branch_output(first_input) : Var{};
      auto scope = t.scope(name(l));
      if (z.valid()) h = append(t, h, z);
      if (embed && l + 1 == n && !per_layer) return dense(t, h);
      h = Features<T>{layers_[l]->forward(t, h, training, splitmix64(key + 1 + l)), nullptr};
      if (per_layer && !embed) {
        const Var y = layer_heads_[l].forward(t, h);
        summed = summed.valid() ? ops::add(t, summed, y) : y;
      }
    }
    if (embed) return h.var;  // per_layer: the last layer's output
    gnn_out = per_layer ? summed : h.var;
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
      const Var z = l == fuse_at_ ? branch_output(first_input) : Var{};
      auto scope = t.scope(name);
      if (z.valid()) h = append(t, h, z);
      if (embed && l + 1 == spec_.layers) return dense(t, h);
      Var y = layers_[l]->forward(t, h, training, splitmix64(k ^ 0xA5A5A5A5A5A5A5A5ull));
      // The activation is the one reader of the layer's output (in place at inference).
      if (l + 1 < spec_.layers && spec_.act != ops::Act::Identity) y = ops::activation(t, t.transient(y), spec_.act);
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
