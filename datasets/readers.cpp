#include "datasets/readers.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <unordered_set>

#include "core/error.hpp"
#include "core/u64_map.hpp"

namespace locus {

namespace {

constexpr int64_t kMaxNodes = INT32_MAX;  // indices must fit int32_t

std::string str(std::string_view s) { return std::string(s); }

// About one entry per 16 bytes of text (a hint for the duplicate tables; 0 when unknown).
size_t expected_lines(const std::string& path) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<size_t>(std::min<uintmax_t>(bytes / 16, uintmax_t{1} << 28));
}

// Finds repeated keys (an edge, a (node, feature) pair packed into 64 bits). A file whose keys
// rise line by line holds no repeat, and most files are written so (sorted edge lists and feature
// tables): the first pass only compares each key with the one before and throws Unsorted at the
// first that does not rise; the file is then read again with a table of every key's first line.
class RepeatFinder {
 public:
  struct Unsorted {};
  RepeatFinder(bool table, const std::string& path) : table_(table), seen_(table ? expected_lines(path) : 0) {}
  // The line `key` first appeared on, or 0 when it is new.
  long first_line(uint64_t key, long line) {
    if (table_) {
      auto [first, fresh] = seen_.emplace(key, line);
      return fresh ? 0 : *first;
    }
    if (any_ && key <= last_) throw Unsorted{};
    any_ = true;
    last_ = key;
    return 0;
  }

