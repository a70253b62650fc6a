// Bad dataset input: each error names the file, the line (where there is one), the bad token
// and a fix. Small datasets are written to a temporary folder.
#include <doctest/doctest.h>

#include <initializer_list>

#include "datasets/loader.hpp"
#include "tests/datasets/temp_files.hpp"

using namespace locus;
using locus::testing::expect_error;
using locus::testing::load_error;
using locus::testing::TempDir;

namespace {

// A valid base: 4 nodes, 3 edges, 2 classes.
void write_base(const TempDir& t) {
  t.write("edges.tsv", "# src dst\n0 1\n1 2\n2 3\n");
  t.write("labels.tsv", "0 0\n1 1\n2 0\n3 1\n");
}

const std::string kBase = "name: bad\nedges:\n  path: edges.tsv\nlabels:\n  path: labels.tsv\n";

}  // namespace

TEST_CASE("error: YAML file missing, a directory, empty") {
  TempDir t;
  expect_error(load_error(t.path("nope.yaml")), {t.path("nope.yaml"), "not found", "check the path"});
  t.write("ds/dataset.yaml", "name: x\n");
  expect_error(load_error(t.path("ds")),
               {t.path("ds"), "is a directory", "did you mean " + t.path("ds/dataset.yaml")});
  std::string y = t.write("empty.yaml", "# nothing but a comment\n");
  expect_error(load_error(y), {y, "the dataset YAML is empty", "add at least 'name:'"});
}

TEST_CASE("error: YAML syntax error rethrown with file and line") {
  TempDir t;
  write_base(t);
  std::string y = t.write("dataset.yaml", "name: bad\nedges:\n  path: edges.tsv\n   weighted: [true\n");
  expect_error(load_error(y), {y + ":", "invalid YAML", "check the indentation"});
  std::string y2 = t.write("d2.yaml", "name: bad\nedges: {path: edges.tsv\nlabels: x\n");
  std::string msg = load_error(y2);
  expect_error(msg, {y2 + ":", "invalid YAML"});
}

TEST_CASE("error: unknown keys at every level, with the nearest valid key") {
  TempDir t;
  write_base(t);
  std::string y = t.write("a.yaml", kBase + "directd: true\n");
  expect_error(load_error(y), {y + ":6:", "unknown key 'directd'", "did you mean 'directed'?", "valid keys:"});
  y = t.write("b.yaml", "name: bad\nedges:\n  path: edges.tsv\n  wieghted: true\nlabels:\n  path: labels.tsv\n");
  expect_error(load_error(y), {y + ":4:", "unknown key in edges 'wieghted'", "did you mean 'weighted'?"});
  y = t.write("c.yaml", kBase + "split:\n  random: {train: 0.5, sed: 1}\n");
  expect_error(load_error(y), {y + ":7:", "unknown key in split.random 'sed'", "did you mean 'seed'?"});
  y = t.write("d.yaml", kBase + "split:\n  trian: train.txt\n");
  expect_error(load_error(y), {y + ":7:", "unknown key in split 'trian'", "did you mean 'train'?"});
  y = t.write("e.yaml", "name: bad\nedges: {path: edges.tsv}\nlabels: {path: labels.tsv, num_clases: 2}\n");
  expect_error(load_error(y), {y + ":3:", "'num_clases'", "did you mean 'num_classes'?"});
  y = t.write("f.yaml", kBase + "name: again\n");
  expect_error(load_error(y), {y + ":6:", "key given twice 'name'", "keep only one"});
}

