#include "datasets/graph_readers.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "core/error.hpp"
#include "core/u64_map.hpp"
#include "datasets/text_reader.hpp"

namespace locus {

namespace {

// A graph id token: a whole number in [base, limit + base) (limit < 0: no upper bound).
int64_t graph_id(const LineReader& r, std::string_view tok, int64_t limit, int64_t base) {
  const auto v = parse_int(tok);
  if (!v) r.fail("graph id is not a whole number", tok, "graph ids are integers " + std::to_string(base) + "..G" + (base ? "" : "−1"));
  if (*v < base) r.fail("graph id below " + std::to_string(base), tok, "graph ids start at " + std::to_string(base));
  if (*v >= INT32_MAX) r.fail("graph id too large", tok, "number the graphs from " + std::to_string(base) + " upwards");
  if (limit >= 0 && *v >= limit + base)
    r.fail("graph id out of range", tok,
           "the dataset has " + std::to_string(limit) + " graphs, ids " + std::to_string(base) + ".." +
               std::to_string(limit + base - 1) + "; fix the id");
  return *v - base;
}

// The line each graph was first given on (0: not yet), so that a second line can name the first.
class FirstLines {
 public:
  explicit FirstLines(int64_t graphs) : line_(static_cast<size_t>(graphs), 0) {}
  // Graph g on r's current line; "graph WHAT twice, first on line N:" when it had one before.
  void mark(const LineReader& r, int64_t g, std::string_view token, const std::string& what, const std::string& fix) {
    long& first = line_[static_cast<size_t>(g)];
    if (first > 0) r.fail("graph " + what + " twice, first on line " + std::to_string(first) + ":", token, fix);
    first = r.line_number();
  }
  // The first graph without a line, or −1.
  int64_t missing() const {
    const auto it = std::find(line_.begin(), line_.end(), 0);
    return it == line_.end() ? -1 : it - line_.begin();
  }