 private:
  bool table_, any_ = false;
  uint64_t last_ = 0;
  U64Map<long> seen_;
};

// read(false), or read(true) when that pass found the file unsorted (RepeatFinder).
template <class Read>
auto read_finding_repeats(Read read) {
  try {
    return read(false);
  } catch (const RepeatFinder::Unsorted&) {
    return read(true);
  }
}

// Every file but a split list must hold data; an empty edges file is almost always a wrong path.
void require_data(const LineReader& r, const std::string& fix) {
  if (r.data_lines() > 0) return;
  throw_input_error(r.path(), 0,
                    r.line_number() == 0 ? "the file is empty"
                                         : "the file has only comments or blank lines (" +
                                               std::to_string(r.line_number()) + " lines)",
                    "", fix);
}

float parse_value(const LineReader& r, std::string_view tok, const char* what) {
  auto v = parse_double(tok);
  if (!v) r.fail(std::string(what) + " is not a number", tok, "write a decimal number such as 1, 0.5 or -2e-3");
  float f = static_cast<float>(*v);
  if (!std::isfinite(f))
    r.fail(std::string(what) + " is not finite (NaN, Inf or beyond float range)", tok,
           "replace it with a finite number");
  return f;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
NodeIdMap::NodeIdMap(IdMode mode, int64_t declared_num_nodes, std::string yaml_file, long num_nodes_line)
    : mode_(mode), declared_(declared_num_nodes), yaml_file_(std::move(yaml_file)),
      num_nodes_line_(num_nodes_line) {}

int64_t NodeIdMap::num_nodes() const {
  if (mode_ == IdMode::Index) return declared_ >= 0 ? declared_ : seen_;
  return static_cast<int64_t>(names_.size());
}

int32_t NodeIdMap::resolve(const LineReader& r, std::string_view tok, bool define) {
  // Built only for an error message: this runs once per id of every line.
  auto yaml_at = [&] { return yaml_file_ + (num_nodes_line_ > 0 ? ":" + std::to_string(num_nodes_line_) : ""); };
  if (mode_ == IdMode::Index) {
    auto v = parse_int(tok);
    const bool digits = !tok.empty() && std::all_of(tok.begin() + (tok.front() == '-' || tok.front() == '+'), tok.end(),
                                                    [](char c) { return c >= '0' && c <= '9'; });
    if (!v && digits && tok.size() > 1)  // an integer beyond 64 bits
      r.fail(tok.front() == '-' ? "negative node id" : "node id too large", tok,
             tok.front() == '-' ? "node ids start at 0 (with ids: index)"
                                : "ids must be below 2147483647 (32-bit); renumber the nodes or set ids: name in " +
                                      yaml_file_);
    if (!v)
      r.fail("node id is not an integer", tok,
             "with ids: index every node id is an integer 0..N-1; for named nodes set ids: name in " +
                 yaml_file_);
    if (*v < 0) r.fail("negative node id", tok, "node ids start at 0 (with ids: index)");
    if (*v >= kMaxNodes)
      r.fail("node id too large", tok,
             "ids must be below 2147483647 (32-bit); renumber the nodes or set ids: name in " + yaml_file_);
    if (declared_ >= 0 && *v >= declared_)
      r.fail("node id out of range", tok,
             "num_nodes is " + std::to_string(declared_) + " (" + yaml_at() + "), so ids must be 0.." +
                 std::to_string(declared_ - 1) + "; fix the id or raise num_nodes");
    if (!define && *v >= seen_ && declared_ < 0)
      r.fail("node id is not in the node set", tok,
             "the largest id in " + defining_ + " is " + std::to_string(seen_ - 1) +
                 "; add the node there or set num_nodes in " + yaml_file_);
    if (define && *v >= seen_) seen_ = *v + 1;
    return static_cast<int32_t>(*v);
  }
  if (auto it = index_of_.find(tok); it != index_of_.end()) return it->second;
  if (!define) unknown_name(r, tok);
  if (declared_ >= 0 && static_cast<int64_t>(names_.size()) >= declared_)
    r.fail("more distinct node ids than num_nodes (" + std::to_string(declared_) + ")", tok,
           "raise or remove num_nodes (" + yaml_at() + ") or fix the id");
  if (static_cast<int64_t>(names_.size()) >= kMaxNodes)
    r.fail("too many distinct node ids (more than 2147483647)", tok, "split the graph into smaller parts");
  auto idx = static_cast<int32_t>(names_.size());
  names_.emplace_back(tok);
  index_of_.emplace(names_.back(), idx);
  return idx;
}

void NodeIdMap::unknown_name(const LineReader& r, std::string_view tok) const {
  std::string fix;
  // Edit distances against every name only while that stays cheap.
  if (names_.size() <= 200000) {
    std::string near = nearest(str(tok), names_);
    if (!near.empty()) fix = "did you mean '" + near + "'? ";
  }
  fix += "with ids: name every node must first appear in " + defining_ + "; add it there or fix the id";
  r.fail("unknown node id (not in the node set)", tok, fix);
}

// ---------------------------------------------------------------------------------------------
namespace {

EdgeList read_edges_pass(const std::string& path, const EdgeOptions& opt, NodeIdMap& ids, bool define, bool table) {
  LineReader r(path, opt.format);
  EdgeList out;
  // Key: the ordered pair (directed) or the sorted pair (undirected) -> first line, for hints.
  RepeatFinder repeats(table, path);
  const size_t want = opt.weighted ? 3 : 2;
  while (r.next()) {
    const auto& f = r.fields();
    if (f.size() != want) {
      if (!opt.weighted && f.size() == 3)
        r.fail("expected 2 fields 'src dst' but found 3 in line", r.line(),
               "remove the third column, or set edges.weighted: true if it is an edge weight");
      r.expect_fields(want, opt.weighted ? "src dst weight" : "src dst");
    }
    int32_t a = ids.resolve(r, f[0], define);
    int32_t b = ids.resolve(r, f[1], define);
    float w = opt.weighted ? parse_value(r, f[2], "edge weight") : 1.0f;
    ++out.num_input_edges;
    if (a == b) {
      if (opt.self_loops == SelfLoopPolicy::Error)
        r.fail("self loop", r.line(), "remove the line or set edges.self_loops: drop (or keep)");
      if (opt.self_loops == SelfLoopPolicy::Drop) {
        ++out.num_self_loops_dropped;
        continue;
      }
    }
    auto lo = static_cast<uint32_t>(opt.directed ? a : std::min(a, b));
    auto hi = static_cast<uint32_t>(opt.directed ? b : std::max(a, b));
    if (const long first = repeats.first_line((uint64_t{lo} << 32) | hi, r.line_number())) {
      if (opt.duplicates == DuplicatePolicy::Error)
        r.fail(std::string("duplicate edge") + (opt.directed ? "" : " (as an undirected pair)") +
                   ", first on line " + std::to_string(first) + ":",
               r.line(), "remove the repeated line or set edges.duplicates: merge");
      ++out.num_duplicates_merged;
      continue;
    }
    out.src.push_back(a);
    out.dst.push_back(b);
    if (opt.weighted) out.weight.push_back(w);
    if (!opt.directed && a != b) {
      out.src.push_back(b);
      out.dst.push_back(a);
      if (opt.weighted) out.weight.push_back(w);
    }
  }
  require_data(r, std::string("add lines '") + (opt.weighted ? "src dst weight" : "src dst") +
                      "' or check edges.path");
  return out;
}

}  // namespace

EdgeList read_edges(const std::string& path, const EdgeOptions& opt, NodeIdMap& ids, bool define) {
  // Resolving ids again in a second pass gives the same indices (define adds only new names).
  return read_finding_repeats([&](bool table) { return read_edges_pass(path, opt, ids, define, table); });
}

// ---------------------------------------------------------------------------------------------
// Fills the row-major arrays directly: Eigen's setFromTriplets builds a column-major temporary
// with dim + 1 column offsets, so a sparse `dim: 2147483647` with one entry would allocate 8 GB.
// Memory here is O(num_nodes + non-zeros). Duplicate (row, col) entries are summed, as
// setFromTriplets does (the readers reject duplicates, so there are none in practice).
SpMat build_feature_matrix(const FeatureEntries& f, int64_t num_nodes) {
  const size_t nnz = f.value.size();
  const auto rows = static_cast<size_t>(num_nodes);
  std::vector<int32_t> start(rows + 1, 0);
  for (size_t i = 0; i < nnz; ++i) ++start[static_cast<size_t>(f.row[i]) + 1];
  for (size_t r = 0; r < rows; ++r) start[r + 1] += start[r];
  std::vector<int32_t> col(nnz);
  std::vector<float> val(nnz);
  {
    std::vector<int32_t> fill(start.begin(), start.end() - 1);
    for (size_t i = 0; i < nnz; ++i) {
      const auto k = static_cast<size_t>(fill[static_cast<size_t>(f.row[i])]++);
      col[k] = f.col[i];
      val[k] = f.value[i];
    }
  }
  SpMat m(num_nodes, f.dim);
  m.resizeNonZeros(static_cast<Eigen::Index>(nnz));
  int32_t* outer = m.outerIndexPtr();
  int32_t* inner = m.innerIndexPtr();
  float* value = m.valuePtr();
  std::vector<std::pair<int32_t, float>> row;
  int32_t out = 0;
  for (size_t r = 0; r < rows; ++r) {
    outer[r] = out;
    row.clear();
    for (auto k = static_cast<size_t>(start[r]); k < static_cast<size_t>(start[r + 1]); ++k) row.emplace_back(col[k], val[k]);
    std::sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t k = 0; k < row.size(); ++k) {
      if (k > 0 && row[k].first == row[k - 1].first) {
        value[out - 1] += row[k].second;
        continue;
      }
      inner[out] = row[k].first;
      value[out] = row[k].second;
      ++out;
    }
  }
  outer[rows] = out;
  m.resizeNonZeros(out);  // keeps the first `out` entries
  return m;
}

namespace {

FeatureEntries read_sparse_features_pass(const std::string& path, const TextFormat& fmt, int64_t dim,
                                         NodeIdMap& ids, bool define, bool table) {
  LineReader r(path, fmt);
  FeatureEntries out;
  out.dim = dim;
  RepeatFinder repeats(table, path);
  while (r.next()) {
    const auto& f = r.fields();
    r.expect_fields(3, "node feature value");
    int32_t node = ids.resolve(r, f[0], define);
    auto fi = parse_int(f[1]);
    if (!fi) r.fail("feature index is not an integer", f[1], "the second column is a feature index 0..dim-1");
    if (*fi < 0 || *fi >= dim)
      r.fail("feature index out of range", f[1],
             "features.dim is " + std::to_string(dim) + ", so feature indices are 0.." +
                 std::to_string(dim - 1) + "; fix the index or raise features.dim");
    float v = parse_value(r, f[2], "feature value");
    const uint64_t key = (uint64_t{static_cast<uint32_t>(node)} << 32) | static_cast<uint32_t>(*fi);
    if (const long first = repeats.first_line(key, r.line_number()))
      r.fail("feature given twice for the same node, first on line " + std::to_string(first) + ":",
             r.line(), "keep one line per (node, feature)");
    if (v == 0.0f) continue;
    out.row.push_back(node);
    out.col.push_back(static_cast<int32_t>(*fi));
    out.value.push_back(v);
  }
  require_data(r, "add lines 'node feature value' or check features.path");
  return out;
}

}  // namespace

FeatureEntries read_sparse_features(const std::string& path, const TextFormat& fmt, int64_t dim,
                                    NodeIdMap& ids, bool define) {
  return read_finding_repeats(
      [&](bool table) { return read_sparse_features_pass(path, fmt, dim, ids, define, table); });
}

FeatureEntries read_dense_features(const std::string& path, const TextFormat& fmt, int64_t dim,
                                   NodeIdMap& ids, bool define) {
  LineReader r(path, fmt);
  FeatureEntries out;
  const bool declared = dim > 0;
  U64Map<long> first_line;
  while (r.next()) {
    const auto& f = r.fields();
    if (out.dim == 0) {
      out.dim = declared ? dim : static_cast<int64_t>(f.size()) - 1;
      if (out.dim < 1) r.fail("dense feature row has no values", r.line(), "write 'node v1 ... vd' per line");
    }
    if (static_cast<int64_t>(f.size()) != out.dim + 1)
      r.fail("wrong number of values in dense feature row: expected " + std::to_string(out.dim) +
                 " after the node id but found " + std::to_string(static_cast<int64_t>(f.size()) - 1) + " in",
             r.line(),
             declared ? "each row is 'node' then features.dim (" + std::to_string(dim) +
                            ") values; fix the row or features.dim"
                      : "each row must have as many values as the first row (" + std::to_string(out.dim) +
                            "); fix the row");
    int32_t node = ids.resolve(r, f[0], define);
    if (auto [it, fresh] = first_line.emplace(static_cast<uint64_t>(node), r.line_number()); !fresh)
      r.fail("node has a second feature row, first on line " + std::to_string(*it) + ":", f[0],
             "keep one row per node");
    for (int64_t j = 0; j < out.dim; ++j) {
      float v = parse_value(r, f[static_cast<size_t>(j) + 1], "feature value");
      if (v == 0.0f) continue;
      out.row.push_back(node);
      out.col.push_back(static_cast<int32_t>(j));
      out.value.push_back(v);
    }
  }
  require_data(r, "add lines 'node v1 ... vd' or check features.path");
  return out;
}

// ---------------------------------------------------------------------------------------------
LabelEntries read_labels(const std::string& path, const TextFormat& fmt, NodeIdMap& ids, bool define) {
  LineReader r(path, fmt);
  LabelEntries out;
  out.path = path;
  U64Map<long> first_line;
  while (r.next()) {
    const auto& f = r.fields();
    r.expect_fields(2, "node label");
    int32_t node = ids.resolve(r, f[0], define);
    if (auto [it, fresh] = first_line.emplace(static_cast<uint64_t>(node), r.line_number()); !fresh)
      r.fail("node labelled twice, first on line " + std::to_string(*it) + ":", f[0],
             "keep one label line per node");
    out.node.push_back(node);
    out.token.emplace_back(f[1]);
    out.line.push_back(r.line_number());
  }
  require_data(r, "add lines 'node label' or check labels.path");
  return out;
}

ResolvedLabels resolve_labels(const LabelEntries& e, int64_t num_nodes, int64_t declared_classes,
                              const std::string& yaml_file, long num_classes_line) {
  ResolvedLabels out;
  out.labels.assign(static_cast<size_t>(num_nodes), -1);
  const size_t n = e.token.size();
  bool all_int = true;
  for (size_t i = 0; i < n && all_int; ++i) all_int = parse_int(e.token[i]).has_value();
  const std::string yaml_at = yaml_file + (num_classes_line > 0 ? ":" + std::to_string(num_classes_line) : "");

  if (all_int) {
    int64_t max_label = -1;
    for (size_t i = 0; i < n; ++i) {
      int64_t v = *parse_int(e.token[i]);
      if (v < 0)
        throw_input_error(e.path, e.line[i], "negative label", e.token[i],
                          "integer labels are class numbers 0..C-1 (leave a node out of the file to keep it unlabelled)");
      if (declared_classes > 0 && v >= declared_classes)
        throw_input_error(e.path, e.line[i], "label out of range", e.token[i],
                          "labels.num_classes is " + std::to_string(declared_classes) + " (" + yaml_at +
                              "), so labels are 0.." + std::to_string(declared_classes - 1) +
                              "; fix the label or raise num_classes");
      if (v >= INT32_MAX)
        throw_input_error(e.path, e.line[i], "label too large", e.token[i], "number the classes 0..C-1");
      max_label = std::max(max_label, v);
      out.labels[static_cast<size_t>(e.node[i])] = static_cast<int32_t>(v);
    }
    out.num_classes = static_cast<int32_t>(declared_classes > 0 ? declared_classes : max_label + 1);
    return out;
  }

  std::vector<std::string> names(e.token.begin(), e.token.end());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (declared_classes > 0 && static_cast<int64_t>(names.size()) > declared_classes) {
    std::string list;
    for (size_t i = 0; i < names.size() && i < 10; ++i) list += (i ? ", " : "") + names[i];
    if (names.size() > 10) list += ", ...";
    throw_input_error(yaml_file, num_classes_line, "num_classes is smaller than the number of distinct labels",
                      std::to_string(declared_classes),
                      e.path + " has " + std::to_string(names.size()) + " distinct labels (" + list +
                          "); set labels.num_classes: " + std::to_string(names.size()) + " or remove it");
  }
  for (size_t i = 0; i < n; ++i) {
    auto it = std::lower_bound(names.begin(), names.end(), e.token[i]);
    out.labels[static_cast<size_t>(e.node[i])] = static_cast<int32_t>(it - names.begin());
  }
  out.num_classes = static_cast<int32_t>(declared_classes > 0 ? declared_classes
                                                              : static_cast<int64_t>(names.size()));
  out.names = std::move(names);
  return out;
}

// ---------------------------------------------------------------------------------------------
IdList read_id_list(const std::string& path, const TextFormat& fmt, NodeIdMap& ids) {
  LineReader r(path, fmt);
  IdList out;
  out.path = path;
  U64Map<long> first_line;
  while (r.next()) {
    const auto& f = r.fields();
    r.expect_fields(1, "one node id per line");
    int32_t node = ids.resolve(r, f[0], false);
    if (auto [it, fresh] = first_line.emplace(static_cast<uint64_t>(node), r.line_number()); !fresh)
      r.fail("node listed twice, first on line " + std::to_string(*it) + ":", f[0],
             "list each node once");
    out.ids.push_back(node);
    out.line.push_back(r.line_number());
  }
  return out;  // an empty split part (e.g. no validation nodes) is allowed
}

// ---------------------------------------------------------------------------------------------
std::optional<ColumnSlice> parse_column_slice(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) return std::nullopt;
  ColumnSlice s;
  std::string_view a = trim(text.substr(0, colon)), b = trim(text.substr(colon + 1));
  if (!a.empty()) {
    if (!(s.start = parse_int(a))) return std::nullopt;
  }
  if (!b.empty()) {
    if (!(s.stop = parse_int(b))) return std::nullopt;
  }
  return s;
}

