// The model of `locus train`: a GraphGym-style stack of message-passing layers (or plain Linear
// layers for `mlp`), dropout before every layer, an activation between layers, and log-softmax
// (or L2-normalised embeddings for pair tasks) at the end. A `transformer` stack is Linear(in →
// hidden), residual Transformer layers, Linear(hidden → out). Positional columns are appended to
// the input; an anchor branch (GIR / P-GNN) can replace or be fused with the stack. Graph caches
// (e.g. GCN's Â) are built once here.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/graph.hpp"
#include "core/ops/pool.hpp"
#include "layers/linear.hpp"
#include "layers/position_branch.hpp"
#include "layers/positional/inputs.hpp"
#include "layers/transformer.hpp"

namespace locus {

namespace dist {
class Comm;
struct LocalLayout;
}  // namespace dist

// See GnnSpec::anchor_readout. (Toggle, a switch whose Auto the task decides: layers/positional/inputs.hpp.)
enum class AnchorReadout { Auto, Mean, Anchors };
// gnn.anchors: P-GNN's sets, single nodes, or Auto (see anchor_nodes()).
enum class AnchorKind { Auto, Sets, Nodes };

struct GnnSpec {
  std::string layer_type = "gcn";  // a registered layer type (layers/registry.hpp)
  int layers = 2;
  int64_t in_dim = 0, hidden = 16, out_dim = 0;  // gat: hidden is the width per head
  ops::Act act = ops::Act::Relu;
  double dropout = 0.5;
  bool decay_first_only = true;  // weight decay on the first layer's parameters alone
  int64_t att_heads = 8;         // gat: heads of the hidden layers (concatenated)
  int64_t att_heads_out = 1;     // gat: heads of the last layer (averaged)
  double att_dropout = 0.6;      // gat, transformer: dropout on attention coefficients
  double att_value_dropout = 0;  // gat: dropout on the transformed features before aggregation
  std::string norm = "layer";     // transformer, gatedgcn, residual stacks: layer | batch | none
  // Stack layer types (gcn, sage, gin, gat, graphconv, mlp): Linear encoder, layers wrapped as
  // h ← dropout(h + act(norm(layer(h)))) at the hidden width, Linear head (benchmarking-GNNs' stacks).
  bool residual = false;
  // Residual structures (gnn.residual stacks, transformer, gatedgcn): the output map from the hidden
  // width, linear or mlp (benchmarking-GNNs' MLPReadout, mlp_head_dims, ReLU between), or
  // per_layer: Σ_l Linear_l(h_l) over the encoder's output h_0 and every layer's h_1..h_L (the
  // benchmark's GIN, whose prediction sums a linear map of every layer's representation).
  std::string head = "linear";
  bool pre_norm = false;          // transformer: normalise inside the residual branches
  double att_clamp = 0;           // transformer: |score| limit before the softmax (0: none)
  std::string att_norm = "softmax";  // transformer: softmax | l2 (sentences only)
  pe::PosEncSpec posenc;             // positional encodings (layers/positional/inputs.hpp)
  uint64_t posenc_seed = 0;          // fixes the evaluation anchor sets
  // The anchor branch's evaluation sets, when given (a saved model on its training graph): used
  // instead of those drawn from posenc_seed.
  std::shared_ptr<const pe::AnchorSets> branch_eval_sets;
  // Pair tasks (link prediction, pair classification): the last layer's output, rows
  // L2-normalised (as P-GNN), instead of log-probabilities; out_dim is the embedding width.
  bool embeddings = false;
  // Datasets of many graphs: the model runs on a different graph every call (a mini-batch of
  // graphs, GnnClassifier::set_graph), and graph tasks read the stack's output as it is (raw_output:
  // no log-softmax; a readout pools it per graph, layers/graph_readout.hpp).
  bool batched = false;
  bool raw_output = false;
  // Graph classification: how each graph's node representations are pooled (gnn.readout).
  ops::Pool readout = ops::Pool::Mean;
  // Anchor-based branch (layers/position_branch.hpp): none | gir | pgnn, fused with the GNN by
  //   input:  the first GNN layer reads [x ‖ Z] (Z: the branch output, dropped out like x), so
  //           every layer propagates and mixes it, as a positional encoding's columns;
  //   concat: the last GNN layer reads [h ‖ Z];
  //   sum:    out = GNN(x) + b·Linear(Z), b learnt from 1;
  //   auto:   input where validation chooses the branch (selects_branch: node classification),
  //           else concat (pair tasks, P-GNN's). See fusion_mode().
  // With a zero Z, input and concat are exactly the plain GNN and sum adds only a constant (b
  // times Linear's bias). Z is order-free or Z_pos (anchor_readout; layers/position_branch.hpp).
  // layer_type gir / pgnn builds the branch alone (then a Linear head).
  std::string position = "none";
  std::string fusion = "auto";
  // Fused models: also train the plain path (a plain GNN of its own, plain_spec()) on the summed
  // loss, and let validation choose per evaluation which of the two the model uses
  // (the "fusion.gate" parameter, 1 or 0, saved with the model). Where position cannot help, the
  // model keeps the plain GNN. Auto: on for node classification, where a branch can fit the few
  // training labels by position; off for pair tasks (embeddings), P-GNN's protocol. layer_type
  // gir / pgnn alone and unfused models have no plain path.
  Toggle fusion_select = Toggle::Auto;
  // The same choice for the graph positional columns (LapPE, RWSE, AnchorPE, anchor indication):
  // also train the plain GNN without those columns, and let validation choose per evaluation (the
  // same "fusion.gate"; with a selected branch too, its off path has neither). Auto: on for node
  // classification, where fixed coordinates let a model fit the training labels by position (Cora,
  // GCN + AnchorPE with fixed sets: 64.2 % against 81.4 % resampled); off for pair tasks.
  Toggle posenc_select = Toggle::Auto;
  // The anchor branch's width (GIR's per-anchor state d, P-GNN's hidden); 0: hidden. GIR costs
  // O(N·K·d²) per hop, so a narrow branch beside a wide GNN is where its time goes down.
  int64_t branch_dim = 0;
  int pgnn_cutoff = -1;  // P-GNN: 2 (P-GNN-F) or -1 (exact, P-GNN-E)
  // GIR branch (layers/gir.hpp): mean aggregation, the frontier rule, hops until every entry is
  // reached (the gnn.gir_* defaults).
  GirOptions gir{ops::Reduce::Mean, false, true, -1};
  // Fused branch input: false (default) = a constant column, so the branch encodes position alone
  // and the GNN branch the features; true = the node features (and positional columns) as well.
  bool position_features = false;
  // Anchors: P-GNN's sets (their sizes n/2, n/4, ...), or fixed single nodes (GIR.md's
  // alternative; PositionBranchSpec::fixed_nodes); Auto: nodes where selects_branch. See anchor_nodes().
  AnchorKind anchors = AnchorKind::Auto;
  // Single-node anchors: how many; 0: pe::anchor_node_count's rule (⌊log₂ n⌋², every node on
  // graphs small enough). Only with anchor_nodes(spec) (validate() says so otherwise).
  int64_t num_anchors = 0;
  // P-GNN sets: On, fresh every training call (P-GNN's protocol, for graphs a model has not seen);
  // Off, the evaluation sets throughout (one graph, transductive); Auto: Off where validation
  // guards the fused branch (fusion_select on), else On. See anchors_fixed().
  Toggle anchor_resample = Toggle::Auto;
  // What a node classifier reads of the anchor branch: auto (Z_pos when the anchors are fixed in
  // training, gnn.anchors=nodes or anchor_resample=false, else the order-free Z), mean (Z always) or
  // anchors (Z_pos always; needs fixed anchors). Pair tasks always read Z_pos (P-GNN's).
  AnchorReadout anchor_readout = AnchorReadout::Auto;
  // Partitioned training (core/dist/halo.hpp): the graph given to the model is this rank's part
  // (owned rows; sources owned, then the halo); forward takes and returns owned rows.
  std::shared_ptr<const dist::LocalLayout> partition;
  dist::Comm* comm = nullptr;
  // ... and where its input rows sit in the whole input, so its feature dropout draws the masks
  // of one process (DropoutRows; GAT's attention dropout stays per rank). Also set for a
  // renumbered graph (dataset.reorder): the masks of the graph in its dataset's order.
  std::shared_ptr<const DropoutRows> partition_rows;
  // Prefix of the stack's parameter names (a selecting model's own plain stack: "plain.").
  std::string param_prefix;
};

// Every problem of `spec` (empty: valid): an unregistered layer type or branch, options the
// layer type does not read (posenc_SPD, attention-only encodings, gnn.att_norm), GIR hops below
// the layer count.
std::vector<ConfigProblem> validate(const GnnSpec& spec);
// A fused branch whose use validation chooses (gnn.fusion_select; see GnnSpec::fusion_select).
bool selects_branch(const GnnSpec& spec);
// Graph positional columns whose use validation chooses (gnn.posenc_select; GnnSpec::posenc_select).
bool selects_posenc(const GnnSpec& spec);
// Either: the model has a position path and a plain one, and a gate between them.
inline bool selects_position(const GnnSpec& spec) { return selects_branch(spec) || selects_posenc(spec); }
// spec.posenc with every Auto randomisation resolved by the protocol: fixed coordinates (evaluation's
// eigenvector signs and anchor sets in training too) where selects_posenc, a transductive node task
// guarded by validation; randomised (the papers' protocol, for graphs a model has not seen) elsewhere.
// Position alone on generated SBMs (constant features, 5 seeds), GCN + LapPE gave 92.0 / 82.4 / 78.9 %
// (5 / 10 / 20 blocks) with fixed signs against 34.0 / 26.2 / 7.4 % flipped (bench/results/position_only.md).
pe::PosEncSpec resolve_posenc(const GnnSpec& spec);
// Whether the anchor branch keeps one set of anchors through training (gnn.anchors=nodes, or
// sets with anchor_resample off), so that Z_pos's columns name the same anchors every epoch.
// Auto fixes them exactly where selects_branch: fixed coordinates let a transductive node task
// learn where each node is (GCN + GIR on a 20-block SBM with constant features: 87.8 % test
// accuracy fixed, 8.9 % resampled), and they can fit Cora's 140 labels by position instead of
// features (63.9 % against GCN's 81.6 %) unless validation may drop the branch (82.1 %).
// Anchor-only models (gir, pgnn) have no plain path and keep P-GNN's resampling (Cora, fixed:
// GIR 44.5 %, P-GNN 67.9 %).
bool anchors_fixed(const GnnSpec& spec);
// Whether the anchor branch uses single-node anchors: gnn.anchors=nodes, or auto where
// selects_branch. One node per anchor says which node is near, where a set says only that some
// member is: position alone on generated SBMs (GCN + GIR, input fusion, 5 seeds), 5 / 10 / 20
// blocks gave 88.8 / 92.0 / 91.8 % with nodes against 88.8 / 82.0 / 88.7 % with fixed sets
// (`gcn+gir:input`, apps/configs/position_only.yaml). Pair tasks keep P-GNN's sets.
bool anchor_nodes(const GnnSpec& spec);
// gnn.fusion resolved: input, concat or sum. Auto is input where selects_branch, else concat. At
// the input, Z is smoothed by every layer like a positional encoding; read by the last layer
// alone, it reaches the classifier through one aggregation. Position alone on generated SBMs
// (GCN + GIR, fixed single-node anchors, 5 seeds): 5 / 10 / 20 / 40 blocks 93.6 / 90.8 / 91.5 / 93.2 %
// at the input against 93.2 / 90.4 / 90.4 / 91.5 % at the last layer (bench/results/position_only.md).
std::string fusion_mode(const GnnSpec& spec);
// The anchor branch's width: gnn.branch_dim, or the GNN's hidden width when it is 0.
inline int64_t branch_width(const GnnSpec& spec) { return spec.branch_dim > 0 ? spec.branch_dim : spec.hidden; }
// The anchor branch of `spec`: "" (none), or its kind (gir, pgnn), alone (layer_type gir / pgnn
// with a Linear head) or fused with the GNN stack (gnn.position).
std::string anchor_branch_kind(const GnnSpec& spec);
bool anchor_branch_alone(const GnnSpec& spec);
// A branch fused with a GNN stack (gnn.position set, layer_type not gir / pgnn): it has a plain path.
inline bool anchor_branch_fused(const GnnSpec& spec) { return spec.position != "none" && !anchor_branch_alone(spec); }
// The model is a Linear encoder, spec.layers residual layers at one width and a Linear head: a
// Residual layer type (transformer, gatedgcn), or a Stack type with gnn.residual.
bool residual_structure(const GnnSpec& spec);
// gnn.head's values; and the head's parameter count from width `in` to `out` (memory estimates).
const std::vector<std::string>& head_names();
double head_params(const GnnSpec& spec, double in, double out);
// The plain GNN a selecting model falls back to: `spec` without the anchor branch and the graph
// positional columns, its parameters named "plain.*".
GnnSpec plain_spec(const GnnSpec& spec);
// Throws ConfigError for the first problem of validate(spec).
void throw_if_invalid(const GnnSpec& spec);
// The anchor-branch kinds gnn.position may name: the registered AnchorOnly types (gir, pgnn).
std::vector<std::string> position_branch_kinds();
// gnn.fusion's values: auto, input, concat, sum (GnnSpec::fusion).
const std::vector<std::string>& fusion_names();

struct LayerDescriptor;

// Which path a model with selects_position takes: its gate's (Model), or one forced (selection's
// two: On with the anchor branch and positional columns, Off the model's plain GNN).
enum class PositionUse { Model, On, Off };

// One message-passing layer of the stack, whatever its type.
template <class T>
struct StackLayer {
  virtual ~StackLayer() = default;
  virtual Var forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key) const = 0;
  AttentionExtras extras;  // transformer: positions and edge classes for RoPE / SPD
};

