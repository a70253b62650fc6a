// The layer registry: one descriptor per layer type (name, formula, topologies, partitioned
// training, graph cache, factory, memory-estimate hook, options). GnnClassifier, the config's
// choices, `locus compare`, `locus layers`, the memory estimate and the tests all read it. A
// program adds its own layer with register_layer() and can then name it in a YAML config.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "layers/gnn.hpp"
#include "layers/memory_estimate.hpp"

namespace locus {

// What a layer type's factory receives for one layer of the stack.
template <class T>
struct LayerArgs {
  using value_type = T;
  ParamStore<T>& store;
  Rng& rng;
  const GnnSpec& spec;
  GraphRef graph;    // the model's cached graph (LayerDescriptor::graph), or the sentences
  std::string name;  // parameter prefix, e.g. "layer0"
  int64_t in = 0;    // input columns
  int64_t out = 0;   // output columns (gat: per head)
  bool last = false;   // the stack's last layer
  bool decay = true;   // weight decay on its parameters
};

// One built layer and the width the next layer reads (gat: heads × out when concatenated).
template <class T>
struct BuiltLayer {
  std::unique_ptr<StackLayer<T>> layer;
  int64_t out_dim = 0;
};

template <class T>
using LayerFactory = std::function<BuiltLayer<T>(const LayerArgs<T>&)>;

// The graph a layer type runs on, built once per model from the loaded graph (a rank's part
// linked to its halo under partitioned training: GnnSpec::partition).
struct GraphCache {
  std::shared_ptr<const Csr> graph;
  std::shared_ptr<const std::vector<int32_t>> edge_class;  // per edge of graph (transformer's SPD hop distance)
};

// Sizes the memory estimate (layers/memory_estimate.hpp) hands to a layer type's hooks.
struct MemoryShape {
  const GnnSpec& spec;
  double n = 0, edges = 0;  // nodes; directed edges as stored (0 for sentences)
  bool weighted = false;
  bool sentences = false;   // a batch of complete graphs
  double sum_sq = 0;        // Σ n_b² over the sentence blocks
};

// What one layer (Structure::Stack) or the whole stack (Structure::Residual) holds during a
// training step, counted in floats; out_width is the next layer's input width (0: `out`).
struct LayerMemory {
  double params = 0, activations = 0, edge_floats = 0;
  double out_width = 0;
  std::string edge_what;  // edge_floats' description, and
  std::string edge_kind;  // their kind: sparse_attention | dense_attention (MemoryItem::kind)
  std::vector<MemoryItem> items;  // further items (e.g. a hop graph)
};

// The model cached graph's bytes beyond the loaded Csr, and what to call it ("normalised Â").
struct GraphMemory {
  double bytes = 0;
  std::string what;
};

enum class Structure {
  Stack,       // dropout, layer, activation, ... (gcn, sage, gin, gat, mlp)
  Residual,    // Linear encoder, residual layers at the hidden width (dropout inside), Linear head
  AnchorOnly,  // the anchor branch alone with a Linear head (gir, pgnn): no factory
};

struct LayerDescriptor {
  std::string name;     // the gnn.layer_type value
  std::string summary;  // one line: what it is and where it comes from
  std::string formula;  // one line, e.g. "h'_v = Σ_u Â_vu h_u W + b"
  bool csr = true;      // runs on an edge-list graph
  bool dense = false;   // runs on sentences (complete graphs)
  bool distributed = false;  // supported by partitioned training (dataset.partitions)
  Structure structure = Structure::Stack;
  // A hidden (not last) layer's output width (null: gnn.dim_inner); gat: heads × dim_inner. A
  // residual stack (gnn.residual) runs at this width.
  std::function<int64_t(const GnnSpec& spec)> hidden_width;
  // Config keys it reads beyond gnn.layers_mp, gnn.dim_inner, gnn.act and gnn.dropout.
  std::vector<std::string> options;
  // The graph it runs on (null: none, e.g. mlp); `graph` is the loaded one.
  std::function<GraphCache(const Csr& graph, const GnnSpec& spec)> graph;
  LayerFactory<float> make_float;
  LayerFactory<double> make_double;
  std::function<GraphMemory(const MemoryShape&)> graph_memory;  // null: no cached copy
  // Stack: called per layer (in, out: its widths; last); Residual: once (in: the input width,
  // out: the model's output width).
  std::function<LayerMemory(const MemoryShape&, double in, double out, bool last)> memory;

