#include "layers/memory_estimate.hpp"

#include "layers/norm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "layers/norm.hpp"
#include "layers/positional/anchors.hpp"
#include "layers/positional/sequence.hpp"
#include "layers/registry.hpp"

namespace locus {

namespace {

constexpr double kF = 4;  // bytes per float (the model trains in float)
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string gib(double b) {
  if (b >= kGiB) return fmt::format("{:.1f} GiB", b / kGiB);
  return fmt::format("{:.0f} MiB", b / (1024.0 * 1024.0));
}

}  // namespace

std::string count_text(double x) { return x < 1e5 ? fmt::format("{:.0f}", x) : fmt::format("{:.3g}", x); }

double csr_bytes(double rows, double edges, bool weighted) {
  return 8 * (rows + 1) + 4 * edges + (weighted ? 4 * edges : 0);
}
double csr_with_reverse(double rows, double edges, bool weighted) {
  return 2 * csr_bytes(rows, edges, weighted) + 8 * edges;
}

double MemoryEstimate::total() const {
  double s = 0;
  for (const auto& i : items) s += i.bytes;
  return s;
}

std::string MemoryEstimate::summary() const {
  std::vector<const MemoryItem*> v;
  for (const auto& i : items) v.push_back(&i);
  std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->bytes > b->bytes; });
  std::string s = "estimated peak " + gib(total());
  bool first = true;
  for (auto* i : v) {
    if (i->bytes < 1024.0 * 1024.0) continue;
    s += (first ? ": " : "; ") + i->what + " " + gib(i->bytes);
    first = false;
  }
  return s;
}

int64_t bfs_depth_hint(const Csr& g) {
  const int64_t n = g.num_dst;
  if (n == 0 || g.num_src != n) return 0;
  // Out-edges of u are the rows listing u: build that adjacency once (CSR of the transpose).
  std::vector<int64_t> optr(n + 1, 0);
  for (int32_t s : g.indices) ++optr[s + 1];
  for (int64_t v = 0; v < n; ++v) optr[v + 1] += optr[v];
  std::vector<int32_t> oidx(g.indices.size());
  {
    std::vector<int64_t> pos(optr.begin(), optr.end() - 1);
    for (int64_t d = 0; d < n; ++d)
      for (int64_t j = g.indptr[d]; j < g.indptr[d + 1]; ++j) oidx[pos[g.indices[j]]++] = static_cast<int32_t>(d);
  }
  std::vector<int32_t> depth(n, -1), queue;
  queue.reserve(n);
  depth[0] = 0;
  queue.push_back(0);
  int32_t maxd = 0;
  for (size_t h = 0; h < queue.size(); ++h) {
    const int32_t u = queue[h];
    auto visit = [&](int32_t w) {
      if (depth[w] < 0) {
        depth[w] = depth[u] + 1;
        maxd = std::max(maxd, depth[w]);
        queue.push_back(w);
      }
    };
    for (int64_t j = g.indptr[u]; j < g.indptr[u + 1]; ++j) visit(g.indices[j]);
    for (int64_t j = optr[u]; j < optr[u + 1]; ++j) visit(oidx[j]);
  }
  return maxd;
}

