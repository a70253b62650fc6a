// The text reader (delimiters, comments, BOM, CRLF, gzip, long lines), number parsing, and the
// seeded split generator that must give the same nodes on every platform.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <set>

#include "core/error.hpp"
#include "datasets/readers.hpp"
#include "datasets/splits.hpp"
#include "datasets/text_reader.hpp"
#include "tests/datasets/temp_files.hpp"
#include "tests/testing/errors.hpp"

using namespace locus;
using locus::testing::input_error_of;
using locus::testing::TempDir;

namespace {

std::vector<std::string> fields(std::string_view line, Delimiter d) {
  std::vector<std::string_view> f;
  split_fields(line, d, f);
  return {f.begin(), f.end()};
}

// All data lines of a file, fields joined by '|'.
std::vector<std::string> read_all(const std::string& path, TextFormat fmt = {}) {
  LineReader r(path, fmt);
  std::vector<std::string> out;
  while (r.next()) {
    std::string s;
    for (auto f : r.fields()) s += (s.empty() ? "" : "|") + std::string(f);
    out.push_back(s);
  }
  return out;
}

}  // namespace

TEST_CASE("split_fields for the three delimiters") {
  using V = std::vector<std::string>;
  CHECK(fields("  a \t b\t\tc  ", Delimiter::Whitespace) == V{"a", "b", "c"});
  CHECK(fields("", Delimiter::Whitespace).empty());
  CHECK(fields("a b\tc d", Delimiter::Tab) == V{"a b", "c d"});
  CHECK(fields("a\t\tb", Delimiter::Tab) == V{"a", "", "b"});
  CHECK(fields(" x , y ,z", Delimiter::Comma) == V{"x", "y", "z"});
  CHECK(fields("x,", Delimiter::Comma) == V{"x", ""});
}

TEST_CASE("number parsing takes whole tokens only") {
  CHECK(parse_int("42") == 42);
  CHECK(parse_int("+7") == 7);
  CHECK(parse_int("-3") == -3);
  CHECK_FALSE(parse_int("4x").has_value());
  CHECK_FALSE(parse_int("1.0").has_value());
  CHECK_FALSE(parse_int("").has_value());
  CHECK_FALSE(parse_int("99999999999999999999").has_value());
  CHECK(parse_double("0.5") == 0.5);
  CHECK(parse_double("-2e-3") == -2e-3);
  CHECK(parse_double("1") == 1.0);
  CHECK_FALSE(parse_double("1,5").has_value());
  CHECK(std::isnan(*parse_double("nan")));
  CHECK(std::isinf(*parse_double("1e999")));
}

TEST_CASE("LineReader: comments, blank lines, BOM, CRLF, a last line without newline, line numbers") {
  TempDir t;
  std::string p = t.write("f.txt", "\xEF\xBB\xBF# head\r\n1 2\r\n\r\n   \n  # indented\n3 4\n5 6");
  LineReader r(p, {});
  REQUIRE(r.next());
  CHECK(r.line_number() == 2);
  CHECK(r.fields().size() == 2);
  CHECK(r.fields()[1] == "2");
  REQUIRE(r.next());
  CHECK(r.line_number() == 6);
  REQUIRE(r.next());
  CHECK(r.line() == "5 6");
  CHECK_FALSE(r.next());
  CHECK(r.data_lines() == 3);
  // The BOM is only special at the very start; a BOM-only first line is blank.
  std::string q = t.write("g.txt", "\xEF\xBB\xBF\n7\n");
  CHECK(read_all(q) == std::vector<std::string>{"7"});
}

TEST_CASE("LineReader: long lines and many lines across buffer refills; gzip gives the same lines") {
  TempDir t;
  std::string content, long_line(700000, 'x');
  for (int i = 0; i < 50000; ++i) content += std::to_string(i) + "\t" + std::to_string(i * 7) + "\n";
  content += long_line + "\n" + "end\n";
  std::string plain = t.write("big.tsv", content);
  std::string gz = t.write_gz("big.tsv.gz", content);
  std::string gz_no_suffix = t.write_gz("big.data", content);
  auto a = read_all(plain);
  REQUIRE(a.size() == 50002);
  CHECK(a[49999] == "49999|349993");
  CHECK(a[50000] == long_line);
  CHECK(a[50001] == "end");
  CHECK(read_all(gz) == a);
  CHECK(read_all(gz_no_suffix) == a);
}

