// The experiment config of `locus train`: a GraphGym-style YAML file, then `key=value`
// overrides. See config.hpp for the keys; this file holds the parsing and every check.
//
// Decisions worth knowing:
// - Keys may be nested (`gnn: {dim_inner: 16}`) or dotted at the top level
//   (`gnn.dim_inner: 16`); a key set twice in one file is an error (overrides may repeat:
//   the last one wins).
// - Relative `dataset.path` / `out_dir` from the file become absolute, lexically normalised
//   paths joined to the config file's folder. From overrides they are stored exactly as
//   given (relative to the current directory).
// - An empty or null value (`out_dir:`, `dataset.name=`) leaves a string key unset; for a
//   number or a choice it is an error.
// - An override that sets a non-empty `dataset.path` clears `dataset.name`, and vice versa.
//   After all overrides exactly one of them must be set.
// - Choices (layer_type, act, ...) are case-sensitive; the hint compares case-insensitively.
#include "apps/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/yaml_input.hpp"
#include "datasets/builtin.hpp"
#include "layers/registry.hpp"

namespace locus {
namespace {

namespace fs = std::filesystem;

const char* const kCommandLine = "command line";
// Deeper stacks are a typo, not a model: refusing them keeps a stray digit from allocating a
// hundred thousand layers.
constexpr int kMaxLayers = 1000;

// Where a value came from: a file line, or one command-line override.
struct Site {
  std::string file;      // the config path, or "command line"
  long line = 0;         // 1-based; 0 for overrides
  std::string override;  // the whole "key=value" token for overrides; empty for the file
};

// One value to assign: the dotted key, the YAML node holding it and its site.
struct Value {
  std::string key;
  YAML::Node node;
  Site site;
};

// A node on one line, flow style ("[1]", "{a: 1}"), for error messages.
std::string flow(const YAML::Node& node) {
  if (!node || node.IsNull()) return "~";
  if (node.IsScalar()) return node.Scalar();
  std::string out = node.IsSequence() ? "[" : "{";
  bool first = true;
  for (const auto& item : node) {
    out += first ? "" : ", ";
    first = false;
    out += node.IsSequence() ? flow(item) : flow(item.first) + ": " + flow(item.second);
  }
  return out + (node.IsSequence() ? "]" : "}");
}

// The token an error about `v` shows: the value as written (file) or the whole override.
std::string shown(const Value& v) {
  if (!v.site.override.empty()) return v.site.override;
  if (v.node.IsScalar()) return v.node.Scalar();
  if (v.node.IsNull()) return v.key;
  return flow(v.node);
}

[[noreturn]] void fail(const Value& v, const std::string& problem, const std::string& fix) {
  throw_input_error(v.site.file, v.site.line, problem, shown(v), fix);
}

// The scalar text of `v`, or an error saying what was expected (`what`, e.g. "a whole number").
std::string scalar_text(const Value& v, const std::string& what, const std::string& fix) {
  if (v.node.IsNull()) fail(v, "missing value for", fix);
  if (!v.node.IsScalar()) fail(v, v.key + " must be " + what + ", got", fix);
  return v.node.Scalar();
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// A list of plain words: a YAML sequence ([gcn, gcn+LapPE]) or one comma-separated scalar
// ("gcn,gcn+LapPE", handy on the command line).
std::vector<std::string> read_word_list(const Value& v, const std::string& example) {
  const std::string fix = "write " + v.key + " as a list of names, e.g. [" + example + "]";
  if (v.node.IsNull()) fail(v, "missing value for", fix);
  std::vector<std::string> out;
  auto add = [&](const std::string& word) {
    const std::string w = trim(word);
    if (w.empty()) fail(v, "empty name in " + v.key + ":", fix);
    out.push_back(w);
  };
  if (v.node.IsSequence()) {
    for (const auto& item : v.node) {
      if (!item.IsScalar()) fail(v, v.key + " must list plain names, got", fix);
      add(item.Scalar());
    }
  } else if (v.node.IsScalar()) {
    std::string s = v.node.Scalar();
    for (size_t start = 0;;) {
      const size_t comma = s.find(',', start);
      add(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    fail(v, v.key + " must be a list, got", fix);
  }
  if (out.empty()) fail(v, v.key + " is empty:", fix);
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "a, b and c" with last = " and ".
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ", const std::string& last = "") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() && !last.empty() ? last : sep) + items[i];
  return out;
}

// from_chars does not take a leading '+'; YAML allows it.
std::string_view unsigned_part(const std::string& text) {
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  return s;
}

bool read_bool(const Value& v) {
  const std::string fix = "set " + v.key + " to true or false";
  const std::string text = scalar_text(v, "true or false", fix);
  if (text == "true" || text == "True" || text == "yes") return true;
  if (text == "false" || text == "False" || text == "no") return false;
  fail(v, v.key + " must be true or false, got", fix);
}

int read_int(const Value& v, int lo, int example, int hi = std::numeric_limits<int>::max()) {
  const std::string fix = "set " + v.key + " to a whole number >= " + std::to_string(lo) +
                          (hi < std::numeric_limits<int>::max() ? " and <= " + std::to_string(hi) : "") +
                          ", e.g. " + std::to_string(example);
  const std::string text = scalar_text(v, "a whole number", fix);
  std::string_view s = unsigned_part(text);
  long long x = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (s.empty() || end != s.data() + s.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
    fail(v, v.key + " must be a whole number, got", fix);
  if (ec == std::errc::result_out_of_range || x > hi)
    fail(v, v.key + " is too large (at most " + std::to_string(hi) + "), got", fix);
  if (x < lo) fail(v, v.key + " must be >= " + std::to_string(lo) + ", got", fix);
  return static_cast<int>(x);
}

uint64_t read_uint64(const Value& v, uint64_t example) {
  const std::string fix = "set " + v.key + " to a whole number >= 0, e.g. " + std::to_string(example);
  const std::string text = scalar_text(v, "a whole number", fix);
  std::string_view s = unsigned_part(text);
  bool negative = !s.empty() && s.front() == '-' && s.size() > 1;
  if (negative) s.remove_prefix(1);
  unsigned long long x = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (s.empty() || end != s.data() + s.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
    fail(v, v.key + " must be a whole number, got", fix);
  if (negative && (x != 0 || ec != std::errc())) fail(v, v.key + " must be >= 0, got", fix);
  if (ec == std::errc::result_out_of_range)
    fail(v, v.key + " is too large (at most " + std::to_string(std::numeric_limits<uint64_t>::max()) + "), got", fix);
  return x;
}

// A finite number satisfying `ok`; `range` is shown to the user ("in [0, 1)", "> 0").
template <class Ok>
double read_double(const Value& v, Ok ok, const std::string& range, const std::string& example) {
  const std::string fix = "set " + v.key + " to a number " + range + ", e.g. " + example;
  const std::string text = scalar_text(v, "a number", fix);
  std::string_view s = unsigned_part(text);
  double x = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x, std::chars_format::general);
  if (s.empty() || end != s.data() + s.size() || ec != std::errc())
    fail(v, v.key + " must be a number, got", fix);
  if (!std::isfinite(x)) fail(v, v.key + " must be a finite number, got", fix);
  if (!ok(x)) fail(v, v.key + " must be " + range + ", got", fix);
  return x;
}

std::string read_choice(const Value& v, const std::vector<std::string>& allowed) {
  const std::string list = join(allowed);
  const std::string text = scalar_text(v, "one of " + list, "set " + v.key + " to one of " + list);
  if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) return text;
  std::vector<std::string> lowered;
  for (const auto& a : allowed) lowered.push_back(lower(a));
  const std::string near = nearest(lower(text), lowered);
  fail(v, v.key + " must be one of " + list + ", got",
       near.empty() ? "choose one of " + list : "did you mean '" + near + "'? (allowed: " + list + ")");
}

// A free-form string (name or path); null or empty leaves the key unset.
std::string read_string(const Value& v) {
  if (v.node.IsNull()) return {};
  if (!v.node.IsScalar())
    fail(v, v.key + " must be a single string, got", "write " + v.key + " as one plain value, e.g. " +
                                                         (v.key == "dataset.name" ? "karate" : "path/to/dir"));
  return v.node.Scalar();
}

using Setter = void (*)(ExperimentConfig&, const Value&);
struct KeySpec {
  std::string key;
  Setter set;
};

const std::vector<KeySpec>& key_specs() {
  static const std::vector<KeySpec> specs = {
      {"dataset.path", [](ExperimentConfig& c, const Value& v) { c.dataset.path = read_string(v); }},
      {"dataset.name", [](ExperimentConfig& c, const Value& v) { c.dataset.name = read_string(v); }},
      {"dataset.task",
       [](ExperimentConfig& c, const Value& v) {
         c.dataset.task = read_choice(v, {"auto", "node_classification", "link_prediction", "pair_classification"});
       }},
      {"dataset.feature_norm",
       [](ExperimentConfig& c, const Value& v) { c.dataset.feature_norm = read_choice(v, {"none", "row"}); }},
      {"dataset.partitions", [](ExperimentConfig& c, const Value& v) { c.dataset.partitions = read_string(v); }},
      {"dist.deterministic", [](ExperimentConfig& c, const Value& v) { c.dist.deterministic = read_bool(v); }},
      {"gnn.layer_type",
       [](ExperimentConfig& c, const Value& v) { c.gnn.layer_type = read_choice(v, layer_names()); }},
      {"gnn.layers_mp", [](ExperimentConfig& c, const Value& v) { c.gnn.layers_mp = read_int(v, 1, 2, kMaxLayers); }},
      {"gnn.dim_inner", [](ExperimentConfig& c, const Value& v) { c.gnn.dim_inner = read_int(v, 1, 16); }},
      {"gnn.act",
       [](ExperimentConfig& c, const Value& v) { c.gnn.act = read_choice(v, {"relu", "elu", "leaky_relu", "gelu", "identity"}); }},
      {"gnn.att_heads", [](ExperimentConfig& c, const Value& v) { c.gnn.att_heads = read_int(v, 1, 8); }},
      {"gnn.att_heads_out", [](ExperimentConfig& c, const Value& v) { c.gnn.att_heads_out = read_int(v, 1, 1); }},
      {"gnn.att_dropout",
       [](ExperimentConfig& c, const Value& v) {
         c.gnn.att_dropout = read_double(v, [](double x) { return x >= 0 && x < 1; }, "in [0, 1)", "0.6");
       }},
      {"gnn.dropout",
       [](ExperimentConfig& c, const Value& v) {
         c.gnn.dropout = read_double(v, [](double x) { return x >= 0 && x < 1; }, "in [0, 1)", "0.5");
       }},
      {"gnn.att_value_dropout",
       [](ExperimentConfig& c, const Value& v) {
         c.gnn.att_value_dropout = read_double(v, [](double x) { return x >= 0 && x < 1; }, "in [0, 1)", "0.6");
       }},
      {"gnn.norm", [](ExperimentConfig& c, const Value& v) { c.gnn.norm = read_choice(v, {"layer", "batch", "none"}); }},
      {"gnn.pre_norm", [](ExperimentConfig& c, const Value& v) { c.gnn.pre_norm = read_bool(v); }},
      {"gnn.att_clamp",
       [](ExperimentConfig& c, const Value& v) {
         c.gnn.att_clamp = read_double(v, [](double x) { return x >= 0; }, ">= 0 (0 disables)", "5");
       }},
      {"optim.optimizer",
       [](ExperimentConfig& c, const Value& v) { c.optim.optimizer = read_choice(v, {"adam", "adamw", "sgd"}); }},
      {"optim.base_lr",
       [](ExperimentConfig& c, const Value& v) {
         c.optim.base_lr = read_double(v, [](double x) { return x > 0; }, "> 0", "0.01");
       }},
      {"optim.weight_decay",
       [](ExperimentConfig& c, const Value& v) {
         c.optim.weight_decay = read_double(v, [](double x) { return x >= 0; }, ">= 0", "5e-4");
       }},
      {"optim.weight_decay_on",
       [](ExperimentConfig& c, const Value& v) { c.optim.weight_decay_on = read_choice(v, {"first", "all"}); }},
      {"optim.max_epoch", [](ExperimentConfig& c, const Value& v) { c.optim.max_epoch = read_int(v, 1, 200); }},
      {"optim.clip_grad_norm",
       [](ExperimentConfig& c, const Value& v) {
         c.optim.clip_grad_norm = read_double(v, [](double x) { return x >= 0; }, ">= 0 (0 disables)", "1.0");
       }},
      {"train.ckpt_period", [](ExperimentConfig& c, const Value& v) { c.train.ckpt_period = read_int(v, 0, 10); }},
      {"train.auto_resume", [](ExperimentConfig& c, const Value& v) { c.train.auto_resume = read_bool(v); }},
      {"train.memory_limit_mib",
       [](ExperimentConfig& c, const Value& v) { c.train.memory_limit_mib = read_int(v, 0, 16384); }},
      {"train.patience", [](ExperimentConfig& c, const Value& v) { c.train.patience = read_int(v, 0, 50); }},
      {"compare.variants",
       [](ExperimentConfig& c, const Value& v) { c.compare.variants = read_word_list(v, "gcn, gcn+LapPE, transformer+SPD"); }},
      {"gnn.att_norm",
       [](ExperimentConfig& c, const Value& v) { c.gnn.att_norm = read_choice(v, {"softmax", "l2"}); }},
      {"posenc_LapPE.enable", [](ExperimentConfig& c, const Value& v) { c.posenc.lap = read_bool(v); }},
      {"posenc_LapPE.dim_pe", [](ExperimentConfig& c, const Value& v) { c.posenc.lap_dim = read_int(v, 1, 8); }},
      {"posenc_LapPE.eigen.max_freqs",
       [](ExperimentConfig& c, const Value& v) { c.posenc.lap_freqs = read_int(v, 1, 8); }},
      {"posenc_RWSE.enable", [](ExperimentConfig& c, const Value& v) { c.posenc.rwse = read_bool(v); }},
      {"posenc_RWSE.dim_pe", [](ExperimentConfig& c, const Value& v) { c.posenc.rwse_dim = read_int(v, 1, 8); }},
      {"posenc_RWSE.kernel.times",
       [](ExperimentConfig& c, const Value& v) { c.posenc.rwse_steps = read_int(v, 1, 16); }},
      {"posenc_Anchor.enable", [](ExperimentConfig& c, const Value& v) { c.posenc.anchor = read_bool(v); }},
      {"posenc_Anchor.dim_pe", [](ExperimentConfig& c, const Value& v) { c.posenc.anchor_dim = read_int(v, 1, 16); }},
      {"posenc_Anchor.cutoff",
       [](ExperimentConfig& c, const Value& v) { c.posenc.anchor_cutoff = read_int(v, -1, 2); }},
      {"posenc_AnchorInd.enable", [](ExperimentConfig& c, const Value& v) { c.posenc.indication = read_bool(v); }},
      {"gnn.position",
       [](ExperimentConfig& c, const Value& v) { 
         std::vector<std::string> kinds{"none"};
         for (auto& k : position_branch_kinds()) kinds.push_back(k);
         c.gnn.position = read_choice(v, kinds);
        }},
      {"gnn.fusion", [](ExperimentConfig& c, const Value& v) { c.gnn.fusion = read_choice(v, {"concat", "sum"}); }},
      {"gnn.pgnn_cutoff", [](ExperimentConfig& c, const Value& v) { c.gnn.pgnn_cutoff = read_int(v, -1, 2); }},
      {"gnn.anchors", [](ExperimentConfig& c, const Value& v) { c.gnn.anchors = read_choice(v, {"sets", "nodes"}); }},
      {"gnn.position_features",
       [](ExperimentConfig& c, const Value& v) { c.gnn.position_features = read_bool(v); }},
      {"gnn.gir_hops", [](ExperimentConfig& c, const Value& v) { c.gnn.gir_hops = read_int(v, -1, 64); }},
      {"gnn.gir_aggregate",
       [](ExperimentConfig& c, const Value& v) { c.gnn.gir_aggregate = read_choice(v, {"sum", "mean"}); }},
      {"gnn.gir_update",
       [](ExperimentConfig& c, const Value& v) { c.gnn.gir_update = read_choice(v, {"frontier", "reached"}); }},
      {"posenc_SPD.enable", [](ExperimentConfig& c, const Value& v) { c.posenc.spd = read_bool(v); }},
      {"posenc_SPD.max_dist", [](ExperimentConfig& c, const Value& v) { c.posenc.spd_max_dist = read_int(v, 1, 2); }},
      {"posenc_seq.kind",
       [](ExperimentConfig& c, const Value& v) {
         c.posenc.seq =
             read_choice(v, {"none", "sinusoidal", "learned", "rope", "fourier", "cape", "t5_bias", "fft_kernel"});
       }},
      {"posenc_seq.dim_pe", [](ExperimentConfig& c, const Value& v) { c.posenc.seq_dim = read_int(v, 2, 16); }},
      {"posenc_seq.max_len", [](ExperimentConfig& c, const Value& v) { c.posenc.seq_max_len = read_int(v, 1, 512); }},
      {"posenc_seq.buckets", [](ExperimentConfig& c, const Value& v) { c.posenc.seq_buckets = read_int(v, 4, 32); }},
      {"posenc_seq.max_distance",
       [](ExperimentConfig& c, const Value& v) { c.posenc.seq_max_distance = read_int(v, 2, 128); }},
      {"train.select",
       [](ExperimentConfig& c, const Value& v) { c.train.select = read_choice(v, {"val_acc", "val_acc_loss"}); }},
      {"seed", [](ExperimentConfig& c, const Value& v) { c.seed = read_uint64(v, 0); }},
      {"num_runs", [](ExperimentConfig& c, const Value& v) { c.num_runs = read_int(v, 1, 1); }},
      {"num_threads", [](ExperimentConfig& c, const Value& v) { c.num_threads = read_int(v, 0, 0); }},
      {"out_dir", [](ExperimentConfig& c, const Value& v) { c.out_dir = read_string(v); }},
  };
  return specs;
}

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> names = {"dataset",        "gnn",        "optim",        "train",
                                                 "posenc_LapPE",   "posenc_LapPE.eigen", "posenc_RWSE",
                                                 "posenc_RWSE.kernel", "posenc_Anchor", "posenc_AnchorInd", "posenc_SPD", "posenc_seq",
                                                 "compare"};
  return names;
}

bool is_section(const std::string& name) {
  const auto& s = section_names();
  return std::find(s.begin(), s.end(), name) != s.end();
}

const KeySpec* find_spec(const std::string& key) {
  for (const auto& spec : key_specs())
    if (spec.key == key) return &spec;
  return nullptr;
}

// The dotted keys of one section ("gnn" -> gnn.layer_type, gnn.layers_mp, ...).
std::vector<std::string> section_keys(const std::string& section) {
  std::vector<std::string> keys;
  for (const auto& spec : key_specs())
    if (spec.key.rfind(section + ".", 0) == 0) keys.push_back(spec.key);
  return keys;
}

std::string leaf_of(const std::string& key) {
  auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

// "did you mean" for an unknown dotted key; else the valid keys of its section (or all).
std::string unknown_key_fix(const std::string& key) {
  std::string near = nearest(key, config_keys());
  if (near.empty()) {
    // A known key in the wrong section (`gnn.base_lr`, top-level `dim_inner`).
    std::vector<std::string> leaves;
    for (const auto& k : config_keys()) leaves.push_back(leaf_of(k));
    std::string leaf = nearest(leaf_of(key), leaves);
    if (!leaf.empty())
      for (const auto& k : config_keys())
        if (leaf_of(k) == leaf) near = k;
  }
  auto dot = key.find('.');
  std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
  if (near.empty() && is_section(section) && !leaf_of(key).empty()) {
    // A shortened key (`optim.lr`, `gnn.dim`): the one key of its section that contains it.
    std::vector<std::string> matches;
    for (const auto& k : section_keys(section))
      if (leaf_of(k).find(leaf_of(key)) != std::string::npos) matches.push_back(k);
    if (matches.size() == 1) near = matches.front();
  }
  if (!near.empty()) return "did you mean '" + near + "'?";
  if (is_section(section)) return "valid keys in '" + section + "': " + join(section_keys(section));
  return "valid keys: " + join(config_keys());
}

long line_of(const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

std::string read_file_text(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (!fs::exists(p, ec))
    throw_input_error(path, 0, "no such config file", path,
                      "check the path (relative paths start from " + fs::current_path(ec).string() + ")");
  if (fs::is_directory(p, ec))
    throw_input_error(path, 0, "config path is a directory", path,
                      "pass a YAML file, e.g. " + (p / "config.yaml").string());
  std::ifstream in(p, std::ios::binary);
  if (!in) throw_input_error(path, 0, "cannot read config file", path, "check its permissions");
  return read_yaml_text(in, path);  // at most 1 MiB (core/yaml_input.hpp)
}

YAML::Node parse_file(const std::string& path, const std::string& text) {
  // Untrusted text: size, depth and node-count caps (aliases counted per use, so an alias bomb or
  // a cyclic alias is an error, not a hang) — core/yaml_input.hpp.
  YamlParseOptions opt;
  opt.multi_document = true;
  opt.at_before_line = true;
  opt.syntax_fix = "check the indentation, colons, brackets and quotes on this line and the one above";
  const std::vector<YAML::Node> docs = parse_yaml_capped(text, path, opt);
  if (docs.size() > 1)
    throw_input_error(path, line_of(docs[1]), "more than one YAML document ('---')", "---",
                      "keep a single document per config file");
  return docs.empty() ? YAML::Node() : docs.front();
}

// Reads the file's keys into `cfg`; `lines` records where each key was set.
void apply_file(ExperimentConfig& cfg, const std::string& path, std::map<std::string, long>& lines) {
  const YAML::Node root = parse_file(path, read_file_text(path));
  if (!root || root.IsNull()) return;  // empty file or comments only: all defaults
  if (!root.IsMap())
    throw_input_error(path, line_of(root), "a config must be a mapping of keys, got",
                      root.IsScalar() ? root.Scalar() : flow(root), "write one 'key: value' per line, e.g. gnn.dim_inner: 16");

  auto key_text = [&](const YAML::Node& k) {
    if (!k.IsScalar() || k.Scalar().empty())
      throw_input_error(path, line_of(k), "a key must be a plain word, got", k.IsNull() ? "~" : flow(k),
                        "write 'key: value', e.g. gnn.dim_inner: 16");
    return k.Scalar();
  };
  auto set = [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
    const KeySpec* spec = find_spec(key);
    const long key_line = line_of(key_node);
    if (!spec) throw_input_error(path, key_line, "unknown key", key, unknown_key_fix(key));
    if (auto it = lines.find(key); it != lines.end())
      throw_input_error(path, key_line, "key set twice", key,
                        "it is already set on line " + std::to_string(it->second) + "; keep one of them");
    lines[key] = key_line;
    // A null value's mark points past the key (often the next line), so use the key's line.
    const long value_line = value.IsNull() ? 0 : line_of(value);
    const Value v{key, value, Site{path, value_line > 0 ? value_line : key_line, ""}};
    spec->set(cfg, v);
    cfg.origins[key] = {path, v.site.line, shown(v)};
  };

  for (const auto& top : root) {
    const std::string key = key_text(top.first);
    if (!is_section(key)) {
      set(key, top.first, top.second);
      continue;
    }
    const YAML::Node& section = top.second;
    if (!section || section.IsNull()) continue;  // `gnn:` with nothing under it
    if (!section.IsMap()) {
      std::vector<std::string> keys;
      for (const auto& k : section_keys(key)) keys.push_back(leaf_of(k));
      throw_input_error(path, line_of(section), "section '" + key + "' must be a mapping of keys, got",
                        section.IsScalar() ? section.Scalar() : flow(section),
                        "write '" + key + ":' then indented keys: " + join(keys));
    }
    // Sections may nest (posenc_LapPE: eigen: max_freqs: 8).
    std::function<void(const std::string&, const YAML::Node&)> walk = [&](const std::string& prefix, const YAML::Node& map) {
      for (const auto& entry : map) {
        const std::string full = prefix + "." + key_text(entry.first);
        if (is_section(full) && entry.second.IsMap()) walk(full, entry.second);
        else set(full, entry.first, entry.second);
      }
    };
    walk(key, section);
  }

  // Relative paths in the file are relative to the file's folder.
  const fs::path folder = fs::absolute(fs::path(path)).parent_path();
  for (std::string* p : {&cfg.dataset.path, &cfg.dataset.partitions, &cfg.out_dir})
    if (!p->empty()) *p = (fs::path(*p).is_absolute() ? fs::path(*p) : folder / *p).lexically_normal().string();
}

// Applies one "key=value" override. Returns the key set.
std::string apply_override(ExperimentConfig& cfg, const std::string& token) {
  const auto eq = token.find('=');
  if (eq == std::string::npos)
    throw_input_error(kCommandLine, 0, "override without '='", token, "write key=value, e.g. gnn.dim_inner=32");
  const std::string key = trim(token.substr(0, eq));
  const std::string text = trim(token.substr(eq + 1));
  if (key.empty()) throw_input_error(kCommandLine, 0, "override without a key", token, "write key=value, e.g. gnn.dim_inner=32");
  const KeySpec* spec = find_spec(key);
  if (!spec) {
    if (is_section(key))
      throw_input_error(kCommandLine, 0, "'" + key + "' is a section, not a key, in", token,
                        "write " + key + ".KEY=value; valid keys in '" + key + "': " + join(section_keys(key)));
    throw_input_error(kCommandLine, 0, "unknown key '" + key + "' in", token, unknown_key_fix(key));
  }
  YAML::Node value;  // empty text: a null value
  if (!text.empty()) {
    YamlParseOptions opt;
    opt.syntax_fix = "write key=value with a plain value, e.g. " + key + "=...";
    try {
      value = parse_yaml_capped(text, kCommandLine, opt).front();
    } catch (const YamlError& e) {
      // Name the whole override, as every other override error does, with the parser's reason.
      throw_input_error(kCommandLine, 0, "value is not valid YAML (" + e.reason + ") in", token, opt.syntax_fix);
    }
  }
  spec->set(cfg, Value{key, value, Site{kCommandLine, 0, token}});
  cfg.origins[key] = {kCommandLine, 0, token};
  return key;
}

}  // namespace

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& spec : key_specs()) k.push_back(spec.key);
    return k;
  }();
  return keys;
}

void config_error(const ExperimentConfig& cfg, const std::string& key, const std::string& problem,
                  const std::string& fix) {
  if (auto it = cfg.origins.find(key); it != cfg.origins.end())
    throw_input_error(it->second.file, it->second.line, problem, it->second.token, fix);
  throw_input_error(cfg.config_path.empty() ? kCommandLine : cfg.config_path, 0, problem, key, fix);
}

std::vector<std::string> describe_config(const ExperimentConfig& c) {
  auto b = [](bool x) { return std::string(x ? "true" : "false"); };
  auto n = [](auto x) { return fmt::format("{}", x); };
  auto list = [](const std::vector<std::string>& v) { return join(v, ","); };
  const pe::PosEncSpec& p = c.posenc;
  const std::map<std::string, std::string> values = {
      {"dataset.path", c.dataset.path}, {"dataset.name", c.dataset.name}, {"dataset.task", c.dataset.task},
      {"dataset.feature_norm", c.dataset.feature_norm}, {"dataset.partitions", c.dataset.partitions},
      {"dist.deterministic", b(c.dist.deterministic)}, {"gnn.layer_type", c.gnn.layer_type},
      {"gnn.layers_mp", n(c.gnn.layers_mp)}, {"gnn.dim_inner", n(c.gnn.dim_inner)}, {"gnn.act", c.gnn.act},
      {"gnn.att_heads", n(c.gnn.att_heads)}, {"gnn.att_heads_out", n(c.gnn.att_heads_out)},
      {"gnn.att_dropout", n(c.gnn.att_dropout)}, {"gnn.dropout", n(c.gnn.dropout)},
      {"gnn.att_value_dropout", n(c.gnn.att_value_dropout)}, {"gnn.norm", c.gnn.norm}, {"gnn.pre_norm", b(c.gnn.pre_norm)},
      {"gnn.att_clamp", n(c.gnn.att_clamp)}, {"optim.optimizer", c.optim.optimizer}, {"optim.base_lr", n(c.optim.base_lr)},
      {"optim.weight_decay", n(c.optim.weight_decay)}, {"optim.weight_decay_on", c.optim.weight_decay_on},
      {"optim.max_epoch", n(c.optim.max_epoch)}, {"optim.clip_grad_norm", n(c.optim.clip_grad_norm)},
      {"train.ckpt_period", n(c.train.ckpt_period)}, {"train.auto_resume", b(c.train.auto_resume)},
      {"train.memory_limit_mib", n(c.train.memory_limit_mib)}, {"train.patience", n(c.train.patience)},
      {"compare.variants", list(c.compare.variants)}, {"gnn.att_norm", c.gnn.att_norm},
      {"posenc_LapPE.enable", b(p.lap)}, {"posenc_LapPE.dim_pe", n(p.lap_dim)}, {"posenc_LapPE.eigen.max_freqs", n(p.lap_freqs)},
      {"posenc_RWSE.enable", b(p.rwse)}, {"posenc_RWSE.dim_pe", n(p.rwse_dim)}, {"posenc_RWSE.kernel.times", n(p.rwse_steps)},
      {"posenc_Anchor.enable", b(p.anchor)}, {"posenc_Anchor.dim_pe", n(p.anchor_dim)},
      {"posenc_Anchor.cutoff", n(p.anchor_cutoff)}, {"posenc_AnchorInd.enable", b(p.indication)},
      {"gnn.position", c.gnn.position}, {"gnn.fusion", c.gnn.fusion}, {"gnn.pgnn_cutoff", n(c.gnn.pgnn_cutoff)},
      {"gnn.anchors", c.gnn.anchors}, {"gnn.position_features", b(c.gnn.position_features)},
      {"gnn.gir_hops", n(c.gnn.gir_hops)}, {"gnn.gir_aggregate", c.gnn.gir_aggregate}, {"gnn.gir_update", c.gnn.gir_update},
      {"posenc_SPD.enable", b(p.spd)}, {"posenc_SPD.max_dist", n(p.spd_max_dist)}, {"posenc_seq.kind", p.seq},
      {"posenc_seq.dim_pe", n(p.seq_dim)}, {"posenc_seq.max_len", n(p.seq_max_len)}, {"posenc_seq.buckets", n(p.seq_buckets)},
      {"posenc_seq.max_distance", n(p.seq_max_distance)}, {"train.select", c.train.select}, {"seed", n(c.seed)},
      {"num_runs", n(c.num_runs)}, {"num_threads", n(c.num_threads)}, {"out_dir", c.out_dir}};
  std::vector<std::string> out;
  for (const auto& key : config_keys()) {
    const auto it = values.find(key);
    // A key added to key_specs() without a value here is a programming error caught by the tests.
    check(it != values.end(), "describe_config: no value for key " + key);
    out.push_back(key + "=" + it->second);
  }
  check(out.size() == values.size(), "describe_config: a value for a key that does not exist");
  return out;
}

ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  ExperimentConfig cfg;
  cfg.config_path = path;
  std::map<std::string, long> lines;  // key -> line in the file
  if (!path.empty()) apply_file(cfg, path, lines);