template <class T>
class GnnClassifier {
 public:
  // graph: the message-passing topology (destination-major, as loaded).
  GnnClassifier(ParamStore<T>& store, Rng& rng, const GnnSpec& spec, const Csr& graph);
  // sentences: a batch of complete graphs (transformer, gat and mlp only; the others need edges).
  GnnClassifier(ParamStore<T>& store, Rng& rng, const GnnSpec& spec, const Dense& sentences);
  int64_t posenc_dim() const { return pos_ ? pos_->dim() : 0; }
  // Log-probabilities [n, out_dim] (or normalised embeddings, see GnnSpec::embeddings). `key`
  // seeds this call's dropout masks.
  Var forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key,
              PositionUse use = PositionUse::Model) const;
  // selects_position(spec): the position path (the anchor branch, the positional columns or both)
  // and the plain one train together and validation sets the gate. The plain path is a GNN of its
  // own (plain_spec(spec), parameters "plain.*"), drawn first from the same generator: trained on
  // the summed loss, it is exactly the plain model of the same seed, whatever the position path does.
  bool selects_position() const { return gate_.index >= 0; }
  // The gate: whether forward(Model) uses the position path (true without selection).
  bool position_used() const;
  void set_position_used(bool on);
  // spec.batched: run on `graph` from now on (the next mini-batch of graphs), with this layer
  // type's graph cache rebuilt for it and the batch's positional rows (pe::BatchRows: each graph's
  // own LapPE and RWSE, the graphs whose anchor sets posenc_Anchor / AnchorInd draw; without
  // rows.graphs, `graph` is graph 0 alone); posenc_SPD's hop graph follows the batch. Anchor
  // branches and plain paths are computed for one graph: the constructor refuses spec.batched with
  // them. A model built on sentences takes the next batch of sentences (a Dense; its sequence
  // encodings follow the new blocks).
  void set_graph(GraphRef graph, pe::BatchRows rows = {});
  // The node representations the output is computed from, at evaluation (dropout off): the last
  // layer's input [n, width] (hidden width; with concat fusion [h ‖ Z]; a one-layer stack: the
  // input features and positional columns), or the anchor branch's output for gir / pgnn alone.
  Var embed(Tape<T>& t, const Features<T>& x) const;
  const GnnSpec& spec() const { return spec_; }
  // The anchor branch's evaluation sets; null without a branch.
  std::shared_ptr<const pe::AnchorSets> branch_eval_sets() const { return branch_ ? branch_->eval_sets() : nullptr; }

 private:
  GnnSpec spec_;
  const LayerDescriptor* layer_;  // the registry entry of spec_.layer_type
  // selects_position: the plain path (built before anything else of this model; see above).
  std::shared_ptr<GnnClassifier<T>> plain_;
  // Builds plain_ where selects_position (a Csr or the sentences); returns the generator the rest
  // of the model draws from: `rng` without a plain path, else `own`, seeded from it.
  template <class Topology>
  Rng& make_plain(ParamStore<T>& store, Rng& rng, const Topology& topology, Rng& own);
  void build(ParamStore<T>& store, Rng& rng);
  Var run(Tape<T>& t, const Features<T>& x, bool training, uint64_t key, bool embed, PositionUse use) const;
  GraphRef topology() const { return dense_ ? GraphRef(*dense_) : GraphRef(*graph_); }

  std::shared_ptr<const Csr> graph_;  // the topology the layers use (GCN: Â; GAT: with self loops)
  std::shared_ptr<Csr> batch_graph_;  // spec.batched: graph_'s object, rewritten by set_graph
  std::shared_ptr<const Dense> dense_;  // or a batch of complete graphs
  std::shared_ptr<Dense> batch_dense_;  // spec.batched on sentences: dense_'s object, rewritten by set_graph
  std::shared_ptr<pe::PositionalInputs<T>> pos_;       // appended input columns, RoPE positions
  std::shared_ptr<const std::vector<int32_t>> edge_class_;  // per edge of graph_ (transformer: SPD hop distance)
  std::shared_ptr<std::vector<int32_t>> batch_edge_class_;  // spec.batched: edge_class_'s object, rewritten by set_graph
  std::shared_ptr<const Csr> raw_;                     // the unnormalised graph (anchor branch)
  std::shared_ptr<PositionBranch<T>> branch_;
  std::shared_ptr<Linear<T>> head_pos_;                // sum-fusion / anchor-only head
  bool const_branch_input_ = false;                    // fused branch reads a constant column (position only)
  int64_t fuse_cols_ = 0;                              // input / concat fusion: Z's columns appended to a layer's input
  int fuse_at_ = -1;                                   // ... that of layers_[fuse_at_]: 0 (input) or the last (concat)
  ParamId fusion_weight_;                              // sum fusion: the weight b [1, 1] of the anchor branch
  ParamId gate_;                                       // selects_position: [1, 1], 1 = position on, 0 = off (no gradient)
  ParamStore<T>* store_ = nullptr;
  std::vector<std::unique_ptr<StackLayer<T>>> layers_;
  std::vector<Linear<T>> layer_heads_;  // gnn.head per_layer: one per representation h_0..h_L (no head in layers_)
  bool residual_stack_ = false;  // transformer: no activation between layers, dropout inside them
};

}  // namespace locus