MemoryEstimate estimate_training_memory(const GnnSpec& spec, const GraphShape& g) {
  MemoryEstimate e;
  auto add = [&](std::string what, double bytes, const char* kind) {
    if (bytes > 0) e.items.push_back(MemoryItem{std::move(what), bytes, kind});
  };
  const std::string& type = spec.layer_type;
  const bool sentences = !g.sentence_blocks.empty();
  const double n = static_cast<double>(g.num_nodes);
  const double edges = static_cast<double>(g.num_edges);
  const double mean_deg = n > 0 ? edges / n : 0;
  const int L = std::max(1, spec.layers);
  const double h = static_cast<double>(spec.hidden);
  const double out_dim = static_cast<double>(spec.out_dim);
  const pe::PosEncSpec& pe = spec.posenc;
  const pe::SeqPE seq = pe::parse_seq_pe(pe.seq);
  const LayerDescriptor& layer = layer_descriptor(type);
  const bool anchor_only = anchor_branch_alone(spec);
  const std::string branch = anchor_branch_kind(spec);
  const bool has_branch = !branch.empty();
  // posenc_Anchor / AnchorInd sets: c² for posenc_*.sizes c, else P-GNN's count for the graph
  auto sets_of = [&](int c) { return c > 0 ? double(c) * c : static_cast<double>(pe::anchor_set_count(g.num_nodes)); };
  const double K = sets_of(pe.anchor_sizes), K_ind = sets_of(pe.indication_sizes);
  double sum_sq = 0;  // Σ n_b² over the sentence blocks (every dense edge slot)
  for (int64_t b : g.sentence_blocks) sum_sq += static_cast<double>(b) * static_cast<double>(b);
  const MemoryShape shape{spec, n, edges, g.weighted, sentences, sum_sq};

  // --- Graph: the caller's Csr, the model's cached (normalised) copy and their reverse caches.
  if (!sentences && n > 0) {
    double gb = csr_bytes(n, edges, g.weighted);  // the caller's graph
    std::string what = "graph (Csr";
    if (layer.graph_memory) {  // the model's cached graph (e.g. GCN's Â), reverse cached by gspmm's backward
      const GraphMemory gm = layer.graph_memory(shape);
      gb += gm.bytes;
      if (!gm.what.empty()) what += " + " + gm.what;
    }
    if (has_branch) gb += csr_with_reverse(n, edges, g.weighted), what += " + anchor-branch copy";
    if (g.num_pairs > 0) gb += csr_bytes(n, edges, g.weighted) + 8 * edges, what += " + pair split edges";
    add(what + ")", gb, "graph");
  }

  // --- Features: the model's sparse copy (and the dataset's until it is freed), or dense.
  const double nnz = static_cast<double>(g.feature_nnz);
  const double sparse_b = 8 * nnz + 4 * (n + 1);
  double in_cols = static_cast<double>(spec.in_dim);
  if (g.dense_input) add(fmt::format("features (dense {} × {} floats)", count_text(n), spec.in_dim), 2 * sparse_b + kF * n * in_cols, "features");
  else add(fmt::format("features (sparse, {} non-zeros)", count_text(nnz)), 2 * sparse_b, "features");

  // --- Positional inputs: columns appended to the input, and the solvers that produce them.
  double pos_cols = 0;
  if (pe.lap && !sentences) {
    pos_cols += pe.lap_dim;
    const double k = pe.lap_freqs;
    const bool dense_solver = n <= 1000 || n < 2 * k + 32;  // LapPEOptions::dense_max_nodes
    const double simple = csr_bytes(n, 2 * edges, false);   // undirected_simple
    if (dense_solver)
      add(fmt::format("Laplacian PE, dense eigensolver (3 × n² doubles, n = {})", count_text(n)), 3 * 8 * n * n + simple, "laplacian");
    else {
      const double ncv = std::min(n, std::max(2 * k + 24, 48.0));
      add(fmt::format("Laplacian PE, Lanczos (n × ncv = {} × {} doubles)", count_text(n), ncv),
          8 * n * (ncv + k + 8) + simple + kF * n * k, "laplacian");
    }
  }
  if (pe.rwse && !sentences) {
    pos_cols += pe.rwse_dim;
    add(fmt::format("RWSE ({} steps)", pe.rwse_steps), 8 * n * (pe.rwse_steps + 1) * 2 + kF * n * pe.rwse_steps, "positional");
  }
  if (pe.anchor && !sentences) {
    pos_cols += pe.anchor_dim;  // values [N, K] (float) for eval and each training call, and their tape copies
    add(fmt::format("posenc_Anchor distances (N × K = {} × {})", count_text(n), K), 2 * 4 * n * K + 2 * kF * n * K, "positional");
  }
  if (pe.indication && !sentences) {
    pos_cols += K_ind;
    add("anchor indication [N, K]", 3 * kF * n * K_ind, "positional");
  }
  if (seq == pe::SeqPE::Sinusoidal || seq == pe::SeqPE::Cape || seq == pe::SeqPE::Learned || seq == pe::SeqPE::Fourier)
    pos_cols += pe.seq_dim;
  const double in = in_cols + pos_cols;

  // --- Parameters (value, gradient, Adam m and v) and the tape of one training step.
  double params = 0;
  double act = 0;           // tape floats (values + gradients) at node width
  double edge_floats = 0;   // tape floats on edges (attention coefficients)
  std::string attn_what;
  const double drop = spec.dropout > 0 ? 1 : 0;
  // Input dropout on the features: a dropped copy (+ mask) of the dense input, or of the values.
  act += g.dense_input ? (1 + drop) * n * in_cols * drop : 2 * nnz * drop;
  act += 3 * n * pos_cols;  // positional columns, their encoder output and gradient
  std::string attn_kind = "sparse_attention";
  auto tally = [&](const LayerMemory& m) {
    params += m.params;
    act += m.activations;
    edge_floats += m.edge_floats;
    if (!m.edge_what.empty()) attn_what = m.edge_what, attn_kind = m.edge_kind;
    for (const MemoryItem& i : m.items) add(i.what, i.bytes, i.kind.c_str());
  };
  const double act_before_stack = act, params_before_stack = params;
  if (layer.structure == Structure::Residual) {
    tally(layer.memory(shape, in, out_dim, true));
  } else if (layer.structure == Structure::Stack && spec.residual) {
    // Encoder, residual blocks at the hidden width w (layer, norm, activation, sum, dropout: about
    // 5 values and gradients of [n, w] beyond the layer's own), head.
    const double w = layer.hidden_width ? static_cast<double>(layer.hidden_width(spec)) : h;
    params += in * w + w + head_params(spec, w, out_dim);
    act += 2 * n * w;
    for (int l = 0; l < L; ++l) {
      tally(layer.memory(shape, w, h, false));
      params += norm_values(spec.norm, w);
      act += 10 * n * w;
    }
  } else if (layer.structure == Structure::Stack) {
    double w_in = in;
    const std::string fusion = has_branch ? fusion_mode(spec) : "";
    for (int l = 0; l < L; ++l) {
      const bool last = l + 1 == L;
      const double w_out = last ? out_dim : h;
      if ((fusion == "input" && l == 0) || (fusion == "concat" && last)) w_in += h;  // [x ‖ Z] or [h ‖ Z]
      const LayerMemory m = layer.memory(shape, w_in, w_out, last);
      tally(m);
      w_in = m.out_width > 0 ? m.out_width : w_out;
    }
  }
  // Selection (gnn.fusion_select / posenc_select) runs two stacks per step: the fused one and the
  // plain GNN beside it (its own parameters, a few fewer: no fused columns); the gate is one parameter.
  if (selects_position(spec)) act += act - act_before_stack, params += params - params_before_stack + 1;
  // --- The anchor branch.
  if (has_branch) {
    // The branch's anchors: P-GNN's K sets, or single nodes, as many as PositionBranch draws.
    const double K = anchor_nodes(spec) ? static_cast<double>(pe::anchor_node_count(g.num_nodes, spec.num_anchors))
                                        : static_cast<double>(pe::anchor_set_count(g.num_nodes));
    const double d = static_cast<double>(branch_width(spec));
    const double in_b = (anchor_only || spec.position_features) ? in : 1;
    const double entries = n * K;  // every (node, set) pair; the frontier writes each reached one once
    if (branch == "gir") {
      params += in_b * d + d + L * (2 * d * d + d) + d;
      // Anchor state (eval + one training sampling): depth [N, K], start/frontier entry lists,
      // hop graphs (≈ min(mean degree, 4) parents per entry, reverse cached), plus the BFS's
      // value/nearest and the numbering buffer while it is built.
      const double parents = std::clamp(mean_deg, 1.0, 4.0);
      const double state = entries * (4 + 8) + (spec.gir.update_reached ? 0 : entries * (16 + parents * (8 + (g.weighted ? 8 : 0) + 8)));
      add(fmt::format("GIR anchor sets and depths (N × K = {} × {} entries)", count_text(n), K), 2 * state + 12 * entries,
          "anchor_state");
      double hops;
      std::string how;
      if (spec.gir.max_hops > 0) hops = spec.gir.max_hops;
      else if (spec.gir.max_hops == 0) hops = L;
      else
        hops = g.depth_hint > 0 ? static_cast<double>(g.depth_hint)
                                : std::ceil(std::log(std::max(n, 2.0)) / std::log(std::max(mean_deg, 2.0))) + 2;
      if (!spec.gir.update_reached) {
        // Frontier rule (ops::gir_frontier): the levels' rows [N·K, d] (kept for backward, and
        // built again by each evaluation forward), and backward's two level-sized scratch buffers,
        // at most a state each: ≤ 3 state-sized buffers whatever the number of hops (measured:
        // peak RSS 2.9 GiB with one [N·K, d] state of 0.76 GiB at 100k nodes, 64 sets, d = 32,
        // with the graph, the anchor state and its hop graphs; gir_bench).
        add(fmt::format("GIR per-anchor state (frontier: 3 × N·K·d = 3 × {} × {} × {} floats)", count_text(n), K, d),
            3 * kF * entries * d, "anchor_state");
      } else {
        // Reached rule: the full [N, K·d] state is aggregated and rewritten every hop (gspmm,
        // scatter, gathers of the update set 1 ≤ depth ≤ l, which grows to every entry): about
        // 16 state-sized buffers (values + gradients) per hop, fewer in the first hops. Measured
        // on caveman graphs (3k and 10k nodes, d = 16 and 32): 24 buffers at 2 hops, 119 at 8.
        const double buffers = std::max(12.0, 16 * hops - 6);
        add(fmt::format("GIR per-anchor state (reached: (16 × {} hops − 6) × N·K·d = {} × {} × {} × {} floats)", hops,
                        buffers, count_text(n), K, d),
            buffers * kF * entries * d, "anchor_state");
      }
      act += 6 * n * d;  // xU, Z, head/fusion
    } else {
      double w = in_b;
      for (int l = 0; l < L; ++l) params += 2 * w * d + d + 2 * d + d + 1, w = d;
      add(fmt::format("P-GNN anchor distances (N × K = {} × {}, eval + training)", count_text(n), K), 2 * 8 * entries, "anchor_state");
      // Per layer: gathered h_u, scaled, repeated bias, sum, ReLU, reshape: 6 values + 6 gradients of [N·K, d].
      add(fmt::format("P-GNN per-anchor messages ({} layers × 12 × N·K·d = {} × 12 × {} × {} × {} floats)", L, L, count_text(n), K,
                      d),
          L * 12 * kF * entries * d, "anchor_state");
      act += L * 6 * n * d;
    }
    if (!anchor_only && fusion_mode(spec) == "sum") params += d * out_dim + out_dim + 1;
    if (anchor_only) params += d * out_dim + out_dim;  // head
  }
  act += 4 * n * out_dim;  // log-softmax / normalisation, loss gradient, evaluation output
  add(fmt::format("parameters + Adam state (4 × {} floats)", count_text(params)), 4 * kF * params, "params");
  add("activations + gradients (training step tape)", kF * act, "activations");
  if (edge_floats > 0) add(attn_what, kF * edge_floats, attn_kind.c_str());
  // The program, its libraries, thread stacks and allocator slack (freed tape buffers are kept
  // for reuse between epochs and the evaluation pass, core/alloc.hpp): 32 MiB + 5% (calibration).
  const double rest = e.total();
  add("runtime and allocator slack (32 MiB + 5%)", 32.0 * 1024 * 1024 + 0.05 * rest, "runtime");
  if (g.num_pairs > 0) add(fmt::format("pair split ({} pairs)", count_text(static_cast<double>(g.num_pairs))), 24.0 * static_cast<double>(g.num_pairs), "pairs");
  return e;
}

