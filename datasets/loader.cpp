#include "datasets/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/error.hpp"
#include "core/text.hpp"
#include "core/yaml_input.hpp"
#include "datasets/graph_readers.hpp"
#include "datasets/readers.hpp"
#include "datasets/splits.hpp"
#include "datasets/tu_reader.hpp"

namespace fs = std::filesystem;

namespace locus {

const char* task_name(Task t) {
  switch (t) {
    case Task::NodeClassification: return "node_classification";
    case Task::LinkPrediction: return "link_prediction";
    case Task::PairClassification: return "pair_classification";
    case Task::GraphClassification: return "graph_classification";
    case Task::GraphRegression: return "graph_regression";
  }
  return "?";
}

namespace {

// The sparse-node-set check (see load_dataset_yaml).
constexpr int64_t kMaxSparseNodes = int64_t{1} << 20;
constexpr int64_t kMaxNodesPerEntry = 16;

long line_of(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

std::string kind_of(const YAML::Node& n) {
  if (n.IsMap()) return "(a mapping)";
  if (n.IsSequence()) return "(a list)";
  if (n.IsNull()) return "(nothing)";
  return n.Scalar();
}

// One mapping of the YAML ("" for the top level, "edges", "split.random", ...), with its keys
// checked on construction and typed getters whose errors name file, line, key and value.
class Section {
 public:
  Section(const YAML::Node& node, std::string name, const std::string& file, std::vector<std::string> keys,
          long parent_line = 0)
      : node_(node), name_(std::move(name)), file_(file), keys_(std::move(keys)), parent_line_(parent_line) {
    if (!node.IsMap())
      throw_input_error(file_, node.IsNull() ? parent_line : line_of(node),
                        name_.empty() ? "the dataset YAML must be a mapping of keys, not" : name_ + " must be a mapping of keys, not",
                        kind_of(node),
                        name_.empty() ? "start with lines such as 'name: mygraph' (see datasets/README.md)"
                                      : "write the keys of " + name_ + " indented below it, e.g. '" + name_ +
                                            ":' then '  " + keys_.front() + ": ...'");
    std::vector<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar())
        throw_input_error(file_, line_of(it->first), "a key must be a plain word, not", kind_of(it->first),
                          "valid keys" + in() + ": " + join(keys_));
      const std::string key = it->first.Scalar();
      if (std::find(keys_.begin(), keys_.end(), key) == keys_.end()) {
        std::string near = nearest(key, keys_);
        throw_input_error(file_, line_of(it->first), "unknown key" + in(), key,
                          (near.empty() ? "" : "did you mean '" + near + "'? ") + "valid keys" + in() + ": " +
                              join(keys_));
      }
      if (std::find(seen.begin(), seen.end(), key) != seen.end())
        throw_input_error(file_, line_of(it->first), "key given twice" + in(), key, "keep only one '" + key + ":'");
      seen.push_back(key);
      lines_.emplace_back(key, line_of(it->first));
    }
  }

  const std::string& file() const { return file_; }
  bool has(const std::string& key) const { return static_cast<bool>(node_[key]); }
  YAML::Node get(const std::string& key) const { return node_[key]; }
  // Line of the key (the value may start on a later line).
  long line(const std::string& key) const {
    for (const auto& [k, l] : lines_)
      if (k == key) return l;
    return line_of(node_);
  }
  long own_line() const { return line_of(node_); }
  std::string dotted(const std::string& key) const { return name_.empty() ? key : name_ + "." + key; }

  [[noreturn]] void fail(const std::string& key, const std::string& problem, const std::string& token,
                         const std::string& fix) const {
    throw_input_error(file_, line(key), problem, token, fix);
  }

  void require(const std::string& key, const std::string& example) const {
    if (has(key)) return;
    throw_input_error(file_, name_.empty() ? 0 : parent_line_ > 0 ? parent_line_ : own_line(), "missing required key", dotted(key),
                      "add '" + key + ": " + example + "'" + (name_.empty() ? " at the top level" : " under " + name_));
  }

  std::string scalar(const std::string& key, const std::string& example) const {
    YAML::Node v = node_[key];
    if (v.IsNull())
      fail(key, "no value for " + dotted(key), key,
           key == "comment" ? "write comment: \"#\" with quotes (an unquoted # starts a YAML comment)"
                            : "write '" + key + ": " + example + "'");
    if (!v.IsScalar())
      fail(key, "expected a single value for " + dotted(key) + ", got", kind_of(v),
           "write '" + key + ": " + example + "'");
    return v.Scalar();
  }

