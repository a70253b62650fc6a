// The experiment config of `locus train`: a GraphGym-style YAML file, then `key=value`
// overrides. The keys, their readers and the config's checks are the schema's
// (train/config.hpp); this file walks the YAML and places every error.
//
// Decisions worth knowing:
// - Keys may be nested (`gnn: {dim_inner: 16}`) or dotted at the top level
//   (`gnn.dim_inner: 16`); a key set twice in one file is an error (overrides may repeat:
//   the last one wins).
// - Relative `dataset.path` / `dataset.partitions` / `out_dir` from the file become absolute,
//   lexically normalised paths joined to the config file's folder. From overrides they are
//   stored exactly as given (relative to the current directory).
// - An empty or null value (`out_dir:`, `dataset.name=`) leaves a text key unset; for a
//   number or a choice it is an error.
// - An override that sets a non-empty `dataset.path` clears `dataset.name`, and vice versa.
//   After all overrides exactly one of them must be set.
#include "apps/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <system_error>

#include "core/error.hpp"
#include "core/text.hpp"
#include "core/yaml_input.hpp"

namespace locus {
namespace {

namespace fs = std::filesystem;

const char* const kCommandLine = "command line";

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

// Reads one value through the schema; a ConfigError is placed at the value's site.
void set_value(ExperimentConfig& cfg, const ConfigKey& key, const Value& v) {
  try {
    key.read(cfg, v.node);
  } catch (const ConfigError& e) {
    throw_input_error(v.site.file, v.site.line, e.problem.problem, shown(v), e.problem.fix);
  }
  cfg.origins[key.name] = {v.site.file, v.site.line, shown(v)};
}

bool is_section(const std::string& name) {
  const auto& s = config_sections();
  return std::find(s.begin(), s.end(), name) != s.end();
}

// The dotted keys of one section ("gnn" -> gnn.layer_type, gnn.layers_mp, ...).
std::vector<std::string> section_keys(const std::string& section) {
  std::vector<std::string> keys;
  for (const auto& k : config_keys())
    if (k.rfind(section + ".", 0) == 0) keys.push_back(k);
  return keys;
}

std::string leaf_of(const std::string& key) {
  auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

// "did you mean" for an unknown dotted key; else the valid keys of its section (or all).
std::string unknown_key_fix(const std::string& key) {
  auto dot = key.find('.');
  std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
  std::string near;
  if (is_section(section) && !leaf_of(key).empty()) {
    // A shortened key (`gnn.dim`, `optim.lr`): the one key of its section that contains it; of
    // several, the one that starts with it (gnn.dim: dim_inner, not branch_dim), else the one that
    // ends in it as a word (optim.lr: base_lr, not lr_min). Before the spelling distance, which
    // would pick a short neighbour.
    const std::string leaf = leaf_of(key), tail = "_" + leaf;
    std::vector<std::string> matches, starts, ends;
    for (const auto& k : section_keys(section)) {
      const std::string l = leaf_of(k);
      const size_t at = l.find(leaf);
      if (at == std::string::npos) continue;
      matches.push_back(k);
      if (at == 0) starts.push_back(k);
      if (l.size() > tail.size() && l.compare(l.size() - tail.size(), tail.size(), tail) == 0) ends.push_back(k);
    }
    if (matches.size() == 1) near = matches.front();
    else if (starts.size() == 1) near = starts.front();
    else if (ends.size() == 1) near = ends.front();
  }
  if (near.empty()) near = nearest(key, config_keys());
  if (near.empty()) {
    // A known key in the wrong section (`gnn.base_lr`, top-level `dim_inner`).
    std::vector<std::string> leaves;
    for (const auto& k : config_keys()) leaves.push_back(leaf_of(k));
    std::string leaf = nearest(leaf_of(key), leaves);
    if (!leaf.empty())
      for (const auto& k : config_keys())
        if (leaf_of(k) == leaf) near = k;
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
    const ConfigKey* spec = find_config_key(key);
    const long key_line = line_of(key_node);
    if (!spec) throw_input_error(path, key_line, "unknown key", key, unknown_key_fix(key));
    if (auto it = lines.find(key); it != lines.end())
      throw_input_error(path, key_line, "key set twice", key,
                        "it is already set on line " + std::to_string(it->second) + "; keep one of them");
    lines[key] = key_line;
    // A null value's mark points past the key (often the next line), so use the key's line.
    const long value_line = value.IsNull() ? 0 : line_of(value);
    set_value(cfg, *spec, Value{key, value, Site{path, value_line > 0 ? value_line : key_line, ""}});
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
  for (std::string* p : {&cfg.dataset.path, &cfg.dataset.partitions, &cfg.run.out_dir})
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
  const ConfigKey* spec = find_config_key(key);
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
  set_value(cfg, *spec, Value{key, value, Site{kCommandLine, 0, token}});
  return key;
}

}  // namespace

void config_error(const ExperimentConfig& cfg, const ConfigProblem& p) {
  if (auto it = cfg.origins.find(p.key); it != cfg.origins.end())
    throw_input_error(it->second.file, it->second.line, p.problem, p.token.empty() ? it->second.token : p.token, p.fix);
  throw_input_error(cfg.config_path.empty() ? kCommandLine : cfg.config_path, 0, p.problem,
                    p.token.empty() ? p.key : p.token, p.fix);
}

void config_error(const ExperimentConfig& cfg, const std::string& key, const std::string& problem, const std::string& fix) {
  config_error(cfg, ConfigProblem{key, problem, fix, ""});
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
  // The schema's checks of the whole config (train/config.hpp), placed where each key was set.
  const std::vector<ConfigProblem> problems = validate_config(cfg);
  if (!problems.empty()) config_error(cfg, problems.front());
  return cfg;
}

}  // namespace locus