NodeTable read_node_table(const std::string& path, const NodeTableOptions& opt, NodeIdMap& ids) {
  LineReader r(path, opt.format);
  NodeTable t;
  t.labels.path = path;
  t.graphs.path = path;
  t.has_labels = opt.label_column.has_value();
  t.has_features = opt.feature_columns.has_value();
  size_t width = 0, id_col = 0, label_col = 0, graph_col = 0, f0 = 0, f1 = 0;
  U64Map<long> first_line;
  while (r.next()) {
    const auto& f = r.fields();
    if (width == 0) {
      // Columns resolve against the first row's width, as Python indexing would.
      width = f.size();
      const auto w = static_cast<int64_t>(width);
      auto column = [&](int64_t c, const std::string& key) {
        int64_t k = c < 0 ? c + w : c;
        if (k < 0 || k >= w)
          r.fail("nodes." + key + " " + std::to_string(c) + " is outside the " + std::to_string(w) +
                     " columns of row",
                 r.line(), "set nodes." + key + " (" + opt.where + ") between " + std::to_string(-w) +
                               " and " + std::to_string(w - 1));
        return static_cast<size_t>(k);
      };
      id_col = column(opt.id_column, "id_column");
      if (t.has_labels) {
        label_col = column(*opt.label_column, "label_column");
        if (label_col == id_col)
          r.fail("nodes.label_column is the id column", r.line(), "set nodes.label_column (" + opt.where + ") to the label's column");
      }
      if (opt.graph_column) {
        graph_col = column(*opt.graph_column, "graph_column");
        if (graph_col == id_col || (t.has_labels && graph_col == label_col))
          r.fail(std::string("nodes.graph_column is the ") + (graph_col == id_col ? "id" : "label") + " column", r.line(),
                 "set nodes.graph_column (" + opt.where + ") to the column of graph ids");
      }
      if (t.has_features) {
        auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
          if (!v) return dflt;
          int64_t k = *v < 0 ? *v + w : *v;
          return std::clamp<int64_t>(k, 0, w);
        };
        const auto& s = *opt.feature_columns;
        f0 = static_cast<size_t>(clamp(s.start, 0));
        f1 = static_cast<size_t>(clamp(s.stop, w));
        std::string text = (s.start ? std::to_string(*s.start) : "") + ":" + (s.stop ? std::to_string(*s.stop) : "");
        if (f0 >= f1)
          r.fail("nodes.feature_columns '" + text + "' selects no column of the " + std::to_string(w) +
                     "-column row",
                 r.line(), "set nodes.feature_columns (" + opt.where + ") to a [start:stop) slice such as 1:-1");
        if (id_col >= f0 && id_col < f1)
          r.fail("nodes.feature_columns '" + text + "' includes the id column of row", r.line(),
                 "exclude column " + std::to_string(id_col) + " from the slice (" + opt.where + ")");
        if (t.has_labels && label_col >= f0 && label_col < f1)
          r.fail("nodes.feature_columns '" + text + "' includes the label column of row", r.line(),
                 "exclude column " + std::to_string(label_col) + " from the slice (" + opt.where + "), e.g. 1:-1");
        if (opt.graph_column && graph_col >= f0 && graph_col < f1)
          r.fail("nodes.feature_columns '" + text + "' includes the graph column of row", r.line(),
                 "exclude column " + std::to_string(graph_col) + " from the slice (" + opt.where + ")");
        t.features.dim = static_cast<int64_t>(f1 - f0);
      }
    } else if (f.size() != width) {
      r.fail("ragged row: expected " + std::to_string(width) + " fields like the first row but found " +
                 std::to_string(f.size()) + " in",
             r.line(), "give every row of the node table the same number of fields");
    }
    int32_t node = ids.resolve(r, f[id_col], true);
    if (auto [it, fresh] = first_line.emplace(static_cast<uint64_t>(node), r.line_number()); !fresh)
      r.fail("node listed twice in the node table, first on line " + std::to_string(*it) + ":",
             f[id_col], "keep one row per node");
    if (t.has_labels) {
      t.labels.node.push_back(node);
      t.labels.token.emplace_back(f[label_col]);
      t.labels.line.push_back(r.line_number());
    }
    if (opt.graph_column) {
      t.graphs.node.push_back(node);
      t.graphs.token.emplace_back(f[graph_col]);
      t.graphs.line.push_back(r.line_number());
    }
    for (size_t j = f0; j < f1; ++j) {
      float v = parse_value(r, f[j], "feature value");
      if (v == 0.0f) continue;
      t.features.row.push_back(node);
      t.features.col.push_back(static_cast<int32_t>(j - f0));
      t.features.value.push_back(v);
    }
  }
  require_data(r, "add one row per node or check nodes.path");
  return t;
}

}  // namespace locus