namespace {
// First number in a file, or −1 ("max" or unreadable).
double read_number(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  if (!(f >> s) || s == "max") return -1;
  try {
    return std::stod(s);
  } catch (...) {
    return -1;
  }
}
}  // namespace

double available_memory_bytes() {
  double avail = std::numeric_limits<double>::infinity();
  {
    std::ifstream f("/proc/meminfo");
    std::string key, unit;
    double kb = 0;
    while (f >> key >> kb) {
      std::getline(f, unit);
      if (key == "MemAvailable:") {
        avail = kb * 1024.0;
        break;
      }
    }
  }
  // cgroup v2: "0::/path" in /proc/self/cgroup; the limit is memory.max of that folder (or of
  // the root of the namespace, as mounted in a container).
  double limit = -1, usage = -1;
  {
    std::ifstream f("/proc/self/cgroup");
    std::string line, rel;
    while (std::getline(f, line))
      if (line.rfind("0::", 0) == 0) rel = line.substr(3);
    for (const std::string& dir : {std::string("/sys/fs/cgroup") + rel, std::string("/sys/fs/cgroup")}) {
      limit = read_number(dir + "/memory.max");
      if (limit > 0) {
        usage = read_number(dir + "/memory.current");
        break;
      }
    }
    if (limit <= 0) {  // cgroup v1
      limit = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
      usage = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
      if (limit >= 1e18) limit = -1;  // "unlimited" is a huge number in v1
    }
  }
  if (limit > 0) avail = std::min(avail, std::max(0.0, limit - std::max(0.0, usage)));
  if (!std::isfinite(avail)) avail = 1024.0 * kGiB;
  return avail;
}

