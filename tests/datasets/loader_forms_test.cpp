// Every schema key and form of the dataset YAML, on small datasets written to a temporary folder.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "datasets/loader.hpp"
#include "tests/datasets/temp_files.hpp"

using namespace locus;
using locus::testing::TempDir;

namespace {

std::vector<std::pair<int, int>> edge_pairs(const Dataset& d) {
  std::vector<std::pair<int, int>> v;
  for (int64_t e = 0; e < d.num_edges(); ++e) v.emplace_back(d.src[e], d.dst[e]);
  return v;
}

float feature(const Dataset& d, int r, int c) { return d.features.coeff(r, c); }

}  // namespace

TEST_CASE("index ids, undirected expansion, file split") {
  TempDir t;
  t.write("edges.tsv", "# src dst\n0 1\n1 2\n\n  # indented comment\n2 3\n");
  t.write("labels.tsv", "0 0\n1 1\n2 0\n3 1\n");
  t.write("train.txt", "0\n1\n");
  t.write("val.txt", "");
  t.write("test.txt", "# ids\n3\n2\n");
  std::string y = t.write("dataset.yaml",
                          "name: tiny\n"
                          "edges:\n  path: edges.tsv\n"
                          "labels:\n  path: labels.tsv\n  num_classes: 2\n"
                          "split:\n  train: train.txt\n  val: val.txt\n  test: test.txt\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.name == "tiny");
  CHECK(d.source == y);
  CHECK(d.task == Task::NodeClassification);
  CHECK_FALSE(d.directed);
  CHECK(d.num_nodes == 4);
  CHECK(d.num_input_edges == 3);
  CHECK(edge_pairs(d) == std::vector<std::pair<int, int>>{{0, 1}, {1, 0}, {1, 2}, {2, 1}, {2, 3}, {3, 2}});
  CHECK(d.weight.empty());
  CHECK(d.labels == std::vector<int32_t>{0, 1, 0, 1});
  CHECK(d.num_classes == 2);
  CHECK(d.train == std::vector<int32_t>{0, 1});
  CHECK(d.val.empty());
  CHECK(d.test == std::vector<int32_t>{3, 2});  // file order is kept
  CHECK(d.num_features() == 0);
  CHECK(d.features.rows() == 4);
}

TEST_CASE("directed weighted edges, self loops kept once, duplicates merged keeping the first weight") {
  TempDir t;
  t.write("edges.tsv", "0 1 0.5\n1 0 2\n0 1 9\n2 2 1.5\n");
  std::string y = t.write("dataset.yaml",
                          "name: w\ntask: link_prediction\ndirected: true\nnum_nodes: 5\n"
                          "edges:\n  path: edges.tsv\n  weighted: true\n  duplicates: merge\n  self_loops: keep\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.task == Task::LinkPrediction);
  CHECK(d.directed);
  CHECK(d.num_nodes == 5);  // num_nodes adds isolated nodes 3 and 4
  CHECK(edge_pairs(d) == std::vector<std::pair<int, int>>{{0, 1}, {1, 0}, {2, 2}});
  CHECK(d.weight == std::vector<float>{0.5f, 2.0f, 1.5f});
  CHECK(d.num_input_edges == 4);
  CHECK(d.num_duplicates_merged == 1);
  CHECK(d.labels.empty());
  CHECK(d.train.empty());
}

TEST_CASE("undirected duplicates are the unordered pair; self loops once or dropped") {
  TempDir t;
  t.write("edges.tsv", "0 1\n1 0\n1 1\n2 1\n0 1\n");
  std::string keep = t.write("keep.yaml", "name: u\ntask: link_prediction\nedges:\n  path: edges.tsv\n");
  Dataset d = load_dataset_yaml(keep);
  CHECK(edge_pairs(d) == std::vector<std::pair<int, int>>{{0, 1}, {1, 0}, {1, 1}, {2, 1}, {1, 2}});
  CHECK(d.num_duplicates_merged == 2);
  CHECK(d.num_self_loops_dropped == 0);
  std::string drop =
      t.write("drop.yaml", "name: u\ntask: link_prediction\nedges:\n  path: edges.tsv\n  self_loops: drop\n");
  Dataset e = load_dataset_yaml(drop);
  CHECK(edge_pairs(e) == std::vector<std::pair<int, int>>{{0, 1}, {1, 0}, {2, 1}, {1, 2}});
  CHECK(e.num_self_loops_dropped == 1);
  CHECK(e.num_input_edges == 5);
}

TEST_CASE("string ids in order of first appearance: labels, then features, then edges; token labels sorted") {
  TempDir t;
  t.write("labels.tsv", "bob dog\nann cat\ncid ant\n");
  t.write("features.tsv", "dan 0 1.5\nbob 2 -1\n");
  t.write("edges.tsv", "ann eve\neve bob\n");
  t.write("train.txt", "ann\n");
  t.write("test.txt", "cid\nbob\n");
  std::string y = t.write("dataset.yaml",
                          "name: named\nids: name\n"
                          "edges: {path: edges.tsv}\n"
                          "features: {path: features.tsv, format: sparse, dim: 3}\n"
                          "labels: {path: labels.tsv}\n"
                          "split: {train: train.txt, test: test.txt}\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.node_names == std::vector<std::string>{"bob", "ann", "cid", "dan", "eve"});
  CHECK(d.num_nodes == 5);
  CHECK(d.label_names == std::vector<std::string>{"ant", "cat", "dog"});
  CHECK(d.num_classes == 3);
  CHECK(d.labels == std::vector<int32_t>{2, 1, 0, -1, -1});
  CHECK(d.num_features() == 3);
  CHECK(d.features.nonZeros() == 2);
  CHECK(feature(d, 3, 0) == 1.5f);
  CHECK(feature(d, 0, 2) == -1.0f);
  CHECK(edge_pairs(d) == std::vector<std::pair<int, int>>{{1, 4}, {4, 1}, {4, 0}, {0, 4}});
  CHECK(d.train == std::vector<int32_t>{1});
  CHECK(d.test == std::vector<int32_t>{2, 0});
  CHECK(d.val.empty());
}

TEST_CASE("node table with string ids, tab delimiter, negative label column and a 1:-1 feature slice") {
  TempDir t;
  // Cora's .content layout: id, features..., label; a name with a space works with tab fields.
  t.write("graph.content",
          "p 1\t0\t1\t0\tTheory\n"
          "p2\t1\t1\t0\tNeural_Networks\n"
          "p3\t0\t0\t0\tTheory\n");
  t.write("cites", "p2\tp 1\np3\tp2\n");
  std::string y = t.write("dataset.yaml",
                          "name: table\nids: name\n"
                          "nodes:\n  path: graph.content\n  delimiter: tab\n  id_column: 0\n"
                          "  label_column: -1\n  feature_columns: \"1:-1\"\n"
                          "edges:\n  path: cites\n  delimiter: tab\n"
                          "split:\n  per_class: {train: 1, seed: 3}\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.node_names == std::vector<std::string>{"p 1", "p2", "p3"});
  CHECK(d.num_features() == 3);
  CHECK_FALSE(d.features_dense);
  CHECK(d.features.nonZeros() == 3);
  CHECK(feature(d, 0, 1) == 1.0f);
  CHECK(feature(d, 1, 0) == 1.0f);
  CHECK(feature(d, 1, 1) == 1.0f);
  CHECK(d.label_names == std::vector<std::string>{"Neural_Networks", "Theory"});
  CHECK(d.labels == std::vector<int32_t>{1, 0, 1});
  CHECK(edge_pairs(d) == std::vector<std::pair<int, int>>{{1, 0}, {0, 1}, {2, 1}, {1, 2}});
  CHECK(d.train.size() == 2);  // one per class
  CHECK(d.val.empty());
  CHECK(d.test.size() == 1);   // the rest
}

TEST_CASE("node table with the id last, label first and an open-ended slice, integer ids") {
  TempDir t;
  t.write("nodes.csv", "1, 0.5, 0, 2\n0, 0, 0.25, 0\n1, 1, 1, 1\n");
  std::string y = t.write("dataset.yaml",
                          "name: t2\n"
                          "nodes:\n  path: nodes.csv\n  delimiter: comma\n  id_column: -1\n  label_column: 0\n"
                          "  feature_columns: \"1:-1\"\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.num_nodes == 3);
  CHECK(d.labels == std::vector<int32_t>{0, 1, 1});
  CHECK(d.num_features() == 2);
  CHECK(feature(d, 2, 0) == 0.5f);
  CHECK(feature(d, 0, 1) == 0.25f);
  CHECK(feature(d, 1, 0) == 1.0f);
  CHECK(d.features.nonZeros() == 4);
  CHECK(d.num_edges() == 0);

  std::string y2 = t.write("open.yaml",
                           "name: t3\n"
                           "nodes:\n  path: nodes.csv\n  delimiter: comma\n  id_column: 3\n  label_column: 0\n"
                           "  feature_columns: \"1:3\"\n");
  CHECK(load_dataset_yaml(y2).num_features() == 2);
}

TEST_CASE("dense features: explicit and inferred dim, zeros not stored, missing rows are zero") {
  TempDir t;
  t.write("features.tsv", "0 1 0 2.5\n2 0 0 -3e-1\n");
  t.write("labels.tsv", "0 0\n1 1\n2 0\n");
  std::string with_dim = t.write("a.yaml",
                                 "name: dense\nlabels: {path: labels.tsv}\n"
                                 "features: {path: features.tsv, format: dense, dim: 3}\n");
  Dataset d = load_dataset_yaml(with_dim);
  CHECK(d.features_dense);
  CHECK(d.num_features() == 3);
  CHECK(d.features.rows() == 3);
  CHECK(d.features.nonZeros() == 3);
  CHECK(feature(d, 0, 0) == 1.0f);
  CHECK(feature(d, 0, 2) == 2.5f);
  CHECK(feature(d, 2, 2) == doctest::Approx(-0.3f));
  CHECK(feature(d, 1, 1) == 0.0f);
  std::string inferred = t.write("b.yaml",
                                 "name: dense\nlabels: {path: labels.tsv}\n"
                                 "features: {path: features.tsv, format: dense}\n");
  CHECK(load_dataset_yaml(inferred).num_features() == 3);
}

TEST_CASE("comma delimiter and a custom comment marker") {
  TempDir t;
  t.write("edges.csv", "% a comment\n0,1\n 1 , 2 \n# not a comment here: this line is data\n");
  std::string y = t.write("dataset.yaml",
                          "name: c\ntask: link_prediction\n"
                          "edges:\n  path: edges.csv\n  delimiter: comma\n  comment: \"%\"\n");
  // '#' is no longer a comment, so the last line is a (bad) one-field row.
  std::string msg = testing::load_error(y);
  CHECK(msg.find("edges.csv:4") != std::string::npos);
  t.write("edges.csv", "% a comment\n0,1\n 1 , 2 \n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.num_input_edges == 2);
  CHECK(d.num_nodes == 3);
  // An empty marker turns comments off.
  t.write("edges2.csv", "0,1\n");
  std::string y2 = t.write("none.yaml",
                           "name: c\ntask: link_prediction\n"
                           "edges: {path: edges2.csv, delimiter: comma, comment: \"\"}\n");
  CHECK(load_dataset_yaml(y2).num_input_edges == 1);
}

TEST_CASE("CRLF line endings and a UTF-8 BOM, in the data files and the YAML") {
  TempDir t;
  const std::string bom = "\xEF\xBB\xBF";
  t.write("edges.tsv", bom + "# src\tdst\r\n0\t1\r\n1\t2\r\n");
  t.write("labels.tsv", bom + "0\t0\r\n1\t1\r\n2\t1");  // and no final newline
  t.write("train.txt", bom + "0\r\n1\r\n");
  std::string y = t.write("dataset.yaml", bom +
                                              "name: crlf\r\nedges:\r\n  path: edges.tsv\r\n"
                                              "labels:\r\n  path: labels.tsv\r\nsplit:\r\n  train: train.txt\r\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.name == "crlf");
  CHECK(d.num_nodes == 3);
  CHECK(d.num_edges() == 4);
  CHECK(d.labels == std::vector<int32_t>{0, 1, 1});
  CHECK(d.train == std::vector<int32_t>{0, 1});
}

TEST_CASE("gzip-compressed files") {
  TempDir t;
  std::string edges, feats, labels;
  for (int i = 0; i < 3000; ++i) edges += std::to_string(i) + "\t" + std::to_string(i + 1) + "\n";
  for (int i = 0; i <= 3000; ++i) feats += std::to_string(i) + " " + std::to_string(i % 7) + " 1\n";
  for (int i = 0; i <= 3000; ++i) labels += std::to_string(i) + " " + std::to_string(i % 3) + "\n";
  t.write_gz("edges.tsv.gz", edges);
  t.write_gz("features.tsv.gz", feats);
  t.write_gz("labels.tsv.gz", labels);
  std::string y = t.write("dataset.yaml",
                          "name: gz\nedges: {path: edges.tsv.gz}\n"
                          "features: {path: features.tsv.gz, dim: 7}\nlabels: {path: labels.tsv.gz}\n"
                          "split: {random: {train: 0.5, val: 0.25, test: 0.25, seed: 1}}\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.num_nodes == 3001);
  CHECK(d.num_input_edges == 3000);
  CHECK(d.num_edges() == 6000);
  CHECK(d.features.nonZeros() == 3001);
  CHECK(d.num_classes == 3);
  CHECK(d.train.size() + d.val.size() + d.test.size() == 3001);
}

TEST_CASE("random split: sizes, disjoint parts, seeded, stratified per class, only labelled nodes") {
  TempDir t;
  std::string labels;
  for (int i = 0; i < 100; ++i)
    if (i % 10 != 9) labels += std::to_string(i) + " " + std::to_string(i < 60 ? 0 : 1) + "\n";  // 90 labelled
  t.write("labels.tsv", labels);
  auto yaml = [&](const std::string& name, const std::string& split) {
    return t.write(name, "name: r\nnum_nodes: 100\nlabels: {path: labels.tsv}\nsplit:\n  random: " + split + "\n");
  };
  Dataset a = load_dataset_yaml(yaml("a.yaml", "{train: 0.6, val: 0.2, test: 0.2, seed: 7}"));
  CHECK(a.train.size() == 54);
  CHECK(a.val.size() == 18);
  CHECK(a.test.size() == 18);
  std::set<int32_t> all;
  for (auto* part : {&a.train, &a.val, &a.test})
    for (int32_t v : *part) {
      CHECK(a.labels[v] >= 0);
      CHECK(all.insert(v).second);
    }
  CHECK(std::is_sorted(a.train.begin(), a.train.end()));
  Dataset again = load_dataset_yaml(yaml("b.yaml", "{train: 0.6, val: 0.2, test: 0.2, seed: 7}"));
  CHECK(again.train == a.train);
  CHECK(again.test == a.test);
  Dataset other = load_dataset_yaml(yaml("c.yaml", "{train: 0.6, val: 0.2, test: 0.2, seed: 8}"));
  CHECK(other.train != a.train);
  // Test omitted: the rest. Smaller total: some nodes unused.
  Dataset rest = load_dataset_yaml(yaml("d.yaml", "{train: 0.5, seed: 0}"));
  CHECK(rest.train.size() == 45);
  CHECK(rest.val.empty());
  CHECK(rest.test.size() == 45);
  Dataset part = load_dataset_yaml(yaml("e.yaml", "{train: 0.1, val: 0.1, test: 0.1}"));
  CHECK(part.train.size() + part.val.size() + part.test.size() == 27);
  // Stratified: each class (54 of class 0, 36 of class 1) split 50/50.
  Dataset s = load_dataset_yaml(yaml("f.yaml", "{train: 0.5, val: 0.0, test: 0.5, stratify: true, seed: 3}"));
  int c0 = 0, c1 = 0;
  for (int32_t v : s.train) (s.labels[v] == 0 ? c0 : c1)++;
  CHECK(c0 == 27);
  CHECK(c1 == 18);
  CHECK(s.test.size() == 45);
}

TEST_CASE("per_class split: train per class, then val and test from the rest") {
  TempDir t;
  std::string labels;
  for (int i = 0; i < 60; ++i) labels += std::to_string(i) + " " + std::to_string(i % 3) + "\n";
  t.write("labels.tsv", labels);
  std::string y = t.write("dataset.yaml",
                          "name: p\nlabels: {path: labels.tsv, num_classes: 3}\n"
                          "split: {per_class: {train: 4, val: 10, test: 20, seed: 5}}\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.train.size() == 12);
  int per[3] = {0, 0, 0};
  for (int32_t v : d.train) per[d.labels[v]]++;
  CHECK(per[0] == 4);
  CHECK(per[1] == 4);
  CHECK(per[2] == 4);
  CHECK(d.val.size() == 10);
  CHECK(d.test.size() == 20);
  std::set<int32_t> all(d.train.begin(), d.train.end());
  for (int32_t v : d.val) CHECK(all.insert(v).second);
  for (int32_t v : d.test) CHECK(all.insert(v).second);
  Dataset again = load_dataset_yaml(y);
  CHECK(again.val == d.val);
}

TEST_CASE("integer labels: unlabelled nodes are -1, num_classes may exceed the largest label") {
  TempDir t;
  t.write("edges.tsv", "0 1\n1 2\n2 3\n");
  t.write("labels.tsv", "1 2\n3 0\n");
  std::string y = t.write("dataset.yaml",
                          "name: l\nedges: {path: edges.tsv}\nlabels: {path: labels.tsv, num_classes: 5}\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.labels == std::vector<int32_t>{-1, 2, -1, 0});
  CHECK(d.num_classes == 5);
  CHECK(d.label_names.empty());
  std::string y2 = t.write("b.yaml", "name: l\nedges: {path: edges.tsv}\nlabels: {path: labels.tsv}\n");
  CHECK(load_dataset_yaml(y2).num_classes == 3);
}

TEST_CASE("paths are relative to the YAML's folder; absolute paths work") {
  TempDir t;
  t.write("sub/data/edges.tsv", "0 1\n");
  std::string abs_edges = t.write("elsewhere/e.tsv", "0 1\n1 2\n");
  std::string y = t.write("sub/dataset.yaml", "name: rel\ntask: link_prediction\nedges: {path: data/edges.tsv}\n");
  CHECK(load_dataset_yaml(y).num_nodes == 2);
  std::string y2 = t.write("sub/abs.yaml", "name: abs\ntask: link_prediction\nedges: {path: \"" + abs_edges + "\"}\n");
  CHECK(load_dataset_yaml(y2).num_nodes == 3);
}

TEST_CASE("pair_classification task and a graph without edges") {
  TempDir t;
  t.write("labels.tsv", "0 0\n1 1\n");
  std::string y = t.write("dataset.yaml", "name: noedges\ntask: pair_classification\nlabels: {path: labels.tsv}\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.task == Task::PairClassification);
  CHECK(d.num_nodes == 2);
  CHECK(d.num_edges() == 0);
}

TEST_CASE("features, labels and node tables take their own delimiter and comment marker") {
  TempDir t;
  t.write("labels.csv", "; labels\n0,b\n1,a\n");
  t.write("features.tsv", "% features\n0\t1\t2.0\n1\t0\t-1\n");
  std::string y = t.write("dataset.yaml",
                          "name: own\n"
                          "labels: {path: labels.csv, delimiter: comma, comment: \";\"}\n"
                          "features: {path: features.tsv, dim: 2, delimiter: tab, comment: \"%\"}\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.label_names == std::vector<std::string>{"a", "b"});
  CHECK(d.labels == std::vector<int32_t>{1, 0});
  CHECK(d.features.coeff(0, 1) == 2.0f);
  CHECK(d.features.coeff(1, 0) == -1.0f);
}