  for (const auto& token : overrides) {
    const std::string key = apply_override(cfg, token);
    // The later-applied of dataset.path / dataset.name wins.
    if (key == "dataset.path" && !cfg.dataset.path.empty()) cfg.dataset.name.clear();
    if (key == "dataset.name" && !cfg.dataset.name.empty()) cfg.dataset.path.clear();
  }

  const std::string where = path.empty() ? kCommandLine : path;
  if (!cfg.dataset.path.empty() && !cfg.dataset.name.empty()) {
    // Only possible when the file sets both.
    const long path_line = lines.count("dataset.path") ? lines["dataset.path"] : 0;
    const long name_line = lines.count("dataset.name") ? lines["dataset.name"] : 0;
    throw_input_error(where, std::max(path_line, name_line), "both dataset.path and dataset.name are set in section", "dataset",
                      "keep one: remove dataset.name (line " + std::to_string(name_line) +
                          ") or dataset.path (line " + std::to_string(path_line) +
                          "), or override one, e.g. dataset.name=karate");
  }
  if (cfg.gnn.gir_hops > 0 && cfg.gnn.gir_hops < cfg.gnn.layers_mp)
    throw_input_error(where, lines.count("gnn.gir_hops") ? lines["gnn.gir_hops"] : 0,
                      "gnn.gir_hops is below gnn.layers_mp (" + std::to_string(cfg.gnn.layers_mp) + "):",
                      std::to_string(cfg.gnn.gir_hops),
                      "GIR propagates at least one hop per layer: set gnn.gir_hops to 0 (= layers_mp), -1 "
                      "(until every node is reached) or a value >= gnn.layers_mp");
  auto line_or_0 = [&](const char* key) { return lines.count(key) ? lines[key] : 0L; };
  if (cfg.out_dir.empty() && (cfg.train.ckpt_period > 0 || cfg.train.auto_resume)) {
    const char* key = cfg.train.ckpt_period > 0 ? "train.ckpt_period" : "train.auto_resume";
    throw_input_error(where, line_or_0(key), "out_dir is not set, but the checkpoint it holds (out_dir/checkpoint.bin) is needed by",
                      key, "set out_dir=path/to/run_dir, or drop " + std::string(key));
  }
  if (cfg.posenc.spd && cfg.gnn.layer_type != "transformer")
    config_error(cfg, "posenc_SPD.enable", "posenc_SPD is an attention bias: it needs gnn.layer_type transformer (now " +
                                               cfg.gnn.layer_type + "), got",
                 "set gnn.layer_type=transformer or posenc_SPD.enable=false");
  for (const char* kind : {"rope", "t5_bias", "fft_kernel"})
    if (cfg.posenc.seq == kind && cfg.gnn.layer_type != "transformer")
      config_error(cfg, "posenc_seq.kind", "posenc_seq.kind " + cfg.posenc.seq + " acts inside attention: it needs "
                                           "gnn.layer_type transformer (now " + cfg.gnn.layer_type + "), got",
                   "set gnn.layer_type=transformer, or an appended encoding (sinusoidal, learned, fourier, cape)");
  if (cfg.gnn.att_norm != "softmax" && cfg.gnn.layer_type != "transformer")
    config_error(cfg, "gnn.att_norm", "gnn.att_norm " + cfg.gnn.att_norm + " needs gnn.layer_type transformer (now " +
                                          cfg.gnn.layer_type + "), got",
                 "set gnn.layer_type=transformer or gnn.att_norm=softmax");
  if (cfg.posenc.seq == "fft_kernel" && cfg.gnn.att_norm != "softmax")
    config_error(cfg, "gnn.att_norm", "posenc_seq.kind fft_kernel normalises its own kernel weights; gnn.att_norm must "
                                      "stay softmax, got",
                 "set gnn.att_norm=softmax");
  if (!cfg.dataset.name.empty()) {
    const auto names = builtin_dataset_names();
    if (std::find(names.begin(), names.end(), cfg.dataset.name) == names.end()) {
      const std::string near = nearest(cfg.dataset.name, names);
      config_error(cfg, "dataset.name", "unknown built-in dataset",
                   (near.empty() ? "" : "did you mean '" + near + "'? ") + "available: " + join(names) +
                       " (or give the path of a dataset.yaml as dataset.path)");
    }
  }
  if (!cfg.dataset.partitions.empty()) {
    // Partitioned training covers the message-passing stacks whose layers only read their
    // in-neighbours (one halo exchange per layer); whole-graph encodings and anchor branches
    // would need the whole graph on every rank.
    if (!layer_descriptor(cfg.gnn.layer_type).distributed) {
      std::vector<std::string> ok;
      for (const auto& d : layer_registry())
        if (d.distributed) ok.push_back(d.name);
      config_error(cfg, "gnn.layer_type",
                   "partitioned training (dataset.partitions) supports " + join(ok, ", ", " and ") + ", got",
                   "use one of those, or train on one process (drop dataset.partitions)");
    }
    if (cfg.gnn.position != "none")
      config_error(cfg, "gnn.position", "partitioned training (dataset.partitions) has no anchor branch yet, got",
                   "set gnn.position=none, or train on one process");
    const pe::PosEncSpec& pe = cfg.posenc;
    if (pe.lap || pe.rwse || pe.anchor || pe.indication || pe.spd || pe.seq != "none") {
      const char* key = pe.lap ? "posenc_LapPE.enable" : pe.rwse ? "posenc_RWSE.enable" : pe.anchor ? "posenc_Anchor.enable"
                        : pe.indication ? "posenc_AnchorInd.enable" : pe.spd ? "posenc_SPD.enable" : "posenc_seq.kind";
      config_error(cfg, key, "partitioned training (dataset.partitions) has no positional encodings yet, got",
                   "disable it, or train on one process");
    }
    if (cfg.train.auto_resume)
      config_error(cfg, "train.auto_resume", "partitioned training (dataset.partitions) cannot resume checkpoints yet, got",
                   "drop train.auto_resume, or train on one process");
  }
  if (cfg.dataset.path.empty() && cfg.dataset.name.empty())
    throw_input_error(where, 0, "no dataset given: neither dataset.name nor dataset.path is set in section",
                      "dataset",
                      "add dataset.name=karate (a built-in) or dataset.path=path/to/dataset.yaml, "
                      "on the command line or in the config's dataset section");
  return cfg;
}

}  // namespace locus
