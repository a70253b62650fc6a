#include "datasets/tu_reader.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "core/error.hpp"
#include "datasets/readers.hpp"
#include "datasets/text_reader.hpp"

namespace fs = std::filesystem;

namespace locus {

namespace {

// Widest one-hot block a label column may ask for: a stray value must not allocate gigabytes.
constexpr int64_t kMaxOneHot = int64_t{1} << 20;

std::string tu_path(const std::string& folder, const std::string& prefix, const std::string& part) {
  return (fs::path(folder) / (prefix + "_" + part + ".txt")).string();
}

bool exists_file(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// TU files: comma-separated fields (spaces around them trimmed), no comment lines.
TextFormat tu_format() {
  TextFormat f;
  f.delimiter = Delimiter::Comma;
  f.comment = "";
  return f;
}

int64_t whole(const LineReader& r, std::string_view tok, const std::string& what) {
  const auto v = parse_int(tok);
  if (!v) r.fail("expected a whole number (" + what + ")", tok, "TU files hold integers here; fix the value");
  return *v;
}

double finite(const LineReader& r, std::string_view tok, const std::string& what) {
  const auto v = parse_double(tok);
  if (!v) r.fail("expected a number (" + what + ")", tok, "write a decimal number");
  if (!std::isfinite(*v)) r.fail("not a finite number (" + what + ")", tok, "replace NaN / Inf by a finite value");
  return *v;
}

// A file with one row per item (node, edge or graph): every row `width` fields (the first row's
// width when width ≤ 0), and exactly `count` rows. Returns the fields row by row.
template <class F>
int64_t read_rows(const std::string& path, int64_t count, const std::string& item, const std::string& count_from,
                  int64_t width, F&& row) {
  LineReader r(path, tu_format());
  int64_t i = 0;
  while (r.next()) {
    const auto& f = r.fields();
    if (width <= 0) width = static_cast<int64_t>(f.size());
    if (static_cast<int64_t>(f.size()) != width)
      r.fail("row has " + std::to_string(f.size()) + " fields, the first row " + std::to_string(width), r.line(),
             "give every row the same number of comma-separated values");
    if (i == count)
      r.fail("more rows than " + item + "s: " + count_from + " has " + std::to_string(count), r.line(),
             "keep one row per " + item + " (remove the extra rows, or fix " + count_from + ")");
    row(r, i, f);
    ++i;
  }
  if (i != count)
    throw_input_error(path, r.line_number(),
                      "has " + std::to_string(i) + " rows for " + std::to_string(count) + " " + item + "s (" +
                          count_from + ")",
                      std::to_string(i), "keep one row per " + item + ", in " + item + " order");
  return width;
}

// Integer label columns → one-hot columns at `first`, each column shifted by its minimum.
struct OneHot {
  std::vector<int64_t> lo, width;
  int64_t total = 0;
};
OneHot one_hot_widths(const std::vector<std::vector<int64_t>>& cols, const std::string& path) {
  OneHot h;
  for (const auto& c : cols) {
    const auto [mn, mx] = std::minmax_element(c.begin(), c.end());
    const int64_t w = c.empty() ? 0 : *mx - *mn + 1;
    if (w > kMaxOneHot)
      throw_input_error(path, 0, "labels span " + std::to_string(w) + " values (from " + std::to_string(*mn) + " to " +
                                     std::to_string(*mx) + "), too many for one-hot columns",
                        std::to_string(*mx), "number the labels 0..C−1 (at most " + std::to_string(kMaxOneHot) + ")");
    h.lo.push_back(c.empty() ? 0 : *mn);
    h.width.push_back(w);
    h.total += w;
  }
  return h;
}

}  // namespace

std::string find_tu_prefix(const std::string& folder) {
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "_A.txt") == 0 && it->is_regular_file(ec))
      found.push_back(name.substr(0, name.size() - 6));
  }
  if (ec)
    throw_input_error(folder, 0, "cannot list the folder", folder, "check that it exists and is readable");
  std::sort(found.begin(), found.end());
  if (found.empty())
    throw_input_error(folder, 0, "no TU dataset here: no file named DS_A.txt", folder,
                      "give the folder holding DS_A.txt and DS_graph_indicator.txt, or a dataset.yaml");
  if (found.size() > 1)
    throw_input_error(folder, 0, "more than one TU dataset here (" + std::to_string(found.size()) + " files named DS_A.txt)",
                      found[0] + ", " + found[1],
                      "write a dataset.yaml with 'format: tu' and 'tu_prefix: " + found[0] + "' to pick one");
  return found[0];
}

