#include "layers/gated_gcn.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/edge.hpp"
#include "core/ops/message.hpp"
#include "layers/memory_estimate.hpp"
#include "layers/registry.hpp"

namespace locus {

namespace {

// Layers other than the first of a gatedgcn stack: the first one runs the whole stack (it carries
// the edge state), these hand its output on.
template <class T>
struct PassThrough {
  Var forward(Tape<T>&, const Features<T>& x) const { return x.var; }
};

}  // namespace

Csr gated_gcn_graph(const Csr& g) {
  Csr out = g;
  out.weights.clear();
  return out;
}

template <class T>
GatedGcnLayer<T>::GatedGcnLayer(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t dim,
                                GatedGcnOptions opt, bool decay)
    : store_(&store),
      opt_(opt),
      dim_(dim),
      a_(store, rng, name + ".A", dim, dim, true, decay),
      b_(store, rng, name + ".B", dim, dim, true, decay),
      c_(store, rng, name + ".C", dim, dim, true, decay),
      d_(store, rng, name + ".D", dim, dim, true, decay),
      e_(store, rng, name + ".E", dim, dim, true, decay) {
  check(dim >= 1, "GatedGcnLayer: width must be positive");
  const char* which[2] = {".norm_h", ".norm_e"};
  for (int i = 0; i < (opt.update_edges ? 2 : 1); ++i) norm_[i] = Norm<T>(store, rng, name + which[i], dim, opt.norm);
}

template <class T>
GatedGcnState GatedGcnLayer<T>::forward(Tape<T>& t, const Csr& g, Var h, Var e, bool training, uint64_t key) const {
  const int64_t n = g.num_dst, edges = g.num_edges();
  check(g.num_src == n, "GatedGcnLayer: the graph must be square (sources and destinations are the same nodes)");
  if (t.rows(h) != n || t.cols(h) != dim_)
    throw ShapeError(fmt::format("GatedGcnLayer: h must be [{}, {}], got [{}, {}]", n, dim_, t.rows(h), t.cols(h)));
  if (t.rows(e) != edges || t.cols(e) != dim_)
    throw ShapeError(fmt::format("GatedGcnLayer: e must be [{}, {}] (one row per edge), got [{}, {}]", edges, dim_,
                                 t.rows(e), t.cols(e)));
  const GraphRef gr(g);
  const Features<T> hin{h, nullptr};
  const Var ah = a_.forward(t, hin), bh = b_.forward(t, hin), dh = d_.forward(t, hin), eh = e_.forward(t, hin);
  // ê_ij = C e_ij + D h_i + E h_j   [E, d]  (i = destination: a_dst = D h, a_src = E h)
  const Var e_hat = ops::gsddmm_add(t, gr, eh, dh, t.transient(c_.forward(t, Features<T>{e, nullptr})));
  // h̃_i = A h_i + Σ_{j→i} σ(ê_ij) ⊙ B h_j / (Σ_{j→i} σ(ê_ij) + 1e-6)   (no in-edges: h̃_i = A h_i)
  const Var h_tilde = ops::add(t, ah, ops::gated_sum(t, g, bh, e_hat, 1e-6));
  const uint64_t kh = splitmix64(key + 1), ke = splitmix64(key + 2);
  GatedGcnState out;
  // h ← h + dropout(act(Norm(h̃)))
  out.h = ops::add(t, h, ops::dropout(t, ops::activation(t, norm_[0].forward(t, h_tilde, training), opt_.act), opt_.dropout, kh, training));
  if (!opt_.update_edges) return out;
  // e ← e + dropout(act(Norm(ê))); a graph without edges keeps its empty state (BatchNorm needs rows).
  if (edges == 0) {
    out.e = e;
    return out;
  }
  out.e = ops::add(t, e, ops::dropout(t, ops::activation(t, norm_[1].forward(t, e_hat, training), opt_.act), opt_.dropout, ke, training));
  return out;
}

template <class T>
GatedGcnStack<T>::GatedGcnStack(ParamStore<T>& store, Rng& rng, const std::string& prefix, int layers, int64_t dim,
                                GatedGcnOptions opt, bool decay)
    : edge_encoder_(store, rng, prefix + "edge_encoder", 1, dim, true, decay) {
  check(layers >= 1, "GatedGcnStack: at least one layer");
  layers_.reserve(static_cast<size_t>(layers));
  for (int l = 0; l < layers; ++l) {
    GatedGcnOptions o = opt;
    o.update_edges = l + 1 < layers;  // the last layer's edge state would never be read
    layers_.emplace_back(store, rng, prefix + "layer" + std::to_string(l), dim, o, decay);
  }
}

template <class T>
Var GatedGcnStack<T>::forward(Tape<T>& t, GraphRef g, const Features<T>& x, bool training, uint64_t key) const {
  if (!g.csr) throw InputError("gatedgcn needs an edge-list graph (it keeps a state per edge), not sentences");
  check(!x.is_sparse() && !x.has_extra(), "GatedGcnStack: the input must be one dense matrix (the encoder's output)");
  const Csr& c = *g.csr;
  // e⁰ = 1 · W_e + b_e for every edge   [E, d]
  Var e = edge_encoder_.forward(t, Features<T>{t.constant(MatT<T>::Ones(c.num_edges(), 1)), nullptr});
  Var h = x.var;
  for (size_t l = 0; l < layers_.size(); ++l) {
    auto scope = t.scope("gatedgcn " + std::to_string(l + 1));
    const GatedGcnState s = layers_[l].forward(t, c, h, e, training, splitmix64(key + l));
    h = s.h;
    e = s.e;
  }
  return h;
}

template class GatedGcnLayer<float>;
template class GatedGcnLayer<double>;
template class GatedGcnStack<float>;
template class GatedGcnStack<double>;

LayerDescriptor gated_gcn_layer() {
  LayerDescriptor d;
  d.name = "gatedgcn";
  d.summary = "Residual gated graph ConvNet with edge states (Bresson & Laurent 2017; benchmarking-gnns' GatedGCN)";
  d.formula = "ê_ij = C e_ij + D h_i + E h_j,  h_i += act(Norm(A h_i + Σ_j σ(ê_ij) ⊙ B h_j / (Σ_j σ(ê_ij) + 1e-6))),  "
              "e_ij += act(Norm(ê_ij))";
  d.structure = Structure::Residual;
  d.options = {"gnn.norm"};
  d.graph = [](const Csr& g, const GnnSpec&) { return GraphCache{std::make_shared<const Csr>(gated_gcn_graph(g)), nullptr}; };
  d.graph_memory = [](const MemoryShape& s) { return GraphMemory{csr_with_reverse(s.n, s.edges, false), "unweighted copy"}; };
  // GnnClassifier asks for one layer at a time; the first builds the whole stack (the edge state
  // passes from layer to layer inside it) and the others pass its output on.
  d.set_factory([](const auto& a) {
    using T = typename std::decay_t<decltype(a)>::value_type;
    const GnnSpec& spec = a.spec;
    if (a.name != spec.param_prefix + "layer0") return built_layer<T>(PassThrough<T>{}, a, a.in);
    check(a.in == a.out, "gatedgcn: the residual layers keep the width (in " + std::to_string(a.in) + ", out " +
                             std::to_string(a.out) + ")");
    GatedGcnOptions opt;
    opt.norm = parse_norm(spec.norm);
    opt.dropout = spec.dropout;
    opt.act = spec.act;
    return built_layer<T>(GatedGcnStack<T>(a.store, a.rng, spec.param_prefix, spec.layers, a.in, opt, a.decay), a, a.in);
  });
  d.memory = [](const MemoryShape& s, double in, double out_dim, bool) {
    const GnnSpec& spec = s.spec;
    const double n = s.n, E = s.edges, d = static_cast<double>(spec.hidden);
    const double L = std::max(1, spec.layers);
    const double norms = norm_values(spec.norm, d) * (2 * L - 1);  // node norm per layer, edge norm but the last
    LayerMemory m;
    m.params = in * d + d + 2 * d + L * 5 * (d * d + d) + norms + head_params(spec, d, out_dim);
    // Encoder + head; per layer and node: A h, B h, D h, E h, the gated mean and its sums, h̃, Norm,
    // act, dropout (+ mask), the residual sum: ~12 values of width d, and a few live gradients
    // (backward frees each op's gradient once spent).
    m.activations = n * (4 * d + 4 * out_dim) + L * n * 12 * d + 4 * n * d;
    // Per layer and edge, values: C e, ê = C e + D h_i + E h_j, σ (3), and but in the last layer
    // Norm, act, dropout (+ mask), the residual sum (5); the edge encoder's state (1); and the
    // gradients live at once during backward (~3).
    m.edge_floats = E * d * (3 * L + 5 * (L - 1) + 1 + 3) + E;
    m.edge_what = fmt::format("edge states ({} layers × {} edges × {} floats)", static_cast<int>(L), count_text(E),
                              count_text(d * 8));
    m.edge_kind = "activations";  // fewer or narrower layers are the remedy
    return m;
  };
  return d;
}

}  // namespace locus