  std::string text(const std::string& key, const std::string& example, const std::string& dflt = "") const {
    return has(key) ? scalar(key, example) : dflt;
  }

  bool boolean(const std::string& key, bool dflt) const {
    if (!has(key)) return dflt;
    std::string s = scalar(key, "true");
    if (const auto b = yaml_bool(s)) return *b;  // core/yaml_input.hpp: the rules configs share
    fail(key, "expected true or false for " + dotted(key), s,
         "write '" + key + ": true' or '" + key + ": false'");
  }

  int64_t integer(const std::string& key, int64_t lo, int64_t hi, const std::string& example) const {
    std::string s = scalar(key, example);
    auto v = yaml_int(s);
    if (!v) fail(key, "expected a whole number for " + dotted(key), s, "write '" + key + ": " + example + "'");
    if (*v < lo || *v > hi)
      fail(key, dotted(key) + " must be " + (hi == INT64_MAX ? "at least " + std::to_string(lo)
                                                                : "between " + std::to_string(lo) + " and " +
                                                                      std::to_string(hi)) +
                    ", not",
           s, "write '" + key + ": " + example + "'");
    return *v;
  }

  double fraction(const std::string& key) const {
    std::string s = scalar(key, "0.6");
    auto v = yaml_number(s);
    if (!v) fail(key, "expected a number for " + dotted(key), s, "write a fraction between 0 and 1, e.g. '" + key + ": 0.6'");
    if (!(*v >= 0.0 && *v <= 1.0))
      fail(key, dotted(key) + " must be a fraction between 0 and 1, not", s, "write e.g. '" + key + ": 0.6'");
    return *v;
  }

  std::string choice(const std::string& key, const std::vector<std::string>& options) const {
    if (!has(key)) return options.front();
    std::string s = scalar(key, options.front());
    if (std::find(options.begin(), options.end(), s) != options.end()) return s;
    std::string near = nearest(s, options);
    fail(key, "unknown value for " + dotted(key), s,
         (near.empty() ? "" : "did you mean '" + near + "'? ") + "choose one of: " + join(options));
  }

 private:
  std::string in() const { return name_.empty() ? "" : " in " + name_; }

