// Caps on untrusted input (core/yaml_input.hpp, datasets/text_reader.hpp) and the bugs the
// fuzzers of tests/fuzz/ found: each case checks the InputError text (file, what, the limit).
#include <doctest/doctest.h>

#include <climits>
#include <initializer_list>
#include <sstream>

#include "core/yaml_input.hpp"
#include "datasets/loader.hpp"
#include "datasets/readers.hpp"
#include "tests/datasets/temp_files.hpp"

using namespace locus;
using locus::testing::load_error;
using locus::testing::TempDir;

namespace {

void expect_parts(const std::string& msg, std::initializer_list<std::string> parts) {
  CHECK_MESSAGE(!msg.empty(), "expected an InputError");
  for (const auto& p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, "'" << p << "' not in: " << msg);
}

std::string yaml_error(const std::string& text, const YamlParseOptions& opt = {}) {
  try {
    parse_yaml_capped(text, "cfg.yaml", opt);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string nested(int depth) { return std::string(static_cast<size_t>(depth), '[') + std::string(static_cast<size_t>(depth), ']'); }

// Reads every line of `path`; "" or the InputError message.
std::string read_all(const std::string& path, const TextFormat& fmt) {
  try {
    LineReader r(path, fmt);
    while (r.next()) {
    }
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("yaml caps: size") {
  YamlParseOptions opt;
  opt.limits.max_bytes = 100;
  expect_parts(yaml_error(std::string(101, '#'), opt),
               {"cfg.yaml: YAML file too large: more than 100 bytes (the limit is 100 bytes)", "data files"});
  CHECK(yaml_error(std::string(100, '#'), opt).empty());
  // The real cap through the dataset loader (1 MiB + 1 byte of comment).
  TempDir t;
  const std::string y = t.write("big.yaml", "name: x\n" + std::string((1 << 20) - 7, '#'));
  expect_parts(load_error(y), {y + ": YAML file too large: more than 1048576 bytes (the limit is 1 MiB)"});
  std::istringstream in(std::string(1000, 'a'));
  CHECK(read_yaml_text(in, "f", YamlLimits{1000, 64, 100000}).size() == 1000);
}

TEST_CASE("yaml caps: nesting depth, including yaml-cpp's own recursion guard") {
  CHECK(yaml_error(nested(64)).empty());
  expect_parts(yaml_error(nested(65)),
               {"cfg.yaml:1: YAML nested too deeply: more than 64 levels of lists and mappings (the limit)", "flatten"});
  std::string block;  // 70 levels of block mappings
  for (int i = 0; i < 70; ++i) block += std::string(static_cast<size_t>(i), ' ') + "k:\n";
  expect_parts(yaml_error(block), {"cfg.yaml:65: YAML nested too deeply: more than 64 levels"});
  // yaml-cpp 0.7 throws DeepRecursion past 500 levels (no stack overflow, also under ASan).
  expect_parts(yaml_error(nested(5000)), {"cfg.yaml:1: YAML nested too deeply: more than 64 levels"});
  expect_parts(yaml_error(std::string(100000, '[')), {"cfg.yaml:1: YAML nested too deeply"});
  // An alias inside its own anchor is a cycle: the walk stops at the depth cap.
  expect_parts(yaml_error("a: &a [1, *a]\n"), {"cfg.yaml:1: YAML nested too deeply"});
}

TEST_CASE("yaml caps: alias expansion counts every use") {
  // 10 anchors, each a list of 10 aliases to the one before: 10^10 nodes if walked in full.
  std::string y = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    y += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) y += (k ? ", *l" : "*l") + std::to_string(i - 1);
    y += "]\n";
  }
  expect_parts(yaml_error(y), {"cfg.yaml:", "YAML has too many nodes: more than 100000 values (the limit;",
                               "alias '*name' counts its whole content again"});
  // 4 levels stay well below: 1 + 4 * 2 + 10 + 100 + 1000 + 10000 nodes.
  std::string small = y.substr(0, y.find("l4:"));
  CHECK(yaml_error(small).empty());
}

TEST_CASE("yaml: syntax errors name file:line and the line; documents") {
  expect_parts(yaml_error("a: 1\nb: [1, 2\nc: 3\n"),
               {"cfg.yaml:3: invalid YAML (end of sequence flow not found) 'c: 3'. check the indentation"});
  YamlParseOptions opt;
  opt.at_before_line = true;
  opt.syntax_fix = "see the manual";
  expect_parts(yaml_error("a: 1\nb: [1, 2\nc: 3\n", opt), {"cfg.yaml:3: invalid YAML (end of sequence flow not found) at 'c: 3'. see the manual"});
  opt = {};
  opt.multi_document = true;
  CHECK(parse_yaml_capped("a: 1\n---\nb: 2\n", "f", opt).size() == 2);
  CHECK(parse_yaml_capped("", "f", opt).empty());
  // yaml-cpp 0.7's LoadAll loops for ever on a document starting with ',' (found by fuzz_config).
  expect_parts(yaml_error(",a", opt), {"cfg.yaml:1: invalid YAML (unexpected ',' where a value should start) ',a'"});
  expect_parts(yaml_error("a: 1\n---\n, b\n", opt), {"cfg.yaml:3: invalid YAML (unexpected ','", "', b'"});
  CHECK(parse_yaml_capped("---\n---\na: 1\n", "f", opt).size() == 2);
  auto one = parse_yaml_capped("a: 1\n---\nb: 2\n", "f");
  REQUIRE(one.size() == 1);
  CHECK(one[0]["a"].as<int>() == 1);
  // The loader keeps its own wording (the bad-input catalogue checks it verbatim).
  TempDir t;
  const std::string y = t.write("d.yaml", "name: tiny\nedges: {path: edges.tsv\nlabels: x\n");
  CHECK(load_error(y) == y + ":3: invalid YAML (end of map flow not found) 'labels: x'. check the indentation, colons "
                             "and quotes on that line; see datasets/README.md");
}

TEST_CASE("data files: line length cap") {
  TempDir t;
  TextFormat fmt;
  fmt.max_line_bytes = 100;
  const std::string p = t.write("e.txt", "0 1\n" + std::string(150, '7') + "\n");
  expect_parts(read_all(p, fmt), {p + ":2: line longer than 100 bytes (the limit for one line) '7777", "...'",
                                  "CR-only (old Mac) line endings"});
  const std::string ok = t.write("ok.txt", "0 1\n" + std::string(100, '7') + "\n");
  CHECK(read_all(ok, fmt).empty());
  // The real cap (16 MiB), through the dataset loader and a small .gz: one 17 MiB line.
  t.write_gz("edges.gz", "0 1\n1 " + std::string(17 << 20, '2') + "\n");
  const std::string y = t.write("d.yaml", "name: x\ntask: link_prediction\nedges:\n  path: edges.gz\n");
  expect_parts(load_error(y), {t.path("edges.gz") + ":2: line longer than 16 MiB (the limit for one line)"});
}

TEST_CASE("data files: gzip decompressed-size cap; long tokens are cut") {
  TempDir t;
  std::string body;
  for (int i = 0; i < 500; ++i) body += std::to_string(i) + " " + std::to_string(i + 1) + "\n";
  const std::string gz = t.write_gz("e.gz", body);
  const std::string plain = t.write("e.txt", body);
  TextFormat fmt;
  fmt.max_gzip_bytes = 1000;
  expect_parts(read_all(gz, fmt), {gz + ":", "gzip file decompresses to more than 1000 bytes (the limit for one compressed file)",
                                   "decompress it (gunzip)"});
  CHECK(read_all(plain, fmt).empty());  // plain files are streamed without a total cap
  fmt.max_gzip_bytes = body.size();
  CHECK(read_all(gz, fmt).empty());
  CHECK(kMaxGzipBytes == (uint64_t{16} << 30));
  CHECK(kMaxLineBytes == (size_t{16} << 20));

  // A 3000-byte bad line shows as 200 bytes and "...".
  const std::string p = t.write("f.txt", "0 1 " + std::string(3000, 'x') + "\n");
  const std::string y = t.write("d.yaml", "name: x\ntask: link_prediction\nedges:\n  path: f.txt\n");
  const std::string msg = load_error(y);
  expect_parts(msg, {p + ":1: expected 2 fields", "xxx...'"});
  CHECK(msg.size() < 600);
}

TEST_CASE("fuzz finds: a sparse id space or num_nodes near 2^31 is an error, not gigabytes") {
  TempDir t;
  t.write("e.txt", "0 1\n1 2147483000\n");
  const std::string y = t.write("d.yaml", "name: x\ntask: link_prediction\nedges:\n  path: e.txt\n");
  expect_parts(load_error(y), {y + ": the dataset has 2147483001 nodes but its files hold only 2 edges, labels and "
                                   "non-zero features (the limit: more than 1048576 nodes needs at least one per 16 nodes) "
                                   "'2147483000'. with ids: index the node count is 1 + the largest id"});
  const std::string y2 = t.write("d2.yaml", "name: x\nnum_nodes: 2000000000\ntask: link_prediction\nedges:\n  path: e.txt\n");
  t.write("e.txt", "0 1\n1 2\n");
  expect_parts(load_error(y2), {y2 + ":2: the dataset has 2000000000 nodes", "'2000000000'. lower num_nodes"});
  // Below 2^20 nodes any count is fine (isolated nodes are legal).
  const std::string y3 = t.write("d3.yaml", "name: x\nnum_nodes: 1048576\ntask: link_prediction\nedges:\n  path: e.txt\n");
  CHECK(load_dataset_yaml(y3).num_nodes == 1048576);
}

TEST_CASE("fuzz finds: huge sparse features.dim and num_classes load without huge allocations") {
  TempDir t;
  t.write("e.txt", "0 1\n1 2\n2 3\n3 0\n");
  t.write("f.txt", "0 2147483646 1.5\n2 3 -1\n0 7 2\n");
  t.write("l.txt", "0 0\n1 5\n2 5\n3 2147483646\n");
  const std::string y = t.write("d.yaml",
                                "name: x\nedges:\n  path: e.txt\nfeatures:\n  path: f.txt\n  dim: 2147483647\n"
                                "labels:\n  path: l.txt\nsplit: {random: {train: 0.5, stratify: true}}\n");
  Dataset d = load_dataset_yaml(y);
  CHECK(d.features.rows() == 4);
  CHECK(d.features.cols() == 2147483647);
  CHECK(d.features.nonZeros() == 3);
  CHECK(d.features.coeff(0, 7) == 2.0f);  // row 0's columns come out sorted
  CHECK(d.features.coeff(0, 2147483646) == 1.5f);
  CHECK(d.features.coeff(2, 3) == -1.0f);
  CHECK(d.num_classes == 2147483647);
  CHECK(d.train.size() + d.val.size() + d.test.size() == 4);
  // per_class with an empty class 1: the error names the first class with too few nodes.
  const std::string y2 = t.write("d2.yaml", "name: x\nedges:\n  path: e.txt\nlabels:\n  path: l.txt\n"
                                            "split: {per_class: {train: 1}}\n");
  expect_parts(load_error(y2), {y2 + ":6: class 1 has only 0 labelled nodes, fewer than split.per_class.train '1'"});
  const std::string y3 = t.write("d3.yaml", "name: x\nedges:\n  path: e.txt\nlabels:\n  path: l.txt\n"
                                            "split: {per_class: {train: 0, val: 1}}\n");
  Dataset d3 = load_dataset_yaml(y3);
  CHECK(d3.train.empty());
  CHECK(d3.val.size() == 1);
  CHECK(d3.test.size() == 3);
}

TEST_CASE("build_feature_matrix sums duplicates and sorts columns") {
  FeatureEntries f;
  f.dim = 4;
  f.row = {1, 1, 0, 1};
  f.col = {3, 0, 2, 3};
  f.value = {1.0f, 2.0f, 3.0f, 4.0f};
  SpMat m = build_feature_matrix(f, 3);
  CHECK(m.rows() == 3);
  CHECK(m.nonZeros() == 3);
  CHECK(m.coeff(1, 3) == 5.0f);
  CHECK(m.coeff(1, 0) == 2.0f);
  CHECK(m.coeff(0, 2) == 3.0f);
  CHECK(m.coeff(2, 1) == 0.0f);
}