double resident_memory_bytes() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "VmRSS:") {
      double kb = 0;
      f >> kb;
      return kb * 1024.0;
    }
    std::string rest;
    std::getline(f, rest);
  }
  return 0;
}

void check_memory(const MemoryEstimate& e, double limit_bytes, const GnnSpec& spec) {
  const double total = e.total();
  if (total <= limit_bytes) return;
  std::vector<const MemoryItem*> v;
  for (const auto& i : e.items) v.push_back(&i);
  std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->bytes > b->bytes; });
  std::string msg = "estimated peak memory " + gib(total) + " (";
  for (size_t i = 0; i < v.size() && i < 3; ++i) {
    if (i > 0 && v[i]->bytes < 0.05 * total) break;
    msg += (i ? "; " : "") + v[i]->what + ": " + gib(v[i]->bytes);
  }
  msg += ") exceeds the limit " + gib(limit_bytes) +
         " (train.memory_limit_mib; default: the available memory). Alternatives:";
  // Options for every item that holds a notable share, largest first, without repeats.
  std::vector<std::string> alts;
  auto offer = [&](const std::string& s) {
    if (std::find(alts.begin(), alts.end(), s) == alts.end()) alts.push_back(s);
  };
  const LayerDescriptor& layer = layer_descriptor(spec.layer_type);
  const bool anchor_only = anchor_branch_alone(spec);
  for (const MemoryItem* i : v) {
    if (i->bytes < 0.2 * total) continue;
    const std::string& k = i->kind;
    if (k == "dense_attention") {
      offer("gnn.layer_type=transformer (fused attention: no score matrix, memory O(N·heads·d))");
      offer("gnn.layer_type=transformer with posenc_seq.kind=fft_kernel (FFT attention, O(n log n) per sentence)");
      offer("fewer gnn.att_heads (now " + std::to_string(spec.att_heads) + ")");
      offer("sparse attention over a graph's edges: a dataset with an edge list (dataset.path) instead of sentences");
    } else if (k == "sparse_attention") {
      offer("fewer gnn.att_heads (now " + std::to_string(spec.att_heads) + ")");
      if (spec.posenc.spd) offer("a smaller posenc_SPD.max_dist (now " + std::to_string(spec.posenc.spd_max_dist) + ") or posenc_SPD.enable=false");
      offer("gnn.layer_type=gcn or sage (no per-edge coefficients)");
    } else if (k == "anchor_state") {
      if (spec.gir.update_reached) offer("gnn.gir_update=frontier (each anchor entry written once: memory independent of the hops)");
      if (spec.gir.update_reached && spec.gir.max_hops != 0) offer("gnn.gir_hops=0 (propagate gnn.layers_mp hops only)");
      offer("a smaller gnn.branch_dim (now " + std::to_string(branch_width(spec)) +
            "; the anchor state is N × K × branch_dim with K = ⌊log₂ N⌋² anchor sets, or gnn.num_anchors single nodes)");
      if (anchor_nodes(spec)) offer("a smaller gnn.num_anchors (single-node anchors; 0: ⌊log₂ N⌋², or more on small graphs)");
      if (!anchor_only) offer("gnn.position=none (no anchor branch)");
      else offer("gnn.layer_type=gcn with posenc_Anchor.enable=true (anchor distances as input columns, O(N·K))");
    } else if (k == "laplacian") {
      offer("a smaller posenc_LapPE.eigen.max_freqs (now " + std::to_string(spec.posenc.lap_freqs) + ")");
      offer("posenc_LapPE.enable=false or posenc_RWSE.enable=true instead");
    } else if (k == "positional") {
      offer("fewer positional encodings (posenc_Anchor.enable / posenc_AnchorInd.enable / posenc_RWSE.enable=false)");
    } else if (k == "activations" || k == "params") {
      offer("a smaller gnn.dim_inner (now " + std::to_string(spec.hidden) + ") or fewer gnn.layers_mp (now " +
            std::to_string(spec.layers) + ")");
      if (layer.reads("gnn.att_heads")) offer("fewer gnn.att_heads (now " + std::to_string(spec.att_heads) + ")");
    } else if (k == "graph" || k == "features") {
      offer("a smaller graph (this one alone needs " + gib(i->bytes) + ")");
    }
  }
  offer("train.memory_limit_mib=<MiB> to set the limit explicitly (e.g. when swap is acceptable)");
  for (size_t i = 0; i < alts.size(); ++i) msg += (i ? "; " : " ") + alts[i];
  msg += ".";
  throw InputError(msg);
}

}  // namespace locus