  YAML::Node node_;
  std::string name_;
  const std::string& file_;
  std::vector<std::string> keys_;
  std::vector<std::pair<std::string, long>> lines_;
  long parent_line_;  // line of this section's own key in its parent
};

TextFormat text_format(const Section& s) {
  TextFormat f;
  std::string d = s.choice("delimiter", {"whitespace", "tab", "comma"});
  f.delimiter = d == "tab" ? Delimiter::Tab : d == "comma" ? Delimiter::Comma : Delimiter::Whitespace;
  if (s.has("comment")) {
    f.comment = s.scalar("comment", "\"#\"");
    if (f.comment.find_first_of(" \t") != std::string::npos)
      s.fail("comment", "the comment marker of " + s.dotted("comment") + " must not contain spaces",
             f.comment, "use a character such as \"#\" or \"%\" (or \"\" for no comments)");
  }
  return f;
}

// A file named in the YAML: resolved against the YAML's folder and checked before reading, so a
// wrong path is reported at its YAML line.
std::string data_path(const Section& s, const std::string& key, const fs::path& dir) {
  std::string p = s.scalar(key, "FILE");
  fs::path full = fs::path(p).is_absolute() ? fs::path(p) : dir / p;
  const std::string f = full.string();
  std::error_code ec;
  const std::string where = dir.empty() ? "the current folder" : "the YAML's folder " + dir.string();
  if (!fs::exists(full, ec))
    s.fail(key, s.dotted(key) + ": file not found", f, "paths are relative to " + where + "; fix the path");
  if (fs::is_directory(full, ec))
    s.fail(key, s.dotted(key) + " is a directory, not a file", f, "name the file inside it");
  if (!std::ifstream(full, std::ios::binary))
    s.fail(key, s.dotted(key) + ": cannot open the file", f, "check that the file is readable");
  return f;
}

std::string read_whole_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw_input_error(path, 0, "dataset YAML not found", path, "check the path to the dataset.yaml");
  if (fs::is_directory(path, ec)) {
    fs::path inside = fs::path(path) / "dataset.yaml";
    throw_input_error(path, 0, "is a directory, not a dataset YAML file", path,
                      fs::exists(inside, ec) ? "did you mean " + inside.string() + "?"
                                             : "give the path of the dataset's .yaml file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_input_error(path, 0, "cannot open the dataset YAML", path, "check that the file is readable");
  return read_yaml_text(in, path);  // at most 1 MiB
}

// Syntax errors, size, depth and alias-expansion caps: core/yaml_input.hpp.
YAML::Node parse_yaml(const std::string& path, const std::string& text) {
  YamlParseOptions opt;
  opt.syntax_fix = "check the indentation, colons and quotes on that line; see datasets/README.md";
  return parse_yaml_capped(text, path, opt).front();
}


// The train / val / test files of a split (an empty name: no file), each read by `read` into ids
// 0..items-1 (nodes or graphs, `what`), in file order. An id in two parts, or one without a label
// (when `labels` is given), is an error at its line; token(id) spells the id as the file does, and
// `label_it` opens the fix ("label it", "label it in labels.tsv").
SplitIds read_split_files(const std::string (&files)[3], int64_t items, const std::vector<int32_t>& labels,
                          const std::string& what, const std::function<IdList(const std::string&)>& read,
                          const std::function<std::string(int32_t)>& token, const std::string& label_it) {
  const char* parts[3] = {"train", "val", "test"};
  SplitIds out;
  std::vector<int32_t>* into[3] = {&out.train, &out.val, &out.test};
  std::vector<int8_t> part_of(static_cast<size_t>(items), -1);
  std::vector<long> line_in_part(static_cast<size_t>(items), 0);
  for (int i = 0; i < 3; ++i) {
    if (files[i].empty()) continue;
    IdList l = read(files[i]);
    for (size_t k = 0; k < l.ids.size(); ++k) {
      const auto v = static_cast<size_t>(l.ids[k]);
      if (part_of[v] >= 0)
        throw_input_error(l.path, l.line[k],
                          what + " is in both the " + parts[part_of[v]] + " split (" + files[part_of[v]] + ":" +
                              std::to_string(line_in_part[v]) + ") and the " + parts[i] + " split:",
                          token(l.ids[k]), "remove it from one of the two files");
      if (!labels.empty() && labels[v] < 0)
        throw_input_error(l.path, l.line[k], "split " + what + " has no label", token(l.ids[k]),
                          label_it + " or remove it from the " + parts[i] + " split");
      part_of[v] = static_cast<int8_t>(i);
      line_in_part[v] = l.line[k];
    }
    *into[i] = std::move(l.ids);
  }
  return out;
}
}  // namespace

namespace {
// A folder holding DS_A.txt (a TU dataset as downloaded) and no dataset.yaml.
bool is_bare_tu_folder(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec) || fs::exists(fs::path(path) / "dataset.yaml", ec)) return false;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "_A.txt") == 0) return true;
  }
  return false;
}
}  // namespace