Dataset read_tu(const std::string& folder, const std::string& prefix, Task task) {
  check(is_graph_task(task),
        "read_tu: the task must be graph_classification or graph_regression");
  const std::string ind_path = tu_path(folder, prefix, "graph_indicator"), a_path = tu_path(folder, prefix, "A");
  for (const std::string& p : {a_path, ind_path})
    if (!exists_file(p))
      throw_input_error(p, 0, "TU file not found", fs::path(p).filename().string(),
                        "a TU dataset needs DS_A.txt and DS_graph_indicator.txt; check the folder and prefix '" + prefix + "'");
  Dataset ds;
  ds.name = prefix;
  ds.source = folder;
  ds.task = task;

  // ---- Nodes and their graphs.
  {
    LineReader r(ind_path, tu_format());
    while (r.next()) {
      r.expect_fields(1, "one graph id per line (line i: the graph of node i)");
      const int64_t g = whole(r, r.fields()[0], "a graph id");
      if (g < 1 || g > INT32_MAX) r.fail("graph id out of range", r.fields()[0], "graph ids run from 1 to the number of graphs");
      if (static_cast<int64_t>(ds.graph_of.size()) == INT32_MAX)
        r.fail("too many nodes", r.fields()[0], "Locus holds at most 2^31 − 1 nodes");
      ds.graph_of.push_back(static_cast<int32_t>(g - 1));
    }
    if (ds.graph_of.empty())
      throw_input_error(ind_path, 0, "no nodes: the graph indicator is empty", fs::path(ind_path).filename().string(),
                        "write one graph id (1-based) per node");
  }
  ds.num_nodes = static_cast<int64_t>(ds.graph_of.size());
  ds.num_graphs = *std::max_element(ds.graph_of.begin(), ds.graph_of.end()) + 1;
  {
    std::vector<char> used(static_cast<size_t>(ds.num_graphs), 0);
    for (const int32_t g : ds.graph_of) used[static_cast<size_t>(g)] = 1;
    const auto gap = std::find(used.begin(), used.end(), 0);
    if (gap != used.end())
      throw_input_error(ind_path, 0, "graph ids have a gap: no node is in graph", std::to_string(gap - used.begin() + 1),
                        "number the graphs 1.." + std::to_string(ds.num_graphs) + " with every graph holding a node");
  }
  const std::string nodes_from = fs::path(ind_path).filename().string();

  // ---- Edges, in file order; self loops dropped, repeats merged (the first line wins).
  const int64_t n = ds.num_nodes;
  std::vector<int64_t> line_of_edge;  // the A row of each kept edge, for its edge label
  int64_t a_rows = 0;
  {
    LineReader r(a_path, tu_format());
    while (r.next()) {
      r.expect_fields(2, "two node ids 'i, j' (1-based) per line");
      int64_t end[2];
      for (int s = 0; s < 2; ++s) {
        end[s] = whole(r, r.fields()[s], "a node id");
        if (end[s] < 1 || end[s] > n)
          r.fail("node id out of range", r.fields()[s],
                 "ids run from 1 to " + std::to_string(n) + " (the lines of " + nodes_from + "); fix the id");
      }
      const int32_t u = static_cast<int32_t>(end[0] - 1), v = static_cast<int32_t>(end[1] - 1);
      if (ds.graph_of[u] != ds.graph_of[v])
        r.fail("edge joins two graphs: node " + std::to_string(end[0]) + " is in graph " + std::to_string(ds.graph_of[u] + 1) +
                   ", node " + std::to_string(end[1]) + " in graph " + std::to_string(ds.graph_of[v] + 1),
               r.line(), "an edge must join two nodes of one graph; fix the ids or " + nodes_from);
      if (u == v) {
        ++ds.num_self_loops_dropped;
      } else {
        ds.src.push_back(u);
        ds.dst.push_back(v);
        line_of_edge.push_back(a_rows);
      }
      ++a_rows;
    }
  }
  ds.num_input_edges = a_rows;
  {
    const size_t m = ds.src.size();
    std::vector<int64_t> key(m);
    for (size_t e = 0; e < m; ++e) key[e] = int64_t{ds.src[e]} * n + ds.dst[e];
    std::vector<size_t> order(m);
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key[a] < key[b]; });
    std::vector<char> keep(m, 1);
    for (size_t i = 1; i < m; ++i)
      if (key[order[i]] == key[order[i - 1]]) keep[order[i]] = 0;
    size_t w = 0;
    for (size_t e = 0; e < m; ++e)
      if (keep[e]) ds.src[w] = ds.src[e], ds.dst[w] = ds.dst[e], line_of_edge[w] = line_of_edge[e], key[w] = key[e], ++w;
    ds.num_duplicates_merged = static_cast<int64_t>(m - w);
    ds.src.resize(w), ds.dst.resize(w), line_of_edge.resize(w), key.resize(w);
    std::sort(key.begin(), key.end());
    ds.directed = false;
    for (size_t e = 0; e < w && !ds.directed; ++e)
      ds.directed = !std::binary_search(key.begin(), key.end(), int64_t{ds.dst[e]} * n + ds.src[e]);
  }

  // ---- Features: node attributes, then one-hot node labels.
  FeatureEntries feats;
  const std::string attr_path = tu_path(folder, prefix, "node_attributes"), nl_path = tu_path(folder, prefix, "node_labels");
  if (exists_file(attr_path)) {
    feats.dim = read_rows(attr_path, n, "node", nodes_from, 0, [&](const LineReader& r, int64_t i, const auto& f) {
      for (size_t c = 0; c < f.size(); ++c) {
        const double x = finite(r, f[c], "a node attribute");
        if (x != 0.0) feats.row.push_back(static_cast<int32_t>(i)), feats.col.push_back(static_cast<int32_t>(c)),
            feats.value.push_back(static_cast<float>(x));
      }
    });
    ds.features_dense = true;
  }
  if (exists_file(nl_path)) {
    std::vector<std::vector<int64_t>> cols;
    read_rows(nl_path, n, "node", nodes_from, 0, [&](const LineReader& r, int64_t, const auto& f) {
      cols.resize(f.size());
      for (size_t c = 0; c < f.size(); ++c) cols[c].push_back(whole(r, f[c], "a node label"));
    });
    const OneHot h = one_hot_widths(cols, nl_path);
    int64_t at = feats.dim;
    for (size_t c = 0; c < cols.size(); ++c) {
      for (int64_t i = 0; i < n; ++i)
        feats.row.push_back(static_cast<int32_t>(i)), feats.col.push_back(static_cast<int32_t>(at + cols[c][i] - h.lo[c])),
            feats.value.push_back(1.0f);
      at += h.width[c];
    }
    feats.dim = at;
  }
  ds.features = feats.dim > 0 ? build_feature_matrix(feats, n) : SpMat(n, 0);

  // ---- Edge labels: the first column, shifted by its minimum.
  const std::string el_path = tu_path(folder, prefix, "edge_labels");
  if (exists_file(el_path)) {
    std::vector<int64_t> raw;
    read_rows(el_path, a_rows, "edge", fs::path(a_path).filename().string() + "'s lines", 0,
              [&](const LineReader& r, int64_t, const auto& f) { raw.push_back(whole(r, f[0], "an edge label")); });
    const OneHot h = one_hot_widths({raw}, el_path);
    ds.num_edge_labels = static_cast<int32_t>(h.width[0]);
    ds.edge_labels.resize(ds.src.size());
    for (size_t e = 0; e < ds.src.size(); ++e)
      ds.edge_labels[e] = static_cast<int32_t>(raw[static_cast<size_t>(line_of_edge[e])] - h.lo[0]);
  }

  // ---- Graph labels or targets.
  const int64_t graphs = ds.num_graphs;
  const std::string graphs_from = nodes_from + "'s graph ids";
  if (task == Task::GraphClassification) {
    const std::string gl_path = tu_path(folder, prefix, "graph_labels");
    if (!exists_file(gl_path))
      throw_input_error(gl_path, 0, "graph_classification needs graph labels; file not found",
                        fs::path(gl_path).filename().string(),
                        "add DS_graph_labels.txt (one label per graph), or use task: graph_regression with DS_graph_attributes.txt");
    std::vector<int64_t> raw;
    read_rows(gl_path, graphs, "graph", graphs_from, 1,
              [&](const LineReader& r, int64_t, const auto& f) { raw.push_back(whole(r, f[0], "a graph label")); });
    std::vector<int64_t> values = raw;
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    ds.num_graph_classes = static_cast<int32_t>(values.size());
    const bool plain = values.front() == 0 && values.back() == static_cast<int64_t>(values.size()) - 1;
    if (!plain)
      for (const int64_t v : values) ds.graph_label_names.push_back(std::to_string(v));
    ds.graph_labels.resize(raw.size());
    for (size_t g = 0; g < raw.size(); ++g)
      ds.graph_labels[g] = static_cast<int32_t>(std::lower_bound(values.begin(), values.end(), raw[g]) - values.begin());
  } else {
    const std::string ga_path = tu_path(folder, prefix, "graph_attributes");
    if (!exists_file(ga_path))
      throw_input_error(ga_path, 0, "graph_regression needs graph targets; file not found",
                        fs::path(ga_path).filename().string(), "add DS_graph_attributes.txt (one row of floats per graph)");
    ds.num_targets = read_rows(ga_path, graphs, "graph", graphs_from, 0, [&](const LineReader& r, int64_t, const auto& f) {
      for (const auto& tok : f) ds.graph_targets.push_back(static_cast<float>(finite(r, tok, "a graph target")));
    });
  }
  return ds;
}

}  // namespace locus
