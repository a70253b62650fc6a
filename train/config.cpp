// The config schema: each key once, with its reader, writer, JSON value and documentation.
//
// Reading rules (shared with dataset files through core/yaml_input.hpp): booleans true/false,
// yes/no, on/off in any case; whole numbers and numbers with an optional sign; an empty or null
// value unsets a text key and is an error for any other. Choices are case-sensitive (the hint
// compares case-insensitively).
#include "train/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include <fmt/format.h>

#include "core/ops/attention.hpp"
#include "core/text.hpp"
#include "core/yaml_input.hpp"
#include "datasets/builtin.hpp"
#include "datasets/reorder.hpp"
#include "layers/positional/sequence.hpp"
#include "layers/registry.hpp"
#include "layers/transformer.hpp"

namespace locus {
namespace {

using nlohmann::json;

// Deeper stacks are a typo, not a model: refusing them keeps a stray digit from allocating a
// hundred thousand layers.
constexpr int kMaxLayers = 1000;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

[[noreturn]] void bad(const std::string& key, const std::string& problem, const std::string& fix) {
  throw ConfigError(ConfigProblem{key, problem, fix, ""});
}

// The scalar text of a value, or an error saying what was expected (`what`, e.g. "a whole number").
std::string scalar_text(const std::string& key, const YAML::Node& v, const std::string& what, const std::string& fix) {
  if (v.IsNull()) bad(key, "missing value for", fix);
  if (!v.IsScalar()) bad(key, key + " must be " + what + ", got", fix);
  return v.Scalar();
}

// A field of the config, as a plain function from the config to a reference.
template <class F>
using Field = F& (*)(ExperimentConfig&);

template <class F>
const F& get(Field<F> field, const ExperimentConfig& c) {
  return field(const_cast<ExperimentConfig&>(c));  // the accessor only names the field
}

// ---- key builders ------------------------------------------------------------------------------

ConfigKey new_key(std::string name, const char* type, std::string doc, std::string range = {}) {
  ConfigKey k;
  k.name = std::move(name);
  k.type = type;
  k.doc = std::move(doc);
  k.range = std::move(range);
  return k;
}

// Writers of a key stored as a plain value: text as key=value writes it (numbers in their shortest
// round-trip form, booleans as true/false), JSON as its own type.
template <class F>
void plain_writers(ConfigKey& k, Field<F> field) {
  k.text = [field](const ExperimentConfig& c) { return fmt::format("{}", get(field, c)); };
  k.json = [field](const ExperimentConfig& c) { return json(get(field, c)); };
}

template <class I>
ConfigKey integer(std::string name, std::string doc, Field<I> field, int64_t lo, int64_t example,
                  int64_t hi = std::numeric_limits<int>::max()) {
  ConfigKey k = new_key(std::move(name), "integer", std::move(doc),
                        hi < std::numeric_limits<int>::max() ? fmt::format("{}..{}", lo, hi) : fmt::format(">= {}", lo));
  k.read = [key = k.name, field, lo, example, hi](ExperimentConfig& c, const YAML::Node& v) {
    const std::string fix = "set " + key + " to a whole number >= " + std::to_string(lo) +
                            (hi < std::numeric_limits<int>::max() ? " and <= " + std::to_string(hi) : "") +
                            ", e.g. " + std::to_string(example);
    const std::string text = scalar_text(key, v, "a whole number", fix);
    bool too_large = false;
    const std::optional<int64_t> x = yaml_int(text, &too_large);
    if (too_large || (x && *x > hi)) bad(key, key + " is too large (at most " + std::to_string(hi) + "), got", fix);
    if (!x) bad(key, key + " must be a whole number, got", fix);
    if (*x < lo) bad(key, key + " must be >= " + std::to_string(lo) + ", got", fix);
    field(c) = static_cast<I>(*x);
  };
  plain_writers(k, field);
  return k;
}

ConfigKey seed_key(std::string name, std::string doc, Field<uint64_t> field) {
  ConfigKey k = new_key(std::move(name), "integer", std::move(doc), ">= 0");
  // All of uint64 (not yaml_int's int64): any 64-bit seed.
  k.read = [key = k.name, field](ExperimentConfig& c, const YAML::Node& v) {
    const std::string fix = "set " + key + " to a whole number >= 0, e.g. 0";
    const std::string text = scalar_text(key, v, "a whole number", fix);
    std::string_view s = text;
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    const bool negative = s.size() > 1 && s.front() == '-';
    if (negative) s.remove_prefix(1);
    unsigned long long x = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (s.empty() || end != s.data() + s.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
      bad(key, key + " must be a whole number, got", fix);
    if (negative && (x != 0 || ec != std::errc())) bad(key, key + " must be >= 0, got", fix);
    if (ec == std::errc::result_out_of_range)
      bad(key, key + " is too large (at most " + std::to_string(std::numeric_limits<uint64_t>::max()) + "), got", fix);
    field(c) = x;
  };
  plain_writers(k, field);
  return k;
}

// A finite number with `ok`; `range` is shown to the user ("in [0, 1)", "> 0").
ConfigKey number(std::string name, std::string doc, Field<double> field, bool (*ok)(double), std::string range,
                 std::string example) {
  ConfigKey k = new_key(std::move(name), "number", std::move(doc), range);
  k.read = [key = k.name, field, ok, range, example](ExperimentConfig& c, const YAML::Node& v) {
    const std::string fix = "set " + key + " to a number " + range + ", e.g. " + example;
    const std::optional<double> x = yaml_number(scalar_text(key, v, "a number", fix));
    if (!x) bad(key, key + " must be a number, got", fix);
    if (!std::isfinite(*x)) bad(key, key + " must be a finite number, got", fix);
    if (!ok(*x)) bad(key, key + " must be " + range + ", got", fix);
    field(c) = *x;
  };
  plain_writers(k, field);
  return k;
}

ConfigKey boolean(std::string name, std::string doc, Field<bool> field) {
  ConfigKey k = new_key(std::move(name), "boolean", std::move(doc), "true, false");
  k.read = [key = k.name, field](ExperimentConfig& c, const YAML::Node& v) {
    const std::string fix = "set " + key + " to true or false";
    const std::optional<bool> b = yaml_bool(scalar_text(key, v, "true or false", fix));
    if (!b) bad(key, key + " must be true or false, got", fix);
    field(c) = *b;
  };
  plain_writers(k, field);
  return k;
}

// One of `allowed()`; the value is stored through `store` and read back through `load`.
ConfigKey choice_key(std::string name, std::string doc, std::function<std::vector<std::string>()> allowed,
                     std::function<void(ExperimentConfig&, const std::string&)> store,
                     std::function<std::string(const ExperimentConfig&)> load) {
  ConfigKey k = new_key(std::move(name), "choice", std::move(doc));
  k.choices = allowed;
  k.read = [key = k.name, allowed, store](ExperimentConfig& c, const YAML::Node& v) {
    const std::vector<std::string> names = allowed();
    const std::string list = join(names);
    const std::string text = scalar_text(key, v, "one of " + list, "set " + key + " to one of " + list);
    if (std::find(names.begin(), names.end(), text) == names.end()) {
      std::vector<std::string> lowered;
      for (const auto& a : names) lowered.push_back(lower(a));
      const std::string near = nearest(lower(text), lowered);
      bad(key, key + " must be one of " + list + ", got",
          near.empty() ? "choose one of " + list : "did you mean '" + near + "'? (allowed: " + list + ")");
    }
    store(c, text);
  };
  k.text = load;
  k.json = [load](const ExperimentConfig& c) { return json(load(c)); };
  return k;
}

// A choice stored as the text itself.
ConfigKey choice(std::string name, std::string doc, std::function<std::vector<std::string>()> allowed,
                 Field<std::string> field) {
  return choice_key(
      std::move(name), std::move(doc), std::move(allowed), [field](ExperimentConfig& c, const std::string& s) { field(c) = s; },
      [field](const ExperimentConfig& c) { return get(field, c); });
}
ConfigKey choice(std::string name, std::string doc, std::vector<std::string> allowed, Field<std::string> field) {
  return choice(std::move(name), std::move(doc), [allowed] { return allowed; }, field);
}

// A choice stored as a value of another type (an enum, a flag): names[i] ↔ values[i].
template <class V>
ConfigKey mapped(std::string name, std::string doc, std::vector<std::pair<std::string, V>> table, Field<V> field) {
  auto names = [table] {
    std::vector<std::string> n;
    for (const auto& [s, v] : table) n.push_back(s);
    return n;
  };
  return choice_key(
      std::move(name), std::move(doc), names,
      [table, field](ExperimentConfig& c, const std::string& s) {
        for (const auto& [n, v] : table)
          if (n == s) field(c) = v;
      },
      [table, field](const ExperimentConfig& c) {
        for (const auto& [n, v] : table)
          if (v == get(field, c)) return n;
        return std::string("?");
      });
}

// auto | true | false, auto left to the task (Toggle).
ConfigKey toggle(std::string name, std::string doc, Field<Toggle> field) {
  return mapped<Toggle>(std::move(name), std::move(doc), {{"auto", Toggle::Auto}, {"true", Toggle::On}, {"false", Toggle::Off}},
                        field);
}

// A free-form string (a name or a path); null or empty leaves it unset.
ConfigKey text(std::string name, std::string doc, Field<std::string> field, std::string example) {
  ConfigKey k = new_key(std::move(name), "text", std::move(doc));
  k.read = [key = k.name, field, example](ExperimentConfig& c, const YAML::Node& v) {
    if (v.IsNull()) {
      field(c).clear();
      return;
    }
    if (!v.IsScalar()) bad(key, key + " must be a single string, got", "write " + key + " as one plain value, e.g. " + example);
    field(c) = v.Scalar();
  };
  plain_writers(k, field);
  return k;
}

// A list of plain words: a YAML sequence ([gcn, gcn+LapPE]) or one comma-separated scalar
// ("gcn,gcn+LapPE", handy on the command line).
ConfigKey word_list(std::string name, std::string doc, Field<std::vector<std::string>> field, std::string example) {
  ConfigKey k = new_key(std::move(name), "list", std::move(doc));
  k.read = [key = k.name, field, example](ExperimentConfig& c, const YAML::Node& v) {
    const std::string fix = "write " + key + " as a list of names, e.g. [" + example + "]";
    if (v.IsNull()) bad(key, "missing value for", fix);
    std::vector<std::string> out;
    auto add = [&](const std::string& word) {
      const std::string w = trim(word);
      if (w.empty()) bad(key, "empty name in " + key + ":", fix);
      out.push_back(w);
    };
    if (v.IsSequence()) {
      for (const auto& item : v) {
        if (!item.IsScalar()) bad(key, key + " must list plain names, got", fix);
        add(item.Scalar());
      }
    } else if (v.IsScalar()) {
      const std::string s = v.Scalar();
      for (size_t start = 0;;) {
        const size_t comma = s.find(',', start);
        add(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else {
      bad(key, key + " must be a list, got", fix);
    }
    if (out.empty()) bad(key, key + " is empty:", fix);
    field(c) = std::move(out);
  };
  k.text = [field](const ExperimentConfig& c) { return join(get(field, c), ","); };
  k.json = [field](const ExperimentConfig& c) { return json(get(field, c)); };
  return k;
}

ConfigKey not_results(ConfigKey k) {
  k.results = false;
  return k;
}

bool probability(double x) { return x >= 0 && x < 1; }
bool non_negative(double x) { return x >= 0; }
bool positive(double x) { return x > 0; }
bool unit_open(double x) { return x > 0 && x < 1; }

std::vector<std::string> position_choices() {
  std::vector<std::string> kinds{"none"};
  for (auto& k : position_branch_kinds()) kinds.push_back(k);
  return kinds;
}

std::vector<ConfigKey> make_schema() {
  using C = ExperimentConfig;
  const std::vector<std::pair<std::string, ops::Act>> acts = [] {
    std::vector<std::pair<std::string, ops::Act>> t;
    for (const auto& n : ops::act_names()) t.emplace_back(n, ops::parse_act(n.c_str()));
    return t;
  }();
  const std::vector<std::pair<std::string, OptimKind>> optimizers = [] {
    std::vector<std::pair<std::string, OptimKind>> t;
    for (const auto& n : optim_kind_names()) t.emplace_back(n, parse_optim_kind(n));
    return t;
  }();
  return {
      // dataset
      text("dataset.path", "a dataset YAML (schema: docs/datasets.md); exactly one of dataset.path / dataset.name",
           [](C& c) -> std::string& { return c.dataset.path; }, "path/to/dataset.yaml"),
      [] {
        ConfigKey k = text("dataset.name", "a built-in dataset (no files needed); exactly one of dataset.path / dataset.name",
                           [](C& c) -> std::string& { return c.dataset.name; }, "karate");
        k.range = join(builtin_dataset_names());
        return k;
      }(),
      choice("dataset.task", "auto: the dataset's own task; or node_classification, link_prediction, pair_classification",
             {"auto", "node_classification", "link_prediction", "pair_classification"},
             [](C& c) -> std::string& { return c.dataset.task; }),
      choice("dataset.feature_norm", "row: divide each feature row by its sum", {"none", "row"},
             [](C& c) -> std::string& { return c.dataset.feature_norm; }),
      choice("dataset.features",
             "file: the dataset's features (one-hot node ids when it has none); identity: one-hot node ids; "
             "constant: one column of ones (the graph's structure and position alone)",
             {"file", "identity", "constant"}, [](C& c) -> std::string& { return c.dataset.features; }),
      choice("dataset.reorder",
             "renumber a graph's nodes for memory locality before training (rcm: reverse Cuthill-McKee, degree: "
             "hubs first, metis: nested dissection); outputs stay in the dataset's ids",
             reorder_names, [](C& c) -> std::string& { return c.dataset.reorder; }),
      text("dataset.partitions", "a `locus partition` folder: train on its P parts under `mpirun -np P`",
           [](C& c) -> std::string& { return c.dataset.partitions; }, "path/to/dir"),
      // gnn
      choice("gnn.layer_type", "the message-passing layer (`locus layers` lists them), or gir / pgnn alone", layer_names,
             [](C& c) -> std::string& { return c.gnn.layer_type; }),
      integer<int>("gnn.layers_mp", "message-passing layers", [](C& c) -> int& { return c.gnn.layers; }, 1, 2, kMaxLayers),
      integer<int64_t>("gnn.dim_inner", "hidden width (gat: per head)", [](C& c) -> int64_t& { return c.gnn.hidden; }, 1, 16),
      mapped<ops::Act>("gnn.act", "activation between layers (transformer: the FFN's; gatedgcn: in its residual branches)", acts,
                       [](C& c) -> ops::Act& { return c.gnn.act; }),
      number("gnn.dropout", "dropout before every layer, inputs included (transformer, gatedgcn: inputs and residual branches; "
             "gnn.residual: inputs and each block's output)",
             [](C& c) -> double& { return c.gnn.dropout; }, probability, "in [0, 1)", "0.5"),
      integer<int64_t>("gnn.att_heads", "gat: heads of the hidden layers (concatenated); transformer: heads",
                       [](C& c) -> int64_t& { return c.gnn.att_heads; }, 1, 8),
      integer<int64_t>("gnn.att_heads_out", "gat: heads of the last layer (averaged)",
                       [](C& c) -> int64_t& { return c.gnn.att_heads_out; }, 1, 1),
      number("gnn.att_dropout", "gat, transformer: dropout on attention coefficients",
             [](C& c) -> double& { return c.gnn.att_dropout; }, probability, "in [0, 1)", "0.6"),
      number("gnn.att_value_dropout", "gat: dropout on the transformed features before aggregation (the GAT authors' code)",
             [](C& c) -> double& { return c.gnn.att_value_dropout; }, probability, "in [0, 1)", "0.6"),
      choice("gnn.att_norm", "transformer on sentences: softmax, or l2 (weights of unit 2-norm instead of unit sum)",
             attn_norm_names, [](C& c) -> std::string& { return c.gnn.att_norm; }),
      number("gnn.att_clamp", "transformer: clamp attention scores to ±value before the softmax (0: off)",
             [](C& c) -> double& { return c.gnn.att_clamp; }, non_negative, ">= 0 (0 disables)", "5"),
      choice("gnn.norm",
             "transformer, gatedgcn, gnn.residual stacks: normalisation of the residual blocks (BatchNorm over a "
             "batch's nodes; the benchmarking-GNNs models: batch)",
             norm_names, [](C& c) -> std::string& { return c.gnn.norm; }),
      choice("gnn.head",
             "residual stacks (gnn.residual, transformer, gatedgcn): the output map, linear, mlp (benchmarking-GNNs' "
             "MLPReadout: d → d/2 → d/4 → out, ReLU between) or per_layer (Σ_l Linear_l(h_l) over the encoder's and "
             "every layer's output, the benchmark's GIN)",
             head_names(), [](C& c) -> std::string& { return c.gnn.head; }),
      boolean("gnn.residual",
              "stacked layer types (not transformer / gatedgcn, residual already): Linear encoder, each layer as h ← "
              "dropout(h + act(norm(layer(h)))) (gnn.norm) at the hidden width, Linear head",
              [](C& c) -> bool& { return c.gnn.residual; }),
      boolean("gnn.pre_norm", "transformer: pre-norm instead of post-norm residual blocks",
              [](C& c) -> bool& { return c.gnn.pre_norm; }),
      choice("gnn.position", "an anchor branch fused with the GNN", position_choices,
             [](C& c) -> std::string& { return c.gnn.position; }),
      choice("gnn.fusion",
             "input: the first GNN layer reads [x ‖ Z] (Z: the anchor branch's output); concat: the last layer reads "
             "[h ‖ Z]; sum: GNN(x) + b·Linear(Z), b learnt from 1; auto: input where gnn.fusion_select is in force, "
             "else concat",
             fusion_names(), [](C& c) -> std::string& { return c.gnn.fusion; }),
      toggle("gnn.fusion_select",
             "fused anchor branch: train the plain GNN (its own parameters, plain.*) beside the fused one and let validation choose "
             "at every evaluation which one the model uses, so that a branch that does not help is dropped. auto: "
             "true for node classification, false for pair tasks",
             [](C& c) -> Toggle& { return c.gnn.fusion_select; }),
      toggle("gnn.posenc_select",
             "graph positional columns (posenc_LapPE, RWSE, Anchor, AnchorInd): train a plain GNN without those "
             "columns beside the one with them and let validation choose at every evaluation (with gnn.fusion_select "
             "too, one choice: both on or both off). auto: true for node classification, false for pair tasks",
             [](C& c) -> Toggle& { return c.gnn.posenc_select; }),
      mapped<AnchorKind>("gnn.anchors",
                         "anchor branch: sets (P-GNN's, of sizes n/2, n/4, ...; see gnn.anchor_resample) or nodes "
                         "(fixed single nodes, see gnn.num_anchors); auto: nodes where gnn.fusion_select is in force, "
                         "else sets",
                         {{"auto", AnchorKind::Auto}, {"sets", AnchorKind::Sets}, {"nodes", AnchorKind::Nodes}},
                         [](C& c) -> AnchorKind& { return c.gnn.anchors; }),
      toggle("gnn.anchor_resample",
             "anchor branch with gnn.anchors=sets: true, fresh sets every training epoch (P-GNN's protocol, for graphs "
             "a model has not seen); false, the evaluation sets throughout (one graph, transductive); auto: false "
             "where gnn.fusion_select is in force, else true",
             [](C& c) -> Toggle& { return c.gnn.anchor_resample; }),
      integer<int64_t>("gnn.num_anchors",
                       "single-node anchors (gnn.anchors=nodes): how many; 0: ⌊log₂ n⌋², or more on a small graph: "
                       "every node while n·K stays within 65536 node-anchor pairs (K = min(n, max(⌊log₂ n⌋², "
                       "65536 / n)))",
                       [](C& c) -> int64_t& { return c.gnn.num_anchors; }, 0, 256),
      integer<int64_t>("gnn.branch_dim",
                       "width of the anchor branch (GIR's per-anchor state, P-GNN's hidden); 0: gnn.dim_inner. "
                       "GIR's time and memory grow with its square",
                       [](C& c) -> int64_t& { return c.gnn.branch_dim; }, 0, 16),
      mapped<AnchorReadout>("gnn.anchor_readout",
                            "what a node classifier reads of the anchor branch: auto (one column per anchor, Z_pos, "
                            "when the anchors are fixed in training; else mean), mean (the anchor-order-free Z = "
                            "mean_k P[v,k]) or anchors (Z_pos; needs fixed anchors). Pair tasks read Z_pos",
                            {{"auto", AnchorReadout::Auto}, {"mean", AnchorReadout::Mean}, {"anchors", AnchorReadout::Anchors}},
                            [](C& c) -> AnchorReadout& { return c.gnn.anchor_readout; }),
      boolean("gnn.position_features", "the fused anchor branch reads the node features too (default: position only)",
              [](C& c) -> bool& { return c.gnn.position_features; }),
      integer<int>("gnn.pgnn_cutoff", "P-GNN distances: 2 (P-GNN-F) or -1 (exact, P-GNN-E)",
                   [](C& c) -> int& { return c.gnn.pgnn_cutoff; }, -1, 2),
      integer<int>("gnn.gir_hops", "GIR hops: -1 until every entry is reached, 0 = layers_mp, or a count >= layers_mp",
                   [](C& c) -> int& { return c.gnn.gir.max_hops; }, -1, 64),
      mapped<ops::Reduce>("gnn.gir_aggregate", "GIR aggregation over in-neighbours",
                          {{"sum", ops::Reduce::Sum}, {"mean", ops::Reduce::Mean}},
                          [](C& c) -> ops::Reduce& { return c.gnn.gir.aggregate; }),
      mapped<bool>("gnn.gir_update", "GIR update: frontier (each entry once, when first reached) or reached (every hop)",
                   {{"frontier", false}, {"reached", true}}, [](C& c) -> bool& { return c.gnn.gir.update_reached; }),
      // positional encodings
      boolean("posenc_LapPE.enable", "Laplacian eigenvectors → Linear → dim_pe input columns",
              [](C& c) -> bool& { return c.gnn.posenc.lap; }),
      toggle("posenc_LapPE.sign_flip",
             "true: random eigenvector signs every training epoch (signs are arbitrary; for graphs a model has not "
             "seen); false: the deterministic signs of evaluation throughout (one graph, transductive); auto: false "
             "where gnn.posenc_select is in force, else true",
             [](C& c) -> Toggle& { return c.gnn.posenc.lap_sign_flip; }),
      integer<int>("posenc_LapPE.dim_pe", "LapPE columns", [](C& c) -> int& { return c.gnn.posenc.lap_dim; }, 1, 8),
      integer<int>("posenc_LapPE.eigen.max_freqs", "LapPE eigenvectors k", [](C& c) -> int& { return c.gnn.posenc.lap_freqs; },
                   1, 8),
      boolean("posenc_RWSE.enable", "random-walk return probabilities → Linear → dim_pe input columns",
              [](C& c) -> bool& { return c.gnn.posenc.rwse; }),
      integer<int>("posenc_RWSE.dim_pe", "RWSE columns", [](C& c) -> int& { return c.gnn.posenc.rwse_dim; }, 1, 8),
      integer<int>("posenc_RWSE.kernel.times", "RWSE walk lengths K", [](C& c) -> int& { return c.gnn.posenc.rwse_steps; }, 1,
                   16),
      boolean("posenc_Anchor.enable", "P-GNN anchor distances 1/(d+1) → Linear → dim_pe input columns",
              [](C& c) -> bool& { return c.gnn.posenc.anchor; }),
      integer<int>("posenc_Anchor.dim_pe", "anchor-distance columns", [](C& c) -> int& { return c.gnn.posenc.anchor_dim; }, 1,
                   16),
      integer<int>("posenc_Anchor.cutoff", "anchor distances: hop cutoff (-1: none)",
                   [](C& c) -> int& { return c.gnn.posenc.anchor_cutoff; }, -1, 2),
      toggle("posenc_Anchor.resample",
             "true: fresh anchor sets every training epoch (P-GNN's protocol); false: the evaluation sets throughout; "
             "auto: false where gnn.posenc_select is in force, else true",
             [](C& c) -> Toggle& { return c.gnn.posenc.anchor_resample; }),
      integer<int>("posenc_Anchor.sizes",
                   "anchor set sizes c: c² sets, c each of n/2, n/4 … n/2^c nodes (0: c = ⌊log₂ n⌋, on many graphs "
                   "n of the largest graph)",
                   [](C& c) -> int& { return c.gnn.posenc.anchor_sizes; }, 0, 5, 30),
      boolean("posenc_AnchorInd.enable", "GIR's anchor indication: one column per anchor set",
              [](C& c) -> bool& { return c.gnn.posenc.indication; }),
      toggle("posenc_AnchorInd.resample",
             "anchor indication: true, fresh sets every training epoch; false, the evaluation sets throughout; auto: "
             "false where gnn.posenc_select is in force, else true",
             [](C& c) -> Toggle& { return c.gnn.posenc.indication_resample; }),
      integer<int>("posenc_AnchorInd.sizes", "anchor indication: set sizes c, c² columns (0: as for posenc_Anchor.sizes)",
                   [](C& c) -> int& { return c.gnn.posenc.indication_sizes; }, 0, 5, 30),
      boolean("posenc_SPD.enable", "transformer on graphs: attend within max_dist hops with a learnt bias per distance",
              [](C& c) -> bool& { return c.gnn.posenc.spd; }),
      integer<int>("posenc_SPD.max_dist", "SPD: hops attended", [](C& c) -> int& { return c.gnn.posenc.spd_max_dist; }, 1, 2),
      choice("posenc_seq.kind",
             "sentences: absolute (sinusoidal, learned, fourier, cape: appended) or relative (rope, t5_bias, fft_kernel)",
             pe::seq_pe_names, [](C& c) -> std::string& { return c.gnn.posenc.seq; }),
      integer<int>("posenc_seq.dim_pe", "columns of the absolute sequence encodings",
                   [](C& c) -> int& { return c.gnn.posenc.seq_dim; }, 2, 16),
      integer<int>("posenc_seq.max_len", "rows of the learned table (longer positions clip)",
                   [](C& c) -> int& { return c.gnn.posenc.seq_max_len; }, 1, 512),
      integer<int>("posenc_seq.buckets", "T5 relative-bias buckets", [](C& c) -> int& { return c.gnn.posenc.seq_buckets; }, 4,
                   32),
      integer<int>("posenc_seq.max_distance", "T5 / FFT bias range (offsets beyond share the last bucket)",
                   [](C& c) -> int& { return c.gnn.posenc.seq_max_distance; }, 2, 128),
      // optim
      mapped<OptimKind>("optim.optimizer", "adam, adamw (decoupled decay) or sgd", optimizers,
                        [](C& c) -> OptimKind& { return c.train.optim.kind; }),
      number("optim.base_lr", "learning rate", [](C& c) -> double& { return c.train.optim.lr; }, positive, "> 0", "0.01"),
      number("optim.weight_decay", "L2 (adam, sgd) or decoupled (adamw) weight decay",
             [](C& c) -> double& { return c.train.optim.weight_decay; }, non_negative, ">= 0", "5e-4"),
      mapped<bool>("optim.weight_decay_on", "first: the first layer only (Kipf & Welling); all: every layer",
                   {{"first", true}, {"all", false}}, [](C& c) -> bool& { return c.gnn.decay_first_only; }),
      integer<int>("optim.max_epoch", "training epochs", [](C& c) -> int& { return c.train.max_epoch; }, 1, 200),
      mapped<LrSchedule>("optim.lr_schedule",
                         "learning-rate schedule: none, or plateau (multiply by optim.lr_factor after more than "
                         "optim.lr_patience epochs without a lower validation loss; stop below optim.lr_min)",
                         {{"none", LrSchedule::None}, {"plateau", LrSchedule::Plateau}},
                         [](C& c) -> LrSchedule& { return c.train.lr_schedule; }),
      number("optim.lr_factor", "plateau: the factor applied to the learning rate",
             [](C& c) -> double& { return c.train.lr_factor; }, unit_open, "(0, 1)", "0.5"),
      integer<int>("optim.lr_patience", "plateau: epochs without improvement before the rate drops",
                   [](C& c) -> int& { return c.train.lr_patience; }, 0, 5),
      number("optim.lr_min", "plateau: the run stops once the learning rate is below this",
             [](C& c) -> double& { return c.train.lr_min; }, non_negative, ">= 0", "1e-5"),
      number("optim.clip_grad_norm", "> 0: scale the gradients to this global L2 norm when larger; 0: off",
             [](C& c) -> double& { return c.train.clip_grad_norm; }, non_negative, ">= 0 (0 disables)", "1.0"),
      // train
      integer<int>("train.patience", "stop after this many epochs without improvement (0: never)",
                   [](C& c) -> int& { return c.train.patience; }, 0, 50),
      integer<int>("train.batch_size",
                   "datasets of many graphs and sentence datasets: graphs (sentences) per training step, the training "
                   "ones shuffled every epoch (0: 128 graphs; every sentence in one step); a dataset of one graph "
                   "trains full-batch",
                   [](C& c) -> int& { return c.train.batch_size; }, 0, 128),
      mapped<ops::Pool>("gnn.readout", "graph classification and regression: how each graph's node representations are pooled",
                        {{"mean", ops::Pool::Mean}, {"sum", ops::Pool::Sum}, {"max", ops::Pool::Max}},
                        [](C& c) -> ops::Pool& { return c.gnn.readout; }),
      mapped<Metric>("train.metric",
                     "classification score reported and selected on: acc (accuracy) or wacc (class-weighted: the mean "
                     "of the per-class recalls, as the benchmarking-GNNs' PATTERN / CLUSTER); pair tasks: ROC AUC; graph "
                     "regression: MAE (both take only acc)",
                     {{"acc", Metric::Accuracy}, {"wacc", Metric::WeightedAccuracy}},
                     [](C& c) -> Metric& { return c.train.metric; }),
      mapped<ClassWeights>("train.class_weights",
                           "classification loss: none, or complement: class c weighted (n − n_c) / n over each step's "
                           "labelled nodes or graphs (the benchmarking-GNNs' PATTERN / CLUSTER loss); pair tasks and graph "
                           "regression take only none",
                           {{"none", ClassWeights::None}, {"complement", ClassWeights::Complement}},
                           [](C& c) -> ClassWeights& { return c.train.class_weights; }),
      mapped<Selection>("train.select",
                        "val_acc: first epoch of best validation score (accuracy, AUC; the lowest MAE in graph regression); "
                        "val_acc_loss: the GAT paper's rule (accuracy >= best and loss <= lowest; node classification)",
                        {{"val_acc", Selection::ValAcc}, {"val_acc_loss", Selection::ValAccLoss}},
                        [](C& c) -> Selection& { return c.train.select; }),
      not_results(integer<int>("train.ckpt_period", "also checkpoint every this many epochs (needs out_dir)",
                               [](C& c) -> int& { return c.run.ckpt_period; }, 0, 10)),
      not_results(boolean("train.auto_resume", "continue the training checkpointed in out_dir",
                          [](C& c) -> bool& { return c.run.auto_resume; })),
      not_results(integer<int>("train.memory_limit_mib", "refuse a training estimated above this (0: the memory available)",
                               [](C& c) -> int& { return c.run.memory_limit_mib; }, 0, 16384)),
      // partitioned training, comparisons, runs
      boolean("dist.deterministic", "partitioned training: sum gradients in rank order (bit-identical reruns)",
              [](C& c) -> bool& { return c.train.deterministic_sum; }),
      not_results(word_list("compare.variants", "`locus compare`: the model variants to run, e.g. [gcn, gcn+LapPE]",
                            [](C& c) -> std::vector<std::string>& { return c.run.variants; },
                            "gcn, gcn+LapPE, transformer+SPD")),
      seed_key("seed", "seed of the first run (run r uses seed + r)", [](C& c) -> uint64_t& { return c.run.seed; }),
      integer<int>("num_runs", "runs, one seed each", [](C& c) -> int& { return c.run.num_runs; }, 1, 1),
      not_results(integer<int>("num_threads", "OpenMP threads (0: all cores)", [](C& c) -> int& { return c.run.num_threads; },
                               0, 0)),
      not_results(text("out_dir", "per-run metric CSVs and checkpoint.bin go here; new or empty unless resuming",
                       [](C& c) -> std::string& { return c.run.out_dir; }, "path/to/dir")),
      not_results(text("save_model", "write the trained model here for `locus predict` (default: out_dir/model.locus when out_dir is set)",
                       [](C& c) -> std::string& { return c.run.save_model; }, "model.locus")),
      not_results(choice("save_model_runs", "best: the run of the best validation score; all: one file per run (NAME.runN.locus)",
                         {"best", "all"}, [](C& c) -> std::string& { return c.run.save_model_runs; })),
  };
}

}  // namespace

std::string ConfigKey::default_text() const { return text(ExperimentConfig{}); }

std::string ConfigKey::section() const {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(0, dot);
}

const std::vector<ConfigKey>& config_schema() {
  static const std::vector<ConfigKey> schema = make_schema();
  return schema;
}

const ConfigKey* find_config_key(const std::string& name) {
  for (const auto& k : config_schema())
    if (k.name == name) return &k;
  return nullptr;
}

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> v;
    for (const auto& k : config_schema()) v.push_back(k.name);
    return v;
  }();
  return keys;
}

const std::vector<std::string>& config_sections() {
  static const std::vector<std::string> sections = [] {
    std::vector<std::string> v;
    for (const auto& k : config_schema()) {
      // Every prefix of a dotted key's section: posenc_LapPE.eigen gives posenc_LapPE too.
      std::string s = k.section();
      while (!s.empty()) {
        if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
        const auto dot = s.rfind('.');
        s = dot == std::string::npos ? std::string() : s.substr(0, dot);
      }
    }
    return v;
  }();
  return sections;
}

std::vector<std::string> describe_config(const ExperimentConfig& cfg) {
  std::vector<std::string> out;
  for (const auto& k : config_schema()) out.push_back(k.name + "=" + k.text(cfg));
  return out;
}

json config_json(const ExperimentConfig& cfg) {
  json j = json::object();
  for (const auto& k : config_schema()) j[k.name] = k.json(cfg);
  return j;
}

void apply_config_line(ExperimentConfig& cfg, const std::string& line) {
  const auto eq = line.find('=');
  const std::string key = trim(line.substr(0, eq));
  const ConfigKey* spec = eq == std::string::npos ? nullptr : find_config_key(key);
  if (!spec) throw ConfigError({key, "unknown config key", "it comes from another version of Locus", line});
  const std::string text = trim(line.substr(eq + 1));
  spec->read(cfg, text.empty() ? YAML::Node() : YAML::Load(text));
}

std::vector<std::string> resume_config(const ExperimentConfig& cfg) {
  std::vector<std::string> out;
  for (const auto& k : config_schema())
    if (k.results) out.push_back(k.name + "=" + k.text(cfg));
  return out;
}

std::string config_reference_markdown() {
  std::string out = "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n";
  auto cell = [](std::string s) {
    for (size_t p = 0; (p = s.find('|', p)) != std::string::npos; p += 2) s.replace(p, 1, "\\|");
    return s;
  };
  for (const auto& k : config_schema()) {
    const std::string dflt = k.default_text();
    std::string allowed = k.range;
    if (k.choices) allowed = join(k.choices());
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", k.name, k.type, dflt.empty() ? "—" : "`" + cell(dflt) + "`",
                       cell(allowed), cell(k.doc));
  }
  return out;
}

std::vector<ConfigProblem> validate_config(const ExperimentConfig& cfg) {
  std::vector<ConfigProblem> out;
  if (cfg.dataset.path.empty() && cfg.dataset.name.empty())
    out.push_back({"dataset", "no dataset given: neither dataset.name nor dataset.path is set in section",
                   "add dataset.name=karate (a built-in) or dataset.path=path/to/dataset.yaml, on the command line or "
                   "in the config's dataset section",
                   ""});
  if (!cfg.dataset.name.empty()) {
    const auto names = builtin_dataset_names();
    if (std::find(names.begin(), names.end(), cfg.dataset.name) == names.end()) {
      const std::string near = nearest(cfg.dataset.name, names);
      out.push_back({"dataset.name", "unknown built-in dataset",
                     (near.empty() ? "" : "did you mean '" + near + "'? ") + "available: " + join(names) +
                         " (or give the path of a dataset.yaml as dataset.path)",
                     ""});
    }
  }
  for (auto& p : validate(cfg.gnn)) out.push_back(std::move(p));
  if (cfg.run.out_dir.empty() && (cfg.run.ckpt_period > 0 || cfg.run.auto_resume)) {
    const std::string key = cfg.run.ckpt_period > 0 ? "train.ckpt_period" : "train.auto_resume";
    out.push_back({key, "out_dir is not set, but the checkpoint it holds (out_dir/checkpoint.bin) is needed by",
                   "set out_dir=path/to/run_dir, or drop " + key, key});
  }
  if (!cfg.dataset.partitions.empty()) {
    // Partitioned training covers the stacks whose layers only read their in-neighbours (one halo
    // exchange per layer); whole-graph encodings and anchor branches would need the whole graph.
    const LayerDescriptor* layer = find_layer(cfg.gnn.layer_type);
    if (layer && !layer->distributed) {
      std::vector<std::string> ok;
      for (const auto& d : layer_registry())
        if (d.distributed) ok.push_back(d.name);
      out.push_back({"gnn.layer_type", "partitioned training (dataset.partitions) supports " + join(ok, ", ", " and ") + ", got",
                     "use one of those, or train on one process (drop dataset.partitions)", ""});
    }
    if (cfg.gnn.position != "none")
      out.push_back({"gnn.position", "partitioned training (dataset.partitions) has no anchor branch yet, got",
                     "set gnn.position=none, or train on one process", ""});
    const pe::PosEncSpec& pe = cfg.gnn.posenc;
    if (pe.lap || pe.rwse || pe.anchor || pe.indication || pe.spd || pe.seq != "none") {
      const char* key = pe.lap ? "posenc_LapPE.enable" : pe.rwse ? "posenc_RWSE.enable" : pe.anchor ? "posenc_Anchor.enable"
                        : pe.indication ? "posenc_AnchorInd.enable" : pe.spd ? "posenc_SPD.enable" : "posenc_seq.kind";
      out.push_back({key, "partitioned training (dataset.partitions) has no positional encodings yet, got",
                     "disable it, or train on one process", ""});
    }
    if (cfg.run.auto_resume)
      out.push_back({"train.auto_resume", "partitioned training (dataset.partitions) cannot resume checkpoints yet, got",
                     "drop train.auto_resume, or train on one process", ""});
  }
  return out;
}

// ---- model names --------------------------------------------------------------------------------

const std::vector<ModelAddon>& model_addons() {
  static const std::vector<ModelAddon> addons = [] {
    using C = ExperimentConfig;
    std::vector<ModelAddon> a{
        {"LapPE", {"posenc_LapPE.enable=true"}, [](const C& c) { return c.gnn.posenc.lap; }},
        {"RWSE", {"posenc_RWSE.enable=true"}, [](const C& c) { return c.gnn.posenc.rwse; }},
        {"AnchorPE", {"posenc_Anchor.enable=true"}, [](const C& c) { return c.gnn.posenc.anchor; }},
        {"SPD", {"posenc_SPD.enable=true"}, [](const C& c) { return c.gnn.posenc.spd; }},
        {"anchor", {"posenc_AnchorInd.enable=true"}, [](const C& c) { return c.gnn.posenc.indication; }},
    };
    // gcn+gir is the default fusion (auto); gcn+gir:concat, gcn+gir:input, gcn+gir:sum name one.
    for (const std::string& fusion : fusion_names())
      for (const std::string& kind : position_branch_kinds())
        a.push_back({kind + (fusion == "auto" ? "" : ":" + fusion),
                     {"gnn.position=" + kind, "gnn.fusion=" + fusion},
                     [kind, fusion](const C& c) { return c.gnn.position == kind && c.gnn.fusion == fusion; }});
    // The fused branch and the positional columns used without a validation choice.
    a.push_back({"noselect", {"gnn.fusion_select=false", "gnn.posenc_select=false"}, [](const C& c) {
                   return (c.gnn.fusion_select == Toggle::Off && anchor_branch_fused(c.gnn)) ||
                          (c.gnn.posenc_select == Toggle::Off && c.gnn.posenc.graph_columns());
                 }});
    // Fixed coordinates (position_protocol): a position source that would be randomised every
    // training epoch keeps evaluation's signs or anchor sets instead.
    a.push_back({"fixed",
                 {"posenc_LapPE.sign_flip=false", "posenc_Anchor.resample=false", "posenc_AnchorInd.resample=false",
                  "gnn.anchor_resample=false"},
                 [](const C& c) {
                   for (const PositionSource& s : position_sources(c.gnn))  // single nodes are never drawn anew
                     if (!s.randomised && !s.automatic && s.key != "gnn.anchors") return true;
                   return false;
                 }});
    // Randomised coordinates, the papers' protocol whatever the task: flipped signs, anchor sets
    // drawn anew every training epoch.
    a.push_back({"random",
                 {"posenc_LapPE.sign_flip=true", "posenc_Anchor.resample=true", "posenc_AnchorInd.resample=true",
                  "gnn.anchors=sets", "gnn.anchor_resample=true"},
                 [](const C& c) {
                   for (const PositionSource& s : position_sources(c.gnn))
                     if (s.randomised && !s.automatic) return true;
                   return false;
                 }});
    for (const std::string& kind : pe::seq_pe_names())
      if (kind != "none")
        a.push_back({kind, {"posenc_seq.kind=" + kind}, [kind](const C& c) { return c.gnn.posenc.seq == kind; }});
    for (const std::string& norm : attn_norm_names())
      if (norm != "softmax")
        a.push_back({norm, {"gnn.att_norm=" + norm}, [norm](const C& c) { return c.gnn.att_norm == norm; }});
    return a;
  }();
  return addons;
}

std::vector<std::string> variant_overrides(const std::string& variant) {
  std::vector<std::string> parts;
  std::stringstream in(variant);
  for (std::string p; std::getline(in, p, '+');) parts.push_back(p);
  if (variant.empty() || variant.back() == '+' || std::find(parts.begin(), parts.end(), "") != parts.end())
    throw InputError("malformed model variant '" + variant + "' in compare.variants: write e.g. gcn or gcn+LapPE");
  const std::string& base = parts.front();
  const std::vector<std::string> types = layer_names();
  if (std::find(types.begin(), types.end(), base) == types.end())
    throw InputError("unknown model '" + base + "' in variant '" + variant + "'. A variant starts with one of " +
                     join(types) + (nearest(base, types).empty() ? "" : " (did you mean '" + nearest(base, types) + "'?)"));
  std::vector<std::string> out{"gnn.layer_type=" + base};
  std::vector<std::string> names;
  for (const auto& a : model_addons()) names.push_back(a.name);
  for (size_t i = 1; i < parts.size(); ++i) {
    const auto it = std::find_if(model_addons().begin(), model_addons().end(),
                                 [&](const ModelAddon& a) { return a.name == parts[i]; });
    if (it == model_addons().end()) {
      const std::string near = nearest(parts[i], names);
      throw InputError("unknown addition '" + parts[i] + "' in variant '" + variant + "'. After '+' use " + join(names) +
                       (near.empty() ? "" : " (did you mean '" + near + "'?)"));
    }
    out.insert(out.end(), it->overrides.begin(), it->overrides.end());
  }
  return out;
}

std::vector<PositionSource> position_sources(const GnnSpec& spec) {
  const pe::PosEncSpec& pe = spec.posenc;
  const pe::PosEncSpec resolved = resolve_posenc(spec);
  std::vector<PositionSource> out;
  auto add = [&](const char* what, const char* key, Toggle pe::PosEncSpec::*t) {
    out.push_back({what, key, pe::randomised(resolved.*t), pe.*t == Toggle::Auto});
  };
  if (pe.lap) add("LapPE signs", "posenc_LapPE.sign_flip", &pe::PosEncSpec::lap_sign_flip);
  if (pe.anchor) add("AnchorPE sets", "posenc_Anchor.resample", &pe::PosEncSpec::anchor_resample);
  if (pe.indication) add("anchor indication sets", "posenc_AnchorInd.resample", &pe::PosEncSpec::indication_resample);
  if (find_layer(spec.layer_type) == nullptr) return out;  // validation names it
  const std::string kind = anchor_branch_kind(spec);
  if (kind.empty()) return out;
  if (anchor_nodes(spec))  // always fixed; named for the auto choice of nodes over sets
    out.push_back({kind + " anchor nodes", "gnn.anchors", false, spec.anchors == AnchorKind::Auto});
  else
    out.push_back({kind + " anchor sets", "gnn.anchor_resample", !anchors_fixed(spec),
                   spec.anchor_resample == Toggle::Auto});
  return out;
}

std::string position_protocol(const GnnSpec& spec) {
  std::string out;
  for (const PositionSource& s : position_sources(spec))
    out += (out.empty() ? "" : "; ") + s.what + (s.randomised ? " drawn anew every epoch" : " fixed") + " (" + s.key +
           (s.automatic ? "=auto" : "") + ")";
  return out;
}

std::string model_name(const ExperimentConfig& cfg) {
  std::string name = cfg.gnn.layer_type;
  for (const auto& a : model_addons())
    if (a.on(cfg)) name += "+" + a.name;
  return name;
}

}  // namespace locus