Dataset load_dataset_yaml(const std::string& path) {
  if (is_bare_tu_folder(path)) {
    // As downloaded: graph classification, split as the GIN protocol does (10 stratified folds,
    // fold 0 tested, the next one validating); a dataset.yaml with format: tu chooses otherwise.
    Dataset ds = read_tu(path, find_tu_prefix(path), Task::GraphClassification);
    const auto labelled = std::count_if(ds.graph_labels.begin(), ds.graph_labels.end(), [](int32_t l) { return l >= 0; });
    if (labelled < 2) return ds;  // nothing to split
    SplitIds s = fold_split(ds.graph_labels, ds.num_graphs, FoldSplitSpec{std::min<int64_t>(10, labelled), 0, true, true, 0},
                            ErrorSite{path, 0});
    ds.train_graphs = std::move(s.train), ds.val_graphs = std::move(s.val), ds.test_graphs = std::move(s.test);
    return ds;
  }
  const std::string text = read_whole_file(path);
  const YAML::Node root = parse_yaml(path, text);
  if (!root || root.IsNull())
    throw_input_error(path, 0, "the dataset YAML is empty", "",
                      "add at least 'name:' and 'edges:' (see datasets/README.md)");
  const fs::path dir = fs::path(path).parent_path();

  // ---- Read and check every setting before touching any data file.
  const Section top(root, "", path,
                    {"name", "format", "tu_prefix", "task", "directed", "ids", "num_nodes", "edges", "features", "labels",
                     "nodes", "graphs", "split"});
  Dataset ds;
  ds.source = path;
  top.require("name", "mygraph");
  ds.name = top.scalar("name", "mygraph");
  if (ds.name.empty()) top.fail("name", "empty dataset name", "name", "write 'name: mygraph'");
  const bool tu = top.choice("format", {"edge_list", "tu"}) == "tu";
  if (top.has("tu_prefix") && !tu)
    top.fail("tu_prefix", "tu_prefix is for format: tu", "tu_prefix", "add 'format: tu' or remove tu_prefix");
  if (tu)  // the folder's files say everything these keys would
    for (const char* key : {"directed", "ids", "num_nodes", "edges", "features", "labels", "nodes", "graphs"})
      if (top.has(key))
        top.fail(key, std::string("format: tu reads the TU files of the YAML's folder; '") + key + "' does not apply", key,
                 std::string("remove '") + key + ":' (only name, tu_prefix, task and split go with format: tu)");
  const std::vector<std::string> tasks = tu ? std::vector<std::string>{"graph_classification", "graph_regression"}
                                            : std::vector<std::string>{"node_classification", "link_prediction",
                                                                       "pair_classification", "graph_classification",
                                                                       "graph_regression"};
  const std::string task = top.choice("task", tasks);
  ds.task = task == "link_prediction"        ? Task::LinkPrediction
            : task == "pair_classification"  ? Task::PairClassification
            : task == "graph_classification" ? Task::GraphClassification
            : task == "graph_regression"     ? Task::GraphRegression
                                             : Task::NodeClassification;
  ds.directed = top.boolean("directed", false);
  const IdMode id_mode = top.choice("ids", {"index", "name"}) == "name" ? IdMode::Name : IdMode::Index;
  const int64_t declared_nodes =
      top.has("num_nodes") ? top.integer("num_nodes", 1, INT32_MAX, "2708 (the number of nodes)") : -1;

  std::optional<Section> edges_s, feat_s, label_s, nodes_s, split_s;
  EdgeOptions eopt;
  std::string edges_path;
  if (top.has("edges")) {
    edges_s.emplace(top.get("edges"), "edges", path,
                    std::vector<std::string>{"path", "weighted", "delimiter", "comment", "duplicates", "self_loops"},
                    top.line("edges"));
    edges_s->require("path", "edges.tsv");
    edges_path = data_path(*edges_s, "path", dir);
    eopt.format = text_format(*edges_s);
    eopt.directed = ds.directed;
    eopt.weighted = edges_s->boolean("weighted", false);
    eopt.duplicates = edges_s->choice("duplicates", {"merge", "error"}) == "error" ? DuplicatePolicy::Error
                                                                                  : DuplicatePolicy::Merge;
    const std::string sl = edges_s->choice("self_loops", {"keep", "drop", "error"});
    eopt.self_loops = sl == "drop" ? SelfLoopPolicy::Drop : sl == "error" ? SelfLoopPolicy::Error : SelfLoopPolicy::Keep;
  }

  std::string feat_path;
  TextFormat feat_fmt;
  int64_t feat_dim = 0;
  if (top.has("features")) {
    feat_s.emplace(top.get("features"), "features", path,
                   std::vector<std::string>{"path", "format", "dim", "delimiter", "comment"}, top.line("features"));
    feat_s->require("path", "features.tsv");
    ds.features_dense = feat_s->choice("format", {"sparse", "dense"}) == "dense";
    if (!ds.features_dense) feat_s->require("dim", "1433 (the number of features; required for sparse features)");
    if (feat_s->has("dim")) feat_dim = feat_s->integer("dim", 1, INT32_MAX, "1433 (the number of features)");
    feat_path = data_path(*feat_s, "path", dir);
    feat_fmt = text_format(*feat_s);
  }

  std::string label_path;
  TextFormat label_fmt;
  int64_t declared_classes = 0;
  long classes_line = 0;
  if (top.has("labels")) {
    label_s.emplace(top.get("labels"), "labels", path,
                    std::vector<std::string>{"path", "num_classes", "delimiter", "comment"}, top.line("labels"));
    label_s->require("path", "labels.tsv");
    if (label_s->has("num_classes")) {
      declared_classes = label_s->integer("num_classes", 1, INT32_MAX, "7 (the number of classes)");
      classes_line = label_s->line("num_classes");
    }
    label_path = data_path(*label_s, "path", dir);
    label_fmt = text_format(*label_s);
  }

  std::string table_path;
  NodeTableOptions topt;
  if (top.has("nodes")) {
    nodes_s.emplace(top.get("nodes"), "nodes", path,
                    std::vector<std::string>{"path", "id_column", "label_column", "feature_columns", "graph_column",
                                             "delimiter", "comment"},
                    top.line("nodes"));
    nodes_s->require("path", "cora.content");
    table_path = data_path(*nodes_s, "path", dir);
    topt.format = text_format(*nodes_s);
    topt.where = "nodes in " + path + ":" + std::to_string(top.line("nodes"));
    if (nodes_s->has("id_column")) topt.id_column = nodes_s->integer("id_column", INT32_MIN, INT32_MAX, "0");
    if (nodes_s->has("label_column"))
      topt.label_column = nodes_s->integer("label_column", INT32_MIN, INT32_MAX, "-1");
    if (nodes_s->has("graph_column"))
      topt.graph_column = nodes_s->integer("graph_column", INT32_MIN, INT32_MAX, "1");
    if (nodes_s->has("feature_columns")) {
      std::string s = nodes_s->scalar("feature_columns", "\"1:-1\"");
      topt.feature_columns = parse_column_slice(s);
      if (!topt.feature_columns)
        nodes_s->fail("feature_columns", "nodes.feature_columns is not a [start:stop) slice", s,
                      "write a Python-style slice in quotes, e.g. feature_columns: \"1:-1\"");
    }
    if (topt.label_column && label_s)
      nodes_s->fail("label_column", "labels given twice: nodes.label_column and labels:", "label_column",
                    "remove one of them");
    if (topt.feature_columns && feat_s)
      nodes_s->fail("feature_columns", "features given twice: nodes.feature_columns and features:",
                    "feature_columns", "remove one of them");
  }
  // Many graphs: the graph of every node (graphs.path or nodes.graph_column), graph labels or targets.
  std::optional<Section> graphs_s;
  std::string graphs_path, graph_labels_path, graph_targets_path;
  TextFormat graphs_fmt;
  int64_t declared_graph_classes = 0;
  if (top.has("graphs")) {
    graphs_s.emplace(top.get("graphs"), "graphs", path,
                     std::vector<std::string>{"path", "labels", "num_classes", "targets", "delimiter", "comment"},
                     top.line("graphs"));
    graphs_fmt = text_format(*graphs_s);
    if (graphs_s->has("path") == topt.graph_column.has_value())
      graphs_s->fail(graphs_s->has("path") ? "path" : "labels",
                     graphs_s->has("path") ? "graph ids given twice: graphs.path and nodes.graph_column"
                                           : "graphs: needs the graph of each node",
                     "path", graphs_s->has("path") ? "remove one of them" : "add 'path: graphs.tsv' (lines 'node graph') or nodes.graph_column");
    if (graphs_s->has("path")) graphs_path = data_path(*graphs_s, "path", dir);
    if (graphs_s->has("labels")) graph_labels_path = data_path(*graphs_s, "labels", dir);
    if (graphs_s->has("targets")) graph_targets_path = data_path(*graphs_s, "targets", dir);
    if (graphs_s->has("num_classes"))
      declared_graph_classes = graphs_s->integer("num_classes", 1, INT32_MAX, "2 (the number of graph classes)");
    if (ds.task == Task::GraphClassification && graph_labels_path.empty())
      graphs_s->require("labels", "graph_labels.tsv (lines 'graph label'; needed by graph_classification)");
    if (ds.task == Task::GraphRegression && graph_targets_path.empty())
      graphs_s->require("targets", "graph_targets.tsv (lines 'graph v1 ... vt'; needed by graph_regression)");
    if (is_pair_task(ds.task))
      top.fail("task", task + " runs on one graph, not on a dataset of many graphs", task,
               "remove graphs: or choose node_classification, graph_classification or graph_regression");
  } else if (topt.graph_column) {
    nodes_s->fail("graph_column", "nodes.graph_column needs a graphs: section", "graph_column",
                  "add 'graphs:' (with labels: or targets: for a graph task)");
  } else if (ds.is_graph_task() && !tu) {
    throw_input_error(path, 0, task + " needs many graphs; missing required key", "graphs",
                      "add 'graphs:' with 'path: graphs.tsv' (lines 'node graph') and labels: or targets:, or use format: tu");
  }
  const bool has_labels = label_s || topt.label_column;
  if (ds.task == Task::NodeClassification && !has_labels)
    throw_input_error(path, 0, "node_classification needs labels; missing required key", "labels",
                      "add 'labels:' with 'path: labels.tsv' (or nodes.label_column), or set task: link_prediction");

  // Split settings.
  enum class SplitForm { None, Files, Random, PerClass, Folds } form = SplitForm::None;
  std::string split_files[3];
  RandomSplitSpec rspec;
  PerClassSplitSpec pspec;
  FoldSplitSpec fspec;
  ErrorSite split_site{path, 0};
  TextFormat split_fmt;  // split files: one id per line, '#' comments
  if (top.has("split")) {
    split_s.emplace(top.get("split"), "split", path,
                    std::vector<std::string>{"train", "val", "test", "random", "per_class", "folds"}, top.line("split"));
    const bool r = split_s->has("random"), p = split_s->has("per_class"), k = split_s->has("folds");
    if (int(r) + int(p) + int(k) > 1)
      split_s->fail(k ? "folds" : "per_class", "split has more than one of random, per_class and folds", k ? "folds" : "per_class",
                    "keep one split form");
    const bool f = split_s->has("train") || split_s->has("val") || split_s->has("test");
    if (r && p)
      split_s->fail("per_class", "split has both random and per_class", "per_class", "keep one split form");
    if ((r || p || k) && f)
      split_s->fail(split_s->has("train") ? "train" : split_s->has("val") ? "val" : "test",
                    "split mixes split files with a generated split (" + std::string(r ? "random" : p ? "per_class" : "folds") + ")",
                    split_s->has("train") ? "train" : split_s->has("val") ? "val" : "test",
                    "use either train/val/test files or one of random / per_class");
    if (r) {
      form = SplitForm::Random;
      Section rs(split_s->get("random"), "split.random", path, {"train", "val", "test", "seed", "stratify"},
                 split_s->line("random"));
      split_site.line = split_s->line("random");
      rs.require("train", "0.6");
      rspec.train = rs.fraction("train");
      rspec.val = rs.has("val") ? rs.fraction("val") : 0.0;
      if (rs.has("test")) rspec.test = rs.fraction("test");
      rspec.seed = static_cast<uint64_t>(rs.has("seed") ? rs.integer("seed", 0, INT64_MAX, "0") : 0);
      rspec.stratify = rs.boolean("stratify", false);
      double sum = rspec.train + rspec.val + rspec.test.value_or(0.0);
      if (sum > 1.0 + 1e-9) {
        std::ostringstream os;
        os << sum;
        rs.fail(rs.has("test") ? "test" : "val", "split.random fractions add up to more than 1:", os.str(),
                "make train + val + test at most 1");
      }
      if (rspec.stratify && ((graphs_s || tu) ? ds.task != Task::GraphClassification : !has_labels))
        rs.fail("stratify", std::string("split.random.stratify needs ") + ((graphs_s || tu) ? "graph labels (graph_classification)" : "labels"),
                "true", (graphs_s || tu) ? "set stratify: false" : "add labels: or set stratify: false");
    } else if (k) {
      form = SplitForm::Folds;
      Section fs_(split_s->get("folds"), "split.folds", path, {"k", "fold", "seed", "stratify", "val"}, split_s->line("folds"));
      split_site.line = split_s->line("folds");
      fspec.k = fs_.has("k") ? fs_.integer("k", 2, INT32_MAX, "10") : 10;
      fspec.fold = fs_.has("fold") ? fs_.integer("fold", 0, fspec.k - 1, "0 (the fold to test on, 0..k−1)") : 0;
      fspec.seed = static_cast<uint64_t>(fs_.has("seed") ? fs_.integer("seed", 0, INT64_MAX, "0") : 0);
      fspec.stratify = fs_.boolean("stratify", false);
      fspec.val = fs_.boolean("val", true);
    } else if (p) {
      if (graphs_s || tu)
        split_s->fail("per_class", "split.per_class picks nodes per class; a dataset of many graphs splits by graph",
                      "per_class", "use split.random or split.folds (fractions or folds of the graphs)");
      form = SplitForm::PerClass;
      Section ps(split_s->get("per_class"), "split.per_class", path, {"train", "val", "test", "seed"},
                 split_s->line("per_class"));
      split_site.line = split_s->line("per_class");
      ps.require("train", "20");
      pspec.train = ps.integer("train", 0, INT32_MAX, "20 (training nodes per class)");
      pspec.val = ps.has("val") ? ps.integer("val", 0, INT32_MAX, "500") : 0;
      if (ps.has("test")) pspec.test = ps.integer("test", 0, INT32_MAX, "1000");
      pspec.seed = static_cast<uint64_t>(ps.has("seed") ? ps.integer("seed", 0, INT64_MAX, "0") : 0);
      if (!has_labels)
        split_s->fail("per_class", "split.per_class needs labels", "per_class", "add labels: or use split.random");
    } else if (f) {
      form = SplitForm::Files;
      const char* parts[3] = {"train", "val", "test"};
      for (int i = 0; i < 3; ++i)
        if (split_s->has(parts[i])) split_files[i] = data_path(*split_s, parts[i], dir);
    }
  }

  // Splits of a dataset of many graphs are by graph: files of graph ids (1-based for format: tu, as
  // its files number graphs), fractions or folds of the graphs (stratified by graph label). A node
  // task then trains on the labelled nodes of its training graphs.
  auto split_graphs = [&](Dataset& d, int64_t base) {
    const std::vector<int32_t> no_labels;
    const std::vector<int32_t>& strata = d.task == Task::GraphClassification ? d.graph_labels : no_labels;
    SplitIds parts;
    if (form == SplitForm::Files)
      parts = read_split_files(
          split_files, d.num_graphs, strata, "graph",
          [&](const std::string& f) { return read_graph_id_list(f, split_fmt, d.num_graphs, base); },
          [&](int32_t g) { return std::to_string(g + base); }, "label it");
    else if (form == SplitForm::Random)
      parts = random_split(strata, d.num_graph_classes, d.num_graphs, rspec, split_site);
    else if (form == SplitForm::Folds)
      parts = fold_split(strata, d.num_graphs, fspec, split_site);
    d.train_graphs = std::move(parts.train), d.val_graphs = std::move(parts.val), d.test_graphs = std::move(parts.test);
    if (d.task == Task::NodeClassification) {
      d.train = labelled_nodes_of(d, d.train_graphs);
      d.val = labelled_nodes_of(d, d.val_graphs);
      d.test = labelled_nodes_of(d, d.test_graphs);
    }
  };
  if (tu) {
    const std::string folder = dir.empty() ? std::string(".") : dir.string();
    const std::string prefix = top.has("tu_prefix") ? top.scalar("tu_prefix", "MUTAG") : find_tu_prefix(folder);
    Dataset t = read_tu(folder, prefix, ds.task);
    t.name = ds.name;
    t.source = path;
    split_graphs(t, 1);
    return t;
  }

  // ---- Read the data files: the node-defining ones first, in the documented order.
  const bool table = nodes_s.has_value();
  NodeIdMap ids(id_mode, declared_nodes, path, top.has("num_nodes") ? top.line("num_nodes") : 0);
  ids.set_defining_files(table ? "the node table " + table_path : "the labels, features or edges files");
  NodeTable nt;
  if (table) nt = read_node_table(table_path, topt, ids);
  LabelEntries graph_entries;
  if (!graphs_path.empty()) graph_entries = read_node_graphs(graphs_path, graphs_fmt, ids, !table);
  LabelEntries label_entries;
  if (label_s) label_entries = read_labels(label_path, label_fmt, ids, !table);
  FeatureEntries feats;
  if (feat_s)
    feats = ds.features_dense ? read_dense_features(feat_path, feat_fmt, feat_dim, ids, !table)
                              : read_sparse_features(feat_path, feat_fmt, feat_dim, ids, !table);
  if (edges_s) {
    EdgeList el = read_edges(edges_path, eopt, ids, !table);
    ds.src = std::move(el.src);
    ds.dst = std::move(el.dst);
    ds.weight = std::move(el.weight);
    ds.num_input_edges = el.num_input_edges;
    ds.num_duplicates_merged = el.num_duplicates_merged;
    ds.num_self_loops_dropped = el.num_self_loops_dropped;
  }

  ds.num_nodes = ids.num_nodes();
  if (id_mode == IdMode::Name && declared_nodes >= 0 && ds.num_nodes < declared_nodes)
    top.fail("num_nodes", "num_nodes is larger than the number of distinct node ids", std::to_string(declared_nodes),
             "the files name " + std::to_string(ds.num_nodes) + " nodes; set num_nodes: " +
                 std::to_string(ds.num_nodes) + " or remove it (optional with ids: name)");
  if (ds.num_nodes == 0)
    throw_input_error(path, 0, "the dataset has no nodes (empty graph)", ds.name,
                      "add edges, labels, features or a node table, or set num_nodes");

  // Memory below is O(num_nodes): with ids: index one stray id (or num_nodes) near 2^31 would
  // allocate gigabytes for a tiny file. Real graphs have at least one entry per few nodes.
  const auto entries = static_cast<int64_t>(ds.num_input_edges) + static_cast<int64_t>(label_entries.node.size()) +
                       static_cast<int64_t>(feats.value.size()) + static_cast<int64_t>(nt.labels.node.size()) +
                       static_cast<int64_t>(nt.features.value.size());
  if (ds.num_nodes > kMaxSparseNodes && ds.num_nodes > kMaxNodesPerEntry * entries) {
    const std::string limit = " (the limit: more than " + std::to_string(kMaxSparseNodes) + " nodes needs at least one per " +
                              std::to_string(kMaxNodesPerEntry) + " nodes)";
    const std::string problem = "the dataset has " + std::to_string(ds.num_nodes) + " nodes but its files hold only " +
                                std::to_string(entries) + " edges, labels and non-zero features" + limit;
    if (declared_nodes >= 0)
      top.fail("num_nodes", problem, std::to_string(declared_nodes),
               "lower num_nodes to the real node count (every node takes memory), or remove it");
    throw_input_error(path, 0, problem, std::to_string(ds.num_nodes - 1),
                      "with ids: index the node count is 1 + the largest id; renumber the nodes 0..N-1 or set "
                      "ids: name");
  }

  if (table && nt.has_labels) label_entries = std::move(nt.labels);
  if (table && nt.has_features) {
    feats = std::move(nt.features);
    ds.features_dense = false;  // a node table declares no format
  }
  if (has_labels) {
    ResolvedLabels rl = resolve_labels(label_entries, ds.num_nodes, declared_classes, path, classes_line);
    ds.labels = std::move(rl.labels);
    ds.num_classes = rl.num_classes;
    ds.label_names = std::move(rl.names);
  }
  if (feats.dim > 0) {
    ds.features = build_feature_matrix(feats, ds.num_nodes);
  } else {
    ds.features.resize(ds.num_nodes, 0);
  }

  // ---- Many graphs: every node in one, every edge inside one, graph labels or targets.
  if (graphs_s) {
    const std::string yaml_at = path + ":" + std::to_string(top.line("graphs"));
    if (table && topt.graph_column) graph_entries = std::move(nt.graphs);
    assign_graphs(ds, graph_entries, id_mode == IdMode::Name ? ids.names() : std::vector<std::string>{}, yaml_at);
    if (edges_s) check_edges_within_graphs(ds, edges_path, eopt.format, ids);
    if (!graph_labels_path.empty()) {
      ResolvedLabels rl = resolve_labels(read_graph_labels(graph_labels_path, graphs_fmt, ds.num_graphs), ds.num_graphs,
                                         declared_graph_classes, path, graphs_s->line("num_classes"));
      ds.graph_labels = std::move(rl.labels);
      ds.num_graph_classes = rl.num_classes;
      ds.graph_label_names = std::move(rl.names);
    }
    if (!graph_targets_path.empty()) read_graph_targets(ds, graph_targets_path, graphs_fmt);
    split_graphs(ds, 0);
    if (id_mode == IdMode::Name) ds.node_names = ids.take_names();
    return ds;
  }

  // ---- Splits (after the node set is final: split files never add nodes).
  if (form == SplitForm::Folds) {
    SplitIds s = fold_split(ds.labels, ds.num_nodes, fspec, split_site);
    ds.train = std::move(s.train), ds.val = std::move(s.val), ds.test = std::move(s.test);
  } else if (form == SplitForm::Files) {
    SplitIds s = read_split_files(
        split_files, ds.num_nodes, ds.labels, "node", [&](const std::string& f) { return read_id_list(f, split_fmt, ids); },
        [&](int32_t v) { return id_mode == IdMode::Index ? std::to_string(v) : ids.names()[static_cast<size_t>(v)]; },
        "label it in " + (label_s ? label_path : table_path));
    ds.train = std::move(s.train), ds.val = std::move(s.val), ds.test = std::move(s.test);
  } else if (form == SplitForm::Random) {
    SplitIds s = random_split(ds.labels, ds.num_classes, ds.num_nodes, rspec, split_site);
    ds.train = std::move(s.train), ds.val = std::move(s.val), ds.test = std::move(s.test);
  } else if (form == SplitForm::PerClass) {
    SplitIds s = per_class_split(ds.labels, ds.num_classes, ds.label_names, pspec, split_site);
    ds.train = std::move(s.train), ds.val = std::move(s.val), ds.test = std::move(s.test);
  }
  if (id_mode == IdMode::Name) ds.node_names = ids.take_names();
  return ds;
}

}  // namespace locus
