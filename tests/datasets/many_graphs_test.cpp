// Datasets of many graphs: the TU format (a bare folder and `format: tu`), the YAML's `graphs:`
// section, splits by graph (files, fractions, k folds), the writer's round trip, and every bad
// input the issue names (a node without a graph, graph ids with gaps, an edge across two graphs,
// line counts that do not match) with file, line and fix.
#include <doctest/doctest.h>

#include <algorithm>
#include <initializer_list>
#include <set>

#include "datasets/loader.hpp"
#include "datasets/splits.hpp"
#include "datasets/writer.hpp"
#include "tests/datasets/temp_files.hpp"

using namespace locus;
using locus::testing::expect_error;
using locus::testing::load_error;
using locus::testing::TempDir;

namespace {

// A TU folder TOY of 3 graphs: graph 1 = nodes 1-3 (a path, listed both ways, plus a self loop and a
// repeated line), graph 2 = nodes 4-5 (one edge listed one way only), graph 3 = node 6 alone.
// Graph labels −1, 1, 1; node labels 0..2 in one column; two node attributes; edge labels 1..3.
void write_toy(const TempDir& t, const std::string& sub = "TOY") {
  t.write(sub + "/TOY_A.txt", "1, 2\n2, 1\n2, 3\n3, 2\n3, 3\n1, 2\n4, 5\n");
  t.write(sub + "/TOY_graph_indicator.txt", "1\n1\n1\n2\n2\n3\n");
  t.write(sub + "/TOY_graph_labels.txt", "-1\n1\n1\n");
  t.write(sub + "/TOY_node_labels.txt", "0\n2\n1\n0\n0\n2\n");
  t.write(sub + "/TOY_node_attributes.txt", "0.5, 1\n0, 2\n1.5, 0\n1, 1\n2, 2\n0, 0\n");
  t.write(sub + "/TOY_edge_labels.txt", "1\n1\n2\n2\n3\n3\n3\n");
}

std::vector<int32_t> sorted(std::vector<int32_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("TU folder: nodes, graphs, edges, features, labels as PyG's TUDataset reads them") {
  TempDir t;
  write_toy(t);
  const Dataset ds = load_dataset_yaml(t.path("TOY"));  // a bare folder: no dataset.yaml
  CHECK(ds.name == "TOY");
  CHECK(ds.task == Task::GraphClassification);
  CHECK(ds.num_nodes == 6);
  CHECK(ds.num_graphs == 3);
  CHECK(ds.graph_of == std::vector<int32_t>{0, 0, 0, 1, 1, 2});
  // 7 lines: the self loop dropped, the repeated 1→2 merged; 4→5 has no reverse, so directed.
  CHECK(ds.num_input_edges == 7);
  CHECK(ds.num_self_loops_dropped == 1);
  CHECK(ds.num_duplicates_merged == 1);
  CHECK(ds.src == std::vector<int32_t>{0, 1, 1, 2, 3});
  CHECK(ds.dst == std::vector<int32_t>{1, 0, 2, 1, 4});
  CHECK(ds.directed);
  // Edge labels 1..3 shifted to 0..2, kept with their edges (the self loop's label goes with it).
  CHECK(ds.num_edge_labels == 3);
  CHECK(ds.edge_labels == std::vector<int32_t>{0, 0, 1, 1, 2});
  // Features: 2 attributes, then the one-hot node label (3 values).
  REQUIRE(ds.num_features() == 5);
  const Mat x = Mat(ds.features);
  CHECK(x(0, 0) == doctest::Approx(0.5));
  CHECK(x(0, 1) == doctest::Approx(1.0));
  CHECK(x(2, 0) == doctest::Approx(1.5));
  for (int v = 0; v < 6; ++v) {
    const int label[] = {0, 2, 1, 0, 0, 2};
    for (int c = 0; c < 3; ++c) CHECK(x(v, 2 + c) == (c == label[v] ? 1.0 : 0.0));
  }
  // Graph labels −1, 1, 1: classes in increasing value order, the values kept as names.
  CHECK(ds.num_graph_classes == 2);
  CHECK(ds.graph_labels == std::vector<int32_t>{0, 1, 1});
  CHECK(ds.graph_label_names == std::vector<std::string>{"-1", "1"});
  // A bare folder gets stratified folds: k = 10, or the labelled graphs' count below that.
  CHECK(ds.train_graphs.size() == 1);
  CHECK(ds.val_graphs.size() == 1);
  CHECK(ds.test_graphs.size() == 1);
}

TEST_CASE("TU with a dataset.yaml: format: tu, 1-based split files, folds, regression") {
  TempDir t;
  write_toy(t);
  t.write("TOY/train.txt", "1\n3\n");
  t.write("TOY/test.txt", "2\n");
  t.write("TOY/dataset.yaml", "name: toy\nformat: tu\nsplit:\n  train: train.txt\n  test: test.txt\n");
  Dataset ds = load_dataset_yaml(t.path("TOY/dataset.yaml"));
  CHECK(ds.name == "toy");
  CHECK(ds.train_graphs == std::vector<int32_t>{0, 2});
  CHECK(ds.test_graphs == std::vector<int32_t>{1});
  CHECK(ds.train.empty());  // a graph task has no node splits

  t.write("TOY/dataset.yaml", "name: toy\nformat: tu\ntu_prefix: TOY\nsplit: {folds: {k: 3, fold: 2, val: false}}\n");
  ds = load_dataset_yaml(t.path("TOY/dataset.yaml"));
  CHECK(ds.test_graphs.size() == 1);
  CHECK(ds.train_graphs.size() == 2);

  t.write("TOY/TOY_graph_attributes.txt", "0.5, 1\n-2, 3\n4, 0\n");
  t.write("TOY/dataset.yaml", "name: toy\nformat: tu\ntask: graph_regression\n");
  ds = load_dataset_yaml(t.path("TOY/dataset.yaml"));
  CHECK(ds.task == Task::GraphRegression);
  CHECK(ds.num_targets == 2);
  CHECK(ds.graph_targets == std::vector<float>{0.5f, 1.0f, -2.0f, 3.0f, 4.0f, 0.0f});
}

TEST_CASE("TU errors name the file, line, token and fix") {
  TempDir t;
  write_toy(t, "a");
  t.write("a/TOY_A.txt", "1, 2\n2, 1\n3, 4\n");  // node 3 in graph 1, node 4 in graph 2
  expect_error(load_error(t.path("a")), {"TOY_A.txt:3", "edge joins two graphs", "node 3 is in graph 1", "node 4 in graph 2"});

  write_toy(t, "b");
  t.write("b/TOY_graph_indicator.txt", "1\n1\n1\n3\n3\n3\n");
  expect_error(load_error(t.path("b")), {"TOY_graph_indicator.txt", "graph ids have a gap", "'2'"});

  write_toy(t, "c");
  t.write("c/TOY_node_labels.txt", "0\n1\n2\n0\n0\n");
  expect_error(load_error(t.path("c")), {"TOY_node_labels.txt", "5 rows for 6 nodes", "one row per node"});

  write_toy(t, "d");
  t.write("d/TOY_graph_labels.txt", "1\n1\n1\n1\n");
  expect_error(load_error(t.path("d")), {"TOY_graph_labels.txt:4", "more rows than graphs"});

  write_toy(t, "e");
  t.write("e/TOY_A.txt", "1, 2\n2, 7\n");
  expect_error(load_error(t.path("e")), {"TOY_A.txt:2", "node id out of range", "'7'", "1 to 6"});

  write_toy(t, "f");
  t.write("f/TOY_graph_indicator.txt", "1\n1\n0\n2\n2\n3\n");
  expect_error(load_error(t.path("f")), {"TOY_graph_indicator.txt:3", "graph id out of range", "'0'"});

  write_toy(t, "g");
  t.write("g/OTHER_A.txt", "1, 2\n");
  t.write("g/dataset.yaml", "name: g\nformat: tu\n");
  expect_error(load_error(t.path("g/dataset.yaml")), {"more than one TU dataset", "tu_prefix: OTHER"});

  write_toy(t, "h");
  t.write("h/dataset.yaml", "name: h\nformat: tu\nedges: {path: TOY_A.txt}\n");
  expect_error(load_error(t.path("h/dataset.yaml")), {"dataset.yaml:3", "format: tu", "remove 'edges:'"});

  write_toy(t, "i");
  t.write("i/dataset.yaml", "name: h\nformat: tu\nsplit: {per_class: {train: 1}}\n");
  expect_error(load_error(t.path("i/dataset.yaml")), {"per_class", "splits by graph", "split.folds"});

  write_toy(t, "j");
  t.write("j/dataset.yaml", "name: j\nformat: tu\ntask: graph_regression\n");
  expect_error(load_error(t.path("j/dataset.yaml")), {"TOY_graph_attributes.txt", "graph_regression needs graph targets"});
}

TEST_CASE("YAML graphs: section: graph file or node-table column, labels, targets, node task split by graph") {
  TempDir t;
  // Two triangles and an edge: graphs 0 (nodes 0-2), 1 (nodes 3-5), 2 (nodes 6-7).
  t.write("edges.tsv", "0 1\n1 2\n2 0\n3 4\n4 5\n5 3\n6 7\n");
  t.write("graphs.tsv", "0 0\n1 0\n2 0\n3 1\n4 1\n5 1\n6 2\n7 2\n");
  t.write("glabels.tsv", "0 ring\n1 ring\n2 bar\n");
  t.write("targets.tsv", "0 1.5\n1 -1\n2 0.25\n");
  t.write("a.yaml",
          "name: g\ntask: graph_classification\nedges: {path: edges.tsv}\n"
          "graphs: {path: graphs.tsv, labels: glabels.tsv}\nsplit: {train: tr.txt, test: te.txt}\n");
  t.write("tr.txt", "0\n2\n");
  t.write("te.txt", "1\n");
  Dataset ds = load_dataset_yaml(t.path("a.yaml"));
  CHECK(ds.num_graphs == 3);
  CHECK(ds.graph_of == std::vector<int32_t>{0, 0, 0, 1, 1, 1, 2, 2});
  CHECK(ds.num_graph_classes == 2);
  CHECK(ds.graph_label_names == std::vector<std::string>{"bar", "ring"});
  CHECK(ds.graph_labels == std::vector<int32_t>{1, 1, 0});
  CHECK(ds.train_graphs == std::vector<int32_t>{0, 2});
  CHECK(ds.test_graphs == std::vector<int32_t>{1});

  t.write("b.yaml", "name: g\ntask: graph_regression\nedges: {path: edges.tsv}\ngraphs: {path: graphs.tsv, targets: targets.tsv}\n");
  ds = load_dataset_yaml(t.path("b.yaml"));
  CHECK(ds.num_targets == 1);
  CHECK(ds.graph_targets == std::vector<float>{1.5f, -1.0f, 0.25f});

  // A node table with the graph column; node task: nodes of the split's graphs.
  t.write("nodes.tsv", "0 0 1 0.5\n1 0 0 1\n2 0 1 2\n3 1 0 0\n4 1 1 1\n5 1 0 2\n6 2 1 0\n7 2 0 1\n");
  t.write("c.yaml",
          "name: g\nedges: {path: edges.tsv}\nnodes: {path: nodes.tsv, graph_column: 1, label_column: 2, "
          "feature_columns: \"3:\"}\ngraphs: {}\nsplit: {random: {train: 0.34, val: 0.33, seed: 4}}\n");
  ds = load_dataset_yaml(t.path("c.yaml"));
  CHECK(ds.task == Task::NodeClassification);
  CHECK(ds.num_graphs == 3);
  CHECK(ds.num_features() == 1);
  CHECK(ds.train_graphs.size() == 1);
  CHECK(ds.val_graphs.size() == 1);
  CHECK(ds.test_graphs.size() == 1);
  // Each part's nodes are exactly the nodes of its graph.
  for (auto [graphs, nodes] : {std::pair{&ds.train_graphs, &ds.train}, std::pair{&ds.val_graphs, &ds.val},
                               std::pair{&ds.test_graphs, &ds.test}}) {
    std::vector<int32_t> want;
    for (int32_t v = 0; v < 8; ++v)
      if (ds.graph_of[v] == (*graphs)[0]) want.push_back(v);
    CHECK(*nodes == want);
  }
}

TEST_CASE("YAML graphs: bad input") {
  TempDir t;
  t.write("edges.tsv", "0 1\n1 2\n2 3\n");
  t.write("labels.tsv", "0 0\n1 1\n2 0\n3 1\n");
  const std::string base = "name: g\nedges: {path: edges.tsv}\nlabels: {path: labels.tsv}\n";
  auto yaml = [&](const std::string& name, const std::string& extra) { return t.write(name, base + extra); };

  t.write("g1.tsv", "0 0\n1 0\n2 1\n");  // node 3 has no graph
  expect_error(load_error(yaml("a.yaml", "graphs: {path: g1.tsv}\n")), {"g1.tsv", "a node has no graph", "'3'", "a.yaml:4"});
  t.write("g2.tsv", "0 0\n1 0\n2 2\n3 2\n");  // no graph 1
  expect_error(load_error(yaml("b.yaml", "graphs: {path: g2.tsv}\n")), {"g2.tsv", "graph ids have a gap", "'1'"});
  t.write("g3.tsv", "0 0\n1 0\n2 1\n3 1\n");  // edge 1-2 joins graphs 0 and 1
  expect_error(load_error(yaml("c.yaml", "graphs: {path: g3.tsv}\n")), {"edges.tsv:2", "edge joins two graphs", "fix the edge"});
  t.write("g4.tsv", "0 0\n1 x\n");
  expect_error(load_error(yaml("d.yaml", "graphs: {path: g4.tsv}\n")), {"g4.tsv:2", "graph id is not a whole number", "'x'"});
  t.write("g5.tsv", "0 0\n1 0\n2 0\n3 0\n0 0\n");
  expect_error(load_error(yaml("e.yaml", "graphs: {path: g5.tsv}\n")), {"g5.tsv:5", "node given a graph twice", "line 1"});
  t.write("g6.tsv", "0 0\n1 0\n2 0\n3 0\n");
  t.write("gl.tsv", "0 1\n0 2\n");
  expect_error(load_error(t.write("f.yaml", "name: g\ntask: graph_classification\nedges: {path: edges.tsv}\n"
                                            "graphs: {path: g6.tsv, labels: gl.tsv}\n")),
               {"gl.tsv:2", "graph labelled twice"});
  t.write("gl2.tsv", "3 1\n");
  expect_error(load_error(t.write("g.yaml", "name: g\ntask: graph_classification\nedges: {path: edges.tsv}\n"
                                            "graphs: {path: g6.tsv, labels: gl2.tsv}\n")),
               {"gl2.tsv:1", "graph id out of range", "'3'", "1 graphs"});
  expect_error(load_error(t.write("h.yaml", "name: g\ntask: graph_classification\nedges: {path: edges.tsv}\n")),
               {"h.yaml", "graph_classification needs many graphs", "graphs"});
  expect_error(load_error(t.write("i.yaml", "name: g\ntask: graph_classification\nedges: {path: edges.tsv}\n"
                                            "graphs: {path: g6.tsv}\n")),
               {"i.yaml", "missing required key", "graphs.labels"});
  expect_error(load_error(yaml("j.yaml", "graphs: {path: g6.tsv}\nsplit: {per_class: {train: 1}}\n")),
               {"j.yaml:5", "splits by graph"});
  expect_error(load_error(yaml("k.yaml", "graphs: {path: g6.tsv}\nsplit: {random: {train: 0.5, stratify: true}}\n")),
               {"k.yaml", "stratify needs graph labels"});
  expect_error(load_error(t.write("l.yaml", "name: g\ntask: link_prediction\nedges: {path: edges.tsv}\ngraphs: {path: g6.tsv}\n")),
               {"l.yaml:2", "runs on one graph"});
  expect_error(load_error(yaml("m.yaml", "split: {folds: {k: 1}}\n")), {"m.yaml", "split.folds.k must be between 2"});
  expect_error(load_error(yaml("n.yaml", "split: {folds: {k: 3, fold: 3}}\n")), {"n.yaml", "fold must be between 0 and 2"});
}

TEST_CASE("fold_split: every item tested once over the k folds, stratified folds balanced, val the next fold") {
  std::vector<int32_t> labels;
  for (int i = 0; i < 150; ++i) labels.push_back(i % 10);  // 10 classes of 15, as CSL
  labels[7] = -1;                                          // an unlabelled item is never split
  std::vector<int> tested(150, 0);
  for (int64_t fold = 0; fold < 5; ++fold) {
    const SplitIds s = fold_split(labels, 150, {5, fold, true, true, 3}, ErrorSite{"x", 1});
    CHECK(s.train.size() + s.val.size() + s.test.size() == 149);
    for (const int32_t v : s.test) ++tested[static_cast<size_t>(v)];
    // Stratified: 15 per class → 3 per fold (class 7 has 14: 2 or 3).
    std::vector<int> per_class(10, 0);
    for (const int32_t v : s.test) ++per_class[static_cast<size_t>(labels[static_cast<size_t>(v)])];
    for (int c = 0; c < 10; ++c) CHECK(per_class[c] == (c == 7 ? per_class[c] : 3));
    CHECK((per_class[7] == 2 || per_class[7] == 3));
    // val is the next fold: the test part of fold + 1.
    const SplitIds next = fold_split(labels, 150, {5, (fold + 1) % 5, true, true, 3}, ErrorSite{"x", 1});
    CHECK(s.val == next.test);
    std::set<int32_t> all(s.train.begin(), s.train.end());
    all.insert(s.val.begin(), s.val.end());
    all.insert(s.test.begin(), s.test.end());
    CHECK(all.size() == 149);
    CHECK(all.count(7) == 0);
  }
  for (int i = 0; i < 150; ++i) CHECK(tested[static_cast<size_t>(i)] == (i == 7 ? 0 : 1));
  // Without val, the other k − 1 folds train; another seed deals differently.
  const SplitIds a = fold_split({}, 10, {5, 0, false, false, 1}, ErrorSite{"x", 1});
  CHECK(a.test.size() == 2);
  CHECK(a.val.empty());
  CHECK(a.train.size() == 8);
  const SplitIds b = fold_split({}, 10, {5, 0, false, false, 2}, ErrorSite{"x", 1});
  CHECK(sorted(a.test) != sorted(b.test));
  CHECK_THROWS_WITH_AS(fold_split({}, 3, {5, 0, false, true, 0}, ErrorSite{"x", 1}),
                       doctest::Contains("larger than the 3 labelled items"), InputError);
}

TEST_CASE("writer: a dataset of many graphs reads back equal") {
  TempDir t;
  Dataset d;
  d.name = "many";
  d.num_nodes = 5;
  d.src = {0, 1, 3, 4};
  d.dst = {1, 0, 4, 3};
  d.num_input_edges = 2;
  d.features.resize(5, 0);
  d.labels = {0, 1, 0, 1, 1};
  d.num_classes = 2;
  d.graph_of = {0, 0, 1, 2, 2};
  d.num_graphs = 3;
  d.graph_labels = {1, -1, 0};
  d.num_graph_classes = 2;
  d.graph_label_names = {"acid", "base"};
  d.graph_targets = {0.5f, -1.25f, 3.0f};
  d.num_targets = 1;
  d.train_graphs = {0, 2};
  d.test_graphs = {1};
  d.train = {0, 1, 3, 4};
  d.test = {2};
  write_dataset(d, t.path("out"));
  const Dataset r = load_dataset_yaml(t.path("out/dataset.yaml"));
  CHECK(r.graph_of == d.graph_of);
  CHECK(r.num_graphs == 3);
  CHECK(r.graph_labels == d.graph_labels);
  CHECK(r.graph_label_names == d.graph_label_names);
  CHECK(r.graph_targets == d.graph_targets);
  CHECK(r.train_graphs == d.train_graphs);
  CHECK(r.test_graphs == d.test_graphs);
  CHECK(r.train == d.train);
  CHECK(r.test == d.test);
  CHECK(r.labels == d.labels);
  CHECK(r.src == d.src);
  CHECK(r.dst == d.dst);

  d.edge_labels = {0, 0, 1, 1};
  d.num_edge_labels = 2;
  CHECK_THROWS_WITH_AS(write_dataset(d, t.path("out2")), doctest::Contains("edge labels"), InputError);
}