TEST_CASE("LineReader: missing file, a directory, truncated and corrupt gzip") {
  TempDir t;
  std::string msg = input_error_of([&] { LineReader r(t.path("none.tsv"), {}); });
  CHECK(msg.find("none.tsv: file not found") != std::string::npos);
  msg = input_error_of([&] { LineReader r(t.dir(), {}); });
  CHECK(msg.find("is a directory, not a file") != std::string::npos);

  std::string content;
  for (int i = 0; i < 30000; ++i) content += std::to_string(i) + " " + std::to_string(i + 1) + "\n";
  std::string gz = t.write_gz("e.tsv.gz", content);
  std::filesystem::resize_file(gz, std::filesystem::file_size(gz) - 9);  // drop the trailer and a bit
  msg = input_error_of([&] { read_all(gz); });
  CHECK(msg.find("e.tsv.gz:") != std::string::npos);
  CHECK(msg.find("truncated gzip file") != std::string::npos);

  std::string bad = t.write_gz("c.tsv.gz", content);
  {
    std::fstream f(bad, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    const char junk[64] = {};
    f.write(junk, sizeof junk);  // corrupt the deflate stream
  }
  msg = input_error_of([&] { read_all(bad); });
  CHECK(msg.find("c.tsv.gz:") != std::string::npos);
  CHECK((msg.find("cannot read the file") != std::string::npos || msg.find("truncated") != std::string::npos));
}

TEST_CASE("LineReader: tab and comma delimiters reject empty fields") {
  TempDir t;
  std::string p = t.write("t.tsv", "a\tb\na\t\tb\n");
  TextFormat tab{Delimiter::Tab, "#"};
  std::string msg = input_error_of([&] { read_all(p, tab); });
  CHECK(msg.find("t.tsv:2: empty field 2") != std::string::npos);
  CHECK(msg.find("tab delimiter") != std::string::npos);
}

TEST_CASE("column slices") {
  auto s = parse_column_slice("1:-1");
  REQUIRE(s);
  CHECK(s->start == 1);
  CHECK(s->stop == -1);
  s = parse_column_slice(":5");
  REQUIRE(s);
  CHECK_FALSE(s->start.has_value());
  CHECK(s->stop == 5);
  s = parse_column_slice("2:");
  REQUIRE(s);
  CHECK_FALSE(s->stop.has_value());
  CHECK_FALSE(parse_column_slice("1-3").has_value());
  CHECK_FALSE(parse_column_slice("1:2:3").has_value());
  CHECK_FALSE(parse_column_slice("a:b").has_value());
}

TEST_CASE("SplitRng is splitmix64 and the shuffle is pinned (same nodes on every platform)") {
  SplitRng r(0);
  CHECK(r.next() == 0xE220A8397B1DCDAFull);  // the published first output of splitmix64(seed 0)
  SplitRng s(42);
  std::vector<int32_t> v{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  shuffle_ids(v, s);
  CHECK(v == std::vector<int32_t>{0, 9, 5, 8, 6, 4, 7, 2, 1, 3});
  SplitRng b(1);
  for (int i = 0; i < 1000; ++i) CHECK(b.below(7) < 7);
}

TEST_CASE("random_split and per_class_split directly") {
  std::vector<int32_t> labels;
  for (int i = 0; i < 30; ++i) labels.push_back(i % 3);
  labels[5] = -1;
  RandomSplitSpec rs;
  rs.train = 0.5;
  rs.val = 0.25;
  rs.seed = 11;
  SplitIds a = random_split(labels, 3, 30, rs, {"x.yaml", 1});
  CHECK(a.train.size() == 15);  // round(0.5 * 29) = 15 (half away from zero)
  CHECK(a.val.size() == 7);
  CHECK(a.test.size() == 7);
  std::set<int32_t> all(a.train.begin(), a.train.end());
  all.insert(a.val.begin(), a.val.end());
  all.insert(a.test.begin(), a.test.end());
  CHECK(all.size() == 29);
  CHECK(all.count(5) == 0);
  // Without labels every node is a candidate.
  SplitIds u = random_split({}, 0, 10, rs, {"x.yaml", 1});
  CHECK(u.train.size() + u.val.size() + u.test.size() == 10);

  PerClassSplitSpec ps;
  ps.train = 2;
  ps.val = 3;
  ps.test = 4;
  SplitIds p = per_class_split(labels, 3, {}, ps, {"x.yaml", 1});
  CHECK(p.train.size() == 6);
  CHECK(p.val.size() == 3);
  CHECK(p.test.size() == 4);
  ps.train = 10;  // classes 0 and 1 have 10 labelled nodes, class 2 only 9 (node 5 is unlabelled)
  std::string msg = input_error_of([&] { per_class_split(labels, 3, {"a", "b", "c"}, ps, {"x.yaml", 4}); });
  CHECK(msg.find("x.yaml:4: class 'c' has only 9 labelled nodes") != std::string::npos);
}

// read_edges and read_sparse_features check repeats by key order on a first pass and read an
// unsorted file again with a table (RepeatFinder): both passes must give one result.
TEST_CASE("edge and feature repeats: sorted and unsorted files give the same result and errors") {
  TempDir t;
  auto edges = [&](const std::string& text, DuplicatePolicy dup, IdMode mode = IdMode::Index) {
    NodeIdMap ids(mode, -1, "d.yaml", 0);
    EdgeOptions opt;
    opt.duplicates = dup;
    EdgeList e = read_edges(t.write("e.tsv", text), opt, ids, true);
    return std::make_pair(e, mode == IdMode::Name ? ids.names() : std::vector<std::string>{});
  };
  // Sorted, no repeat: one pass.
  auto [sorted, none] = edges("0 1\n0 2\n1 2\n", DuplicatePolicy::Merge);
  CHECK(sorted.src == std::vector<int32_t>{0, 1, 0, 2, 1, 2});
  CHECK(sorted.num_duplicates_merged == 0);
  // Unsorted from line 2, with a repeat on line 4 (of line 1, reversed): merged, first kept.
  auto [merged, none2] = edges("2 3\n0 1\n1 2\n1 0\n0 1\n", DuplicatePolicy::Merge);
  CHECK(merged.src == std::vector<int32_t>{2, 3, 0, 1, 1, 2});
  CHECK(merged.dst == std::vector<int32_t>{3, 2, 1, 0, 2, 1});
  CHECK(merged.num_input_edges == 5);
  CHECK(merged.num_duplicates_merged == 2);
  // The error names the first repeat in file order, whether order broke before it or at it.
  const std::string e = t.path("e.tsv");
  CHECK(input_error_of([&] { edges("2 3\n0 1\n1 2\n1 0\n", DuplicatePolicy::Error); }) ==
        e + ":4: duplicate edge (as an undirected pair), first on line 2: '1 0'. remove the repeated line or set "
            "edges.duplicates: merge");
  CHECK(input_error_of([&] { edges("0 1\n1 2\n1 2\n", DuplicatePolicy::Error); }) ==
        e + ":3: duplicate edge (as an undirected pair), first on line 2: '1 2'. remove the repeated line or set "
            "edges.duplicates: merge");
  // Named ids read twice keep their first-appearance indices.
  auto [named, names] = edges("c a\nb a\nc a\n", DuplicatePolicy::Merge, IdMode::Name);
  CHECK(names == std::vector<std::string>{"c", "a", "b"});
  CHECK(named.src == std::vector<int32_t>{0, 1, 2, 1});
  CHECK(named.num_duplicates_merged == 1);

  auto features = [&](const std::string& text) {
    NodeIdMap ids(IdMode::Index, 4, "d.yaml", 0);
    return read_sparse_features(t.write("f.tsv", text), TextFormat{}, 3, ids, true);
  };
  FeatureEntries unsorted = features("2 1 0.5\n0 2 1\n0 0 0\n1 1 2\n");
  CHECK(unsorted.row == std::vector<int32_t>{2, 0, 1});  // the explicit zero is not stored
  CHECK(unsorted.col == std::vector<int32_t>{1, 2, 1});
  const std::string f = t.path("f.tsv");
  // A repeated zero is a repeat too, sorted or not.
  CHECK(input_error_of([&] { features("0 0 0\n1 1 1\n0 0 0\n"); }) ==
        f + ":3: feature given twice for the same node, first on line 1: '0 0 0'. keep one line per (node, feature)");
  CHECK(input_error_of([&] { features("0 0 0\n0 0 0\n"); }) ==
        f + ":2: feature given twice for the same node, first on line 1: '0 0 0'. keep one line per (node, feature)");
}