 private:
  std::vector<long> line_;
};

void require_rows(const LineReader& r, const std::string& fix) {
  if (r.data_lines() == 0) throw_input_error(r.path(), 0, "the file has no data lines", "", fix);
}

}  // namespace

LabelEntries read_node_graphs(const std::string& path, const TextFormat& fmt, NodeIdMap& ids, bool define) {
  LineReader r(path, fmt);
  LabelEntries out;
  out.path = path;
  U64Map<long> first_line;
  while (r.next()) {
    const auto& f = r.fields();
    r.expect_fields(2, "node graph");
    const int32_t node = ids.resolve(r, f[0], define);
    if (auto [it, fresh] = first_line.emplace(static_cast<uint64_t>(node), r.line_number()); !fresh)
      r.fail("node given a graph twice, first on line " + std::to_string(*it) + ":", f[0], "keep one line per node");
    graph_id(r, f[1], -1, 0);  // checked here, where the line is known
    out.node.push_back(node);
    out.token.emplace_back(f[1]);
    out.line.push_back(r.line_number());
  }
  require_rows(r, "add lines 'node graph' (graph ids 0..G−1) or check graphs.path");
  return out;
}

void assign_graphs(Dataset& ds, const LabelEntries& e, const std::vector<std::string>& names, const std::string& yaml_at) {
  ds.graph_of.assign(static_cast<size_t>(ds.num_nodes), -1);
  int64_t graphs = 0;
  for (size_t i = 0; i < e.node.size(); ++i) {
    const auto g = parse_int(e.token[i]);
    if (!g || *g < 0 || *g >= INT32_MAX)
      throw_input_error(e.path, e.line[i], "graph id is not a whole number in 0..2^31−2", e.token[i],
                        "graph ids are integers 0..G−1");
    ds.graph_of[static_cast<size_t>(e.node[i])] = static_cast<int32_t>(*g);
    graphs = std::max(graphs, *g + 1);
  }
  for (int64_t v = 0; v < ds.num_nodes; ++v)
    if (ds.graph_of[static_cast<size_t>(v)] < 0)
      throw_input_error(e.path, 0, "a node has no graph:", names.empty() ? std::to_string(v) : names[static_cast<size_t>(v)],
                        "give every node a graph id in " + e.path + " (graphs: at " + yaml_at + ")");
  std::vector<char> used(static_cast<size_t>(graphs), 0);
  for (const int32_t g : ds.graph_of) used[static_cast<size_t>(g)] = 1;
  const auto gap = std::find(used.begin(), used.end(), 0);
  if (gap != used.end())
    throw_input_error(e.path, 0, "graph ids have a gap: no node is in graph", std::to_string(gap - used.begin()),
                      "number the graphs 0.." + std::to_string(graphs - 1) + " with every graph holding a node");
  ds.num_graphs = graphs;
}

void check_edges_within_graphs(const Dataset& ds, const std::string& edges_path, const TextFormat& fmt, NodeIdMap& ids) {
  const auto across = [&](int64_t u, int64_t v) { return ds.graph_of[static_cast<size_t>(u)] != ds.graph_of[static_cast<size_t>(v)]; };
  bool any = false;
  for (size_t e = 0; e < ds.src.size() && !any; ++e) any = across(ds.src[e], ds.dst[e]);
  if (!any) return;
  LineReader r(edges_path, fmt);  // find the line to name
  while (r.next()) {
    const auto& f = r.fields();
    if (f.size() < 2) continue;
    const int32_t u = ids.resolve(r, f[0], false), v = ids.resolve(r, f[1], false);
    if (across(u, v))
      r.fail("edge joins two graphs: " + std::string(f[0]) + " is in graph " + std::to_string(ds.graph_of[static_cast<size_t>(u)]) +
                 ", " + std::string(f[1]) + " in graph " + std::to_string(ds.graph_of[static_cast<size_t>(v)]),
             r.line(), "an edge must join two nodes of one graph; fix the edge or the nodes' graph ids");
  }
  check(false, "check_edges_within_graphs: an edge joins two graphs but no line of " + edges_path + " does");
}

LabelEntries read_graph_labels(const std::string& path, const TextFormat& fmt, int64_t num_graphs) {
  LineReader r(path, fmt);
  LabelEntries out;
  out.path = path;
  FirstLines first(num_graphs);
  while (r.next()) {
    const auto& f = r.fields();
    r.expect_fields(2, "graph label");
    const int64_t g = graph_id(r, f[0], num_graphs, 0);
    first.mark(r, g, f[0], "labelled", "keep one label line per graph");
    out.node.push_back(static_cast<int32_t>(g));
    out.token.emplace_back(f[1]);
    out.line.push_back(r.line_number());
  }
  require_rows(r, "add lines 'graph label' or check graphs.labels");
  return out;
}

void read_graph_targets(Dataset& ds, const std::string& path, const TextFormat& fmt) {
  LineReader r(path, fmt);
  FirstLines first(ds.num_graphs);
  int64_t width = 0;
  std::vector<float> rows;
  while (r.next()) {
    const auto& f = r.fields();
    if (f.size() < 2) r.expect_fields(2, "graph v1 ... vt");
    if (width == 0) {
      width = static_cast<int64_t>(f.size()) - 1;
      rows.assign(static_cast<size_t>(ds.num_graphs * width), 0.0f);
    }
    if (static_cast<int64_t>(f.size()) - 1 != width)
      r.fail("row has " + std::to_string(f.size() - 1) + " targets, the first row " + std::to_string(width), r.line(),
             "give every graph the same number of targets");
    const int64_t g = graph_id(r, f[0], ds.num_graphs, 0);
    first.mark(r, g, f[0], "given targets", "keep one line per graph");
    for (int64_t j = 0; j < width; ++j) {
      const auto v = parse_double(f[static_cast<size_t>(j + 1)]);
      if (!v) r.fail("target is not a number", f[static_cast<size_t>(j + 1)], "write a decimal number such as 1.5");
      if (!std::isfinite(*v)) r.fail("target is not finite", f[static_cast<size_t>(j + 1)], "replace NaN / Inf by a number");
      rows[static_cast<size_t>(g * width + j)] = static_cast<float>(*v);
    }
  }
  require_rows(r, "add lines 'graph v1 ... vt' or check graphs.targets");
  if (const int64_t missing = first.missing(); missing >= 0)
    throw_input_error(path, 0, "a graph has no targets:", std::to_string(missing),
                      "give every graph 0.." + std::to_string(ds.num_graphs - 1) + " a line");
  ds.graph_targets = std::move(rows);
  ds.num_targets = width;
}

IdList read_graph_id_list(const std::string& path, const TextFormat& fmt, int64_t num_graphs, int64_t base) {
  LineReader r(path, fmt);
  IdList out;
  out.path = path;
  FirstLines first(num_graphs);
  while (r.next()) {
    r.expect_fields(1, "one graph id per line");
    const int64_t g = graph_id(r, r.fields()[0], num_graphs, base);
    first.mark(r, g, r.fields()[0], "listed", "list each graph once");
    out.ids.push_back(static_cast<int32_t>(g));
    out.line.push_back(r.line_number());
  }
  return out;  // an empty part (no validation graphs) is allowed
}

std::vector<int32_t> labelled_nodes_of(const Dataset& ds, const std::vector<int32_t>& graphs) {
  std::vector<char> in(static_cast<size_t>(ds.num_graphs), 0);
  for (const int32_t g : graphs) in[static_cast<size_t>(g)] = 1;
  std::vector<int32_t> out;
  for (int64_t v = 0; v < ds.num_nodes; ++v)
    if (in[static_cast<size_t>(ds.graph_of[static_cast<size_t>(v)])] && (ds.labels.empty() || ds.labels[static_cast<size_t>(v)] >= 0))
      out.push_back(static_cast<int32_t>(v));
  return out;
}

}  // namespace locus