TEST_CASE("error: wrong value types and unknown choices") {
  TempDir t;
  write_base(t);
  std::string y = t.write("a.yaml", "name: bad\ndirected: maybe\nedges: {path: edges.tsv}\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {y + ":2:", "expected true or false for directed 'maybe'", "write 'directed: true'"});
  t.write("features.tsv", "0 0 1\n");
  y = t.write("b.yaml", kBase + "features:\n  path: features.tsv\n  dim: abc\n");
  expect_error(load_error(y), {y + ":8:", "expected a whole number for features.dim 'abc'", "write 'dim: 1433"});
  y = t.write("c.yaml", "name: bad\nedges: {path: edges.tsv, delimiter: tabs}\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {y + ":2:", "unknown value for edges.delimiter 'tabs'", "did you mean 'tab'?",
                               "whitespace, tab, comma"});
  y = t.write("d.yaml", "name: bad\ntask: node_clasification\nedges: {path: edges.tsv}\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {y + ":2:", "'node_clasification'", "did you mean 'node_classification'?"});
  y = t.write("e.yaml", "name: bad\nedges: edges.tsv\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {y + ":2:", "edges must be a mapping of keys", "'edges.tsv'", "indented below it"});
  y = t.write("f.yaml", "name: bad\nnum_nodes: -4\nedges: {path: edges.tsv}\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {y + ":2:", "num_nodes must be between 1 and", "'-4'"});
  y = t.write("g.yaml", "name: bad\nedges:\n  path: edges.tsv\n  comment: #\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {y + ":4:", "no value for edges.comment", "with quotes"});
  y = t.write("h.yaml", kBase + "split: {random: {train: 1.5}}\n");
  expect_error(load_error(y), {y + ":6:", "split.random.train must be a fraction between 0 and 1", "'1.5'"});
}

TEST_CASE("error: missing required keys") {
  TempDir t;
  write_base(t);
  std::string y = t.write("a.yaml", "edges: {path: edges.tsv}\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {y, "missing required key 'name'", "add 'name: mygraph' at the top level"});
  y = t.write("b.yaml", "name: bad\nedges: {path: edges.tsv}\n");
  expect_error(load_error(y), {y, "node_classification needs labels", "'labels'", "set task: link_prediction"});
  t.write("features.tsv", "0 0 1\n");
  y = t.write("c.yaml", kBase + "features:\n  path: features.tsv\n");
  expect_error(load_error(y), {y + ":6:", "missing required key 'features.dim'", "add 'dim: 1433"});
  y = t.write("d.yaml", "name: bad\nedges:\n  weighted: true\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {y + ":2:", "missing required key 'edges.path'", "under edges"});
}

TEST_CASE("error: data file missing or a directory") {
  TempDir t;
  write_base(t);
  std::string y = t.write("a.yaml", "name: bad\nedges:\n  path: edgs.tsv\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {y + ":3:", "edges.path: file not found", "'" + t.path("edgs.tsv") + "'",
                               "paths are relative to the YAML's folder"});
  std::filesystem::create_directories(t.path("adir"));
  y = t.write("b.yaml", "name: bad\nedges: {path: adir}\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {y + ":2:", "edges.path is a directory, not a file", t.path("adir")});
  y = t.write("c.yaml", kBase + "split:\n  train: train.txt\n");
  expect_error(load_error(y), {y + ":7:", "split.train: file not found", t.path("train.txt")});
}

TEST_CASE("error: bad node ids with ids: index") {
  TempDir t;
  write_base(t);
  std::string y = t.write("dataset.yaml", kBase);
  t.write("edges.tsv", "0 1\n1 -2\n");
  expect_error(load_error(y), {t.path("edges.tsv") + ":2:", "negative node id '-2'", "ids start at 0"});
  t.write("edges.tsv", "0 1\n# c\nx7 2\n");
  expect_error(load_error(y), {t.path("edges.tsv") + ":3:", "node id is not an integer 'x7'", "set ids: name"});
  t.write("edges.tsv", "0 1\n1 3000000000\n");
  expect_error(load_error(y), {t.path("edges.tsv") + ":2:", "node id too large '3000000000'", "below 2147483647"});
  write_base(t);
  std::string y2 = t.write("n.yaml", "name: bad\nnum_nodes: 3\nedges: {path: edges.tsv}\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y2), {t.path("labels.tsv") + ":4:", "node id out of range '3'",
                                "num_nodes is 3 (" + y2 + ":2)", "ids must be 0..2"});
}

TEST_CASE("error: ids absent from the node set with ids: name") {
  TempDir t;
  t.write("table.tsv", "alice 0\nbob 1\ncarol 0\n");
  t.write("edges.tsv", "alice bob\nbob carrol\n");
  std::string y = t.write("dataset.yaml",
                          "name: bad\nids: name\nnodes: {path: table.tsv, label_column: 1}\nedges: {path: edges.tsv}\n");
  expect_error(load_error(y), {t.path("edges.tsv") + ":2:", "unknown node id (not in the node set) 'carrol'",
                               "did you mean 'carol'?", "the node table"});
  t.write("edges.tsv", "alice bob\n");
  t.write("test.txt", "alice\ndave\n");
  y = t.write("s.yaml", "name: bad\nids: name\nnodes: {path: table.tsv, label_column: 1}\n"
                        "edges: {path: edges.tsv}\nsplit: {test: test.txt}\n");
  expect_error(load_error(y), {t.path("test.txt") + ":2:", "'dave'", "not in the node set"});
}

TEST_CASE("error: wrong-width and ragged rows") {
  TempDir t;
  write_base(t);
  std::string y = t.write("dataset.yaml", kBase);
  t.write("edges.tsv", "0 1\n1 2 0.5\n");
  expect_error(load_error(y), {t.path("edges.tsv") + ":2:", "expected 2 fields 'src dst' but found 3",
                               "'1 2 0.5'", "set edges.weighted: true"});
  t.write("edges.tsv", "0 1\n1\n");
  expect_error(load_error(y), {t.path("edges.tsv") + ":2:", "expected 2 fields (src dst) but found 1", "'1'"});
  write_base(t);
  t.write("features.tsv", "0 1 0 1\n1 0 1\n");
  std::string yd = t.write("d.yaml", kBase + "features: {path: features.tsv, format: dense}\n");
  expect_error(load_error(yd), {t.path("features.tsv") + ":2:", "wrong number of values in dense feature row",
                                "'1 0 1'", "as many values as the first row (3)"});
  std::string yd3 = t.write("d3.yaml", kBase + "features: {path: features.tsv, format: dense, dim: 2}\n");
  expect_error(load_error(yd3), {t.path("features.tsv") + ":1:", "expected 2", "'0 1 0 1'", "features.dim (2)"});
  t.write("table.csv", "0,a,1\n1,b\n");
  std::string yt = t.write("t.yaml", "name: bad\nnodes: {path: table.csv, delimiter: comma, label_column: 1}\n");
  expect_error(load_error(yt), {t.path("table.csv") + ":2:", "ragged row: expected 3 fields", "'1,b'",
                                "same number of fields"});
  t.write("table.csv", "0,a,1\n1,b,\n");
  expect_error(load_error(yt), {t.path("table.csv") + ":2:", "empty field 3", "'1,b,'", "trailing comma"});
}

TEST_CASE("error: NaN and Inf values, bad feature indices") {
  TempDir t;
  write_base(t);
  t.write("features.tsv", "0 0 1\n1 2 nan\n");
  std::string y = t.write("dataset.yaml", kBase + "features: {path: features.tsv, dim: 3}\n");
  expect_error(load_error(y), {t.path("features.tsv") + ":2:", "feature value is not finite", "'nan'",
                               "finite number"});
  t.write("features.tsv", "0 0 1\n1 3 1\n");
  expect_error(load_error(y), {t.path("features.tsv") + ":2:", "feature index out of range '3'",
                               "feature indices are 0..2", "raise features.dim"});
  t.write("features.tsv", "0 0 1\n0 0 2\n");
  expect_error(load_error(y), {t.path("features.tsv") + ":2:", "feature given twice", "first on line 1",
                               "'0 0 2'"});
  t.write("features.tsv", "0 0 abc\n");
  expect_error(load_error(y), {t.path("features.tsv") + ":1:", "feature value is not a number 'abc'"});
  t.write("edges.tsv", "0 1 1\n1 2 inf\n2 3 1\n");
  std::string yw = t.write("w.yaml", "name: bad\nedges: {path: edges.tsv, weighted: true}\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(yw), {t.path("edges.tsv") + ":2:", "edge weight is not finite", "'inf'"});
}

TEST_CASE("error: labels out of range, negative, repeated, more names than num_classes") {
  TempDir t;
  write_base(t);
  std::string y = t.write("dataset.yaml", "name: bad\nedges: {path: edges.tsv}\nlabels:\n  path: labels.tsv\n  num_classes: 2\n");
  t.write("labels.tsv", "0 0\n1 1\n2 2\n");
  expect_error(load_error(y), {t.path("labels.tsv") + ":3:", "label out of range '2'",
                               "labels.num_classes is 2 (" + y + ":5)", "raise num_classes"});
  t.write("labels.tsv", "0 0\n1 -1\n");
  expect_error(load_error(y), {t.path("labels.tsv") + ":2:", "negative label '-1'", "0..C-1"});
  t.write("labels.tsv", "0 0\n1 1\n0 1\n");
  expect_error(load_error(y), {t.path("labels.tsv") + ":3:", "node labelled twice, first on line 1", "'0'"});
  t.write("labels.tsv", "0 cat\n1 dog\n2 eel\n");
  expect_error(load_error(y), {y + ":5:", "num_classes is smaller than the number of distinct labels", "'2'",
                               "3 distinct labels (cat, dog, eel)", "num_classes: 3"});
}

TEST_CASE("error: split ids out of range, duplicated, overlapping, unlabelled") {
  TempDir t;
  write_base(t);
  t.write("labels.tsv", "0 0\n1 1\n2 0\n");  // node 3 unlabelled
  std::string y = t.write("dataset.yaml", kBase + "split: {train: train.txt, val: val.txt, test: test.txt}\n");
  t.write("val.txt", "");
  t.write("test.txt", "2\n");
  t.write("train.txt", "0\n9\n");
  expect_error(load_error(y), {t.path("train.txt") + ":2:", "node id is not in the node set '9'", "largest id"});
  t.write("train.txt", "0\n1\n0\n");
  expect_error(load_error(y), {t.path("train.txt") + ":3:", "node listed twice, first on line 1", "'0'"});
  t.write("train.txt", "0\n2\n");
  expect_error(load_error(y), {t.path("test.txt") + ":1:", "node is in both the train split",
                               t.path("train.txt") + ":2", "'2'", "remove it from one"});
  t.write("train.txt", "0\n3\n");
  expect_error(load_error(y), {t.path("train.txt") + ":2:", "split node has no label '3'",
                               "label it in " + t.path("labels.tsv")});
}

TEST_CASE("error: empty graph, empty file, file of only comments") {
  TempDir t;
  std::string y = t.write("a.yaml", "name: nothing\ntask: link_prediction\n");
  expect_error(load_error(y), {y, "the dataset has no nodes (empty graph)", "'nothing'", "add edges"});
  write_base(t);
  t.write("edges.tsv", "");
  std::string y2 = t.write("b.yaml", kBase);
  expect_error(load_error(y2), {t.path("edges.tsv") + ": the file is empty", "add lines 'src dst'"});
  t.write("edges.tsv", "# only\n\n# comments\n");
  expect_error(load_error(y2), {t.path("edges.tsv") + ": the file has only comments or blank lines (3 lines)",
                                "check edges.path"});
}

TEST_CASE("error: duplicates: error and self_loops: error") {
  TempDir t;
  write_base(t);
  t.write("edges.tsv", "0 1\n1 2\n1 0\n");
  std::string y = t.write("a.yaml", "name: bad\nedges: {path: edges.tsv, duplicates: error}\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {t.path("edges.tsv") + ":3:", "duplicate edge (as an undirected pair), first on line 1",
                               "'1 0'", "set edges.duplicates: merge"});
  t.write("edges.tsv", "0 1\n2 2\n");
  std::string y2 = t.write("b.yaml", "name: bad\nedges: {path: edges.tsv, self_loops: error}\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y2), {t.path("edges.tsv") + ":2:", "self loop '2 2'", "set edges.self_loops: drop"});
}

TEST_CASE("error: truncated gzip file") {
  TempDir t;
  write_base(t);
  std::string edges;
  for (int i = 0; i < 20000; ++i) edges += std::to_string(i % 4) + " " + std::to_string((i + 1) % 4) + "\n";
  std::string gz = t.write_gz("edges.tsv.gz", edges);
  auto size = std::filesystem::file_size(gz);
  std::filesystem::resize_file(gz, size / 2);
  std::string y = t.write("a.yaml", "name: bad\nedges: {path: edges.tsv.gz}\nlabels: {path: labels.tsv}\n");
  expect_error(load_error(y), {gz, "truncated gzip file", "re-create or re-download"});
}

TEST_CASE("error: bad split settings") {
  TempDir t;
  write_base(t);
  std::string y = t.write("a.yaml", kBase + "split:\n  random: {train: 0.7, val: 0.2, test: 0.2}\n");
  expect_error(load_error(y), {y + ":7:", "fractions add up to more than 1", "'1.1'", "at most 1"});
  y = t.write("b.yaml", kBase + "split:\n  per_class: {train: 3, seed: 1}\n");
  expect_error(load_error(y), {y + ":7:", "class 0 has only 2 labelled nodes", "'3'", "lower per_class.train"});
  y = t.write("c.yaml", kBase + "split:\n  per_class: {train: 1, val: 2, test: 2}\n");
  expect_error(load_error(y), {y + ":7:", "only 2 labelled nodes remain", "'4'", "lower per_class.val"});
  y = t.write("d.yaml", kBase + "split:\n  train: train.txt\n  random: {train: 0.5}\n");
  expect_error(load_error(y), {y + ":7:", "split mixes split files with a generated split", "'train'"});
  y = t.write("e.yaml", "name: bad\ntask: link_prediction\nedges: {path: edges.tsv}\nsplit: {random: {train: 0.5, stratify: true}}\n");
  expect_error(load_error(y), {y + ":4:", "stratify needs labels", "'true'", "set stratify: false"});
}

TEST_CASE("error: node table columns") {
  TempDir t;
  t.write("table.tsv", "a 1 0 x\nb 0 1 y\n");
  std::string y = t.write("a.yaml", "name: bad\nids: name\nnodes:\n  path: table.tsv\n  label_column: 7\n");
  expect_error(load_error(y), {t.path("table.tsv") + ":1:", "nodes.label_column 7 is outside the 4 columns",
                               "'a 1 0 x'", "between -4 and 3"});
  y = t.write("b.yaml", "name: bad\nids: name\nnodes:\n  path: table.tsv\n  label_column: -1\n  feature_columns: \"1:\"\n");
  expect_error(load_error(y), {t.path("table.tsv") + ":1:", "includes the label column", "e.g. 1:-1"});
  y = t.write("c.yaml", "name: bad\nids: name\nnodes:\n  path: table.tsv\n  label_column: -1\n  feature_columns: \"1-3\"\n");
  expect_error(load_error(y), {y + ":6:", "not a [start:stop) slice '1-3'", "feature_columns: \"1:-1\""});
  t.write("labels.tsv", "a 0\n");
  y = t.write("d.yaml", "name: bad\nids: name\nlabels: {path: labels.tsv}\nnodes:\n  path: table.tsv\n  label_column: -1\n");
  expect_error(load_error(y), {y + ":6:", "labels given twice", "remove one of them"});
  y = t.write("e.yaml", "name: bad\nids: name\nnum_nodes: 5\nnodes:\n  path: table.tsv\n  label_column: -1\n");
  expect_error(load_error(y), {y + ":3:", "num_nodes is larger than the number of distinct node ids", "'5'",
                               "set num_nodes: 2"});
}