  // Both factories from one generic lambda taking `const LayerArgs<T>&`.
  template <class F>
  void set_factory(F f) {
    make_float = f;
    make_double = f;
  }
  template <class T>
  const LayerFactory<T>& factory() const {
    if constexpr (std::is_same_v<T, float>) return make_float;
    else return make_double;
  }
  bool reads(const std::string& key) const;  // `key` is among options
};

// Every registered type, built-ins first (in the order of layer_names()).
const std::vector<LayerDescriptor>& layer_registry();
// The registered names, in registry order.
std::vector<std::string> layer_names();
// The descriptor of `name`, or null.
const LayerDescriptor* find_layer(const std::string& name);
// The descriptor of `name`; InputError naming the registered types (and the nearest) otherwise.
const LayerDescriptor& layer_descriptor(const std::string& name);
// The graph hooks of a type that runs on the graph as loaded (sage, gin, graphconv): a shared
// copy of it (on a rank's part, still linked to its halo), and that copy's memory.
GraphCache graph_as_loaded(const Csr& graph, const GnnSpec& spec);
GraphMemory graph_as_loaded_memory(const MemoryShape& shape);

// Adds a layer type (e.g. from a program's own source file: `static const bool r =
// register_layer(my_layer());`). InputError when the name is taken or a Stack/Residual type
// has no factory. Returns true, so it can initialise a static.
bool register_layer(LayerDescriptor d);

// Adapts a layer object to StackLayer by the forward it has:
//   forward(t, GraphRef, Features, training, key)        (gat)
//   forward(t, GraphRef, Var, training, key, extras)      (transformer)
//   forward(t, const Csr&, Features)                      (gcn, sage, gin, graphconv)
//   forward(t, Features)                                  (linear)
template <class T, class Layer>
struct LayerAdapter : StackLayer<T> {
  Layer layer;
  GraphRef g;
  LayerAdapter(Layer l, GraphRef graph) : layer(std::move(l)), g(graph) {}
  Var forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key) const override {
    if constexpr (requires { layer.forward(t, g, x, training, key); }) return layer.forward(t, g, x, training, key);
    else if constexpr (requires { layer.forward(t, g, x.var, training, key, this->extras); })
      return layer.forward(t, g, x.var, training, key, this->extras);
    else if constexpr (requires { layer.forward(t, *g.csr, x); }) return layer.forward(t, *g.csr, x);
    else if constexpr (requires { layer.forward(t, x, training, key); }) return layer.forward(t, x, training, key);
    else return layer.forward(t, x);
  }
};

// A BuiltLayer of `layer` (output width `out_dim`) on the args' graph.
template <class T, class Layer>
BuiltLayer<T> built_layer(Layer layer, const LayerArgs<T>& a, int64_t out_dim) {
  return {std::make_unique<LayerAdapter<T, Layer>>(std::move(layer), a.graph), out_dim};
}

// Factory of a layer class whose constructor is (store, rng, name, in, out, decay), as
// GcnConv, SageConv, GinConv and GraphConv.
template <template <class> class Layer>
void set_simple_factory(LayerDescriptor& d) {
  d.set_factory([](const auto& a) {
    using T = typename std::decay_t<decltype(a)>::value_type;
    return built_layer<T>(Layer<T>(a.store, a.rng, a.name, a.in, a.out, a.decay), a, a.out);
  });
}

}  // namespace locus
