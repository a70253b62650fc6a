// `locus predict` end to end: a model saved by `locus train save_model=...` labels the training
// dataset's test nodes with the accuracy training reported (recomputed from the file), keeps the
// dataset's string node ids and class names, writes CSV, TSV and JSON lines alike, and takes a
// --nodes list. (Malformed input: tests/apps/test_bad_input_catalogue.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/predict.hpp"
#include "tests/testing/paths.hpp"
#include "tests/testing/process.hpp"
#include "tests/testing/temp_dir.hpp"

using locus::testing::run_locus;
using locus::testing::TempDir;

namespace {

std::vector<std::vector<std::string>> read_table(const std::string& path, char sep) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, sep)) row.push_back(cell);
    if (!line.empty() && line.back() == sep) row.emplace_back();
    rows.push_back(row);
  }
  return rows;
}

// Accuracy over the rows that have a label: predicted == label.
double accuracy(const std::vector<std::vector<std::string>>& t) {
  int n = 0, ok = 0;
  for (size_t r = 1; r < t.size(); ++r) {
    if (t[r].back().empty()) continue;
    ++n;
    ok += t[r][1] == t[r].back();
  }
  return n ? double(ok) / n : -1;
}

// A 12-node graph with named nodes (two triangles-of-pairs per class), token classes and 2 dense
// features that separate the classes.
void people(const TempDir& d) {
  const std::vector<std::string> red{"ann", "bob", "cy", "dee", "eve", "fay"}, blue{"gus", "hal", "ivy", "jo", "kim", "lu"};
  std::string nodes, edges;
  for (size_t i = 0; i < 6; ++i) {
    nodes += red[i] + " 1.0 0.1 red\n";
    nodes += blue[i] + " 0.1 1.0 blue\n";
    edges += red[i] + " " + red[(i + 1) % 6] + "\n" + blue[i] + " " + blue[(i + 1) % 6] + "\n";
  }
  edges += "ann gus\n";
  d.write("people/nodes.txt", nodes);
  d.write("people/edges.txt", edges);
  d.write("people/train.txt", "ann\ngus\nbob\nhal\n");
  d.write("people/val.txt", "cy\nivy\n");
  d.write("people/test.txt", "dee\njo\neve\nkim\nfay\nlu\n");
  d.write("people/dataset.yaml",
          "name: people\nids: name\nedges:\n  path: edges.txt\nnodes:\n  path: nodes.txt\n  id_column: 0\n"
          "  label_column: -1\n  feature_columns: \"1:-1\"\nsplit:\n  train: train.txt\n  val: val.txt\n  test: test.txt\n");
}

}  // namespace

TEST_CASE("locus predict: string ids and class names round-trip; accuracy from the file equals the training report") {
  TempDir d;
  people(d);
  const std::string ds = d.path("people/dataset.yaml");
  auto r = run_locus("train " + locus::testing::source_dir() + "/apps/configs/cora_gcn.yaml dataset.path=" + ds +
                         " num_runs=3 optim.max_epoch=50 num_threads=1 save_model=" + d.path("m.locus") + " --json " +
                         d.path("r.json"),
                     d.root() / "train.log");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("model saved: " + d.path("m.locus")) != std::string::npos);
  const auto report = nlohmann::json::parse(std::ifstream(d.path("r.json")));
  CHECK(report["model_file"] == d.path("m.locus"));
  // The saved run: the first of the best validation accuracies.
  size_t best = 0;
  for (size_t i = 1; i < report["runs"].size(); ++i)
    if (report["runs"][i]["val_acc"].get<double>() > report["runs"][best]["val_acc"].get<double>()) best = i;
  const double reported = report["runs"][best]["test_acc"].get<double>();

  r = run_locus("predict " + d.path("m.locus") + " " + ds + " --split test --out " + d.path("p.csv"), d.root() / "p.log");
  INFO(r.output);
  REQUIRE(r.status == 0);
  const auto csv = read_table(d.path("p.csv"), ',');
  REQUIRE(csv.size() == 7);
  CHECK(csv[0] == std::vector<std::string>{"node", "predicted", "p_blue", "p_red", "label"});
  const std::vector<std::string> test_ids{"dee", "jo", "eve", "kim", "fay", "lu"};
  for (size_t i = 0; i < test_ids.size(); ++i) {
    CHECK(csv[i + 1][0] == test_ids[i]);
    CHECK((csv[i + 1][1] == "red" || csv[i + 1][1] == "blue"));
    CHECK(std::stod(csv[i + 1][2]) + std::stod(csv[i + 1][3]) == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(csv[i + 1][4] == (i % 2 == 0 ? "red" : "blue"));
  }
  CHECK(accuracy(csv) == doctest::Approx(reported).epsilon(1e-12));

  // TSV and JSON lines carry the same predictions; --nodes picks rows in the file's order.
  d.write("pick.txt", "# two nodes\nlu\n\nann\n");
  REQUIRE(run_locus("predict " + d.path("m.locus") + " " + ds + " --split test --out " + d.path("p.tsv"), d.root() / "t.log")
              .status == 0);
  CHECK(read_table(d.path("p.tsv"), '\t') == csv);
  REQUIRE(run_locus("predict " + d.path("m.locus") + " " + ds + " --nodes " + d.path("pick.txt") + " --out " +
                        d.path("p.jsonl"),
                    d.root() / "j.log")
              .status == 0);
  std::ifstream jl(d.path("p.jsonl"));
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(jl, line)) rows.push_back(nlohmann::json::parse(line));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["node"] == "lu");
  CHECK(rows[1]["node"] == "ann");
  CHECK(rows[0]["predicted"] == csv[6][1]);
  CHECK(rows[0]["label"] == "blue");
  CHECK(rows[1]["label"] == "red");
  CHECK(rows[0]["probabilities"]["blue"].get<double>() + rows[0]["probabilities"]["red"].get<double>() ==
        doctest::Approx(1.0).epsilon(1e-6));

  // Embeddings of the chosen nodes: TSV with ids, and .npy (float32, the same values and order).
  for (const char* f : {"e.tsv", "e.npy"})
    REQUIRE(run_locus("predict " + d.path("m.locus") + " " + ds + " --split test --embeddings " + d.path(f), d.root() / "e.log")
                .status == 0);
  const auto tsv = read_table(d.path("e.tsv"), '\t');
  REQUIRE(tsv.size() == 7);
  REQUIRE(tsv[0].size() == 17);  // node, h0..h15 (the hidden width of cora_gcn.yaml)
  CHECK(tsv[0][1] == "h0");
  CHECK(tsv[1][0] == "dee");
  std::ifstream npy(d.path("e.npy"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(npy)), {});
  REQUIRE(bytes.size() > 64);
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  CHECK((10 + header_len) % 64 == 0);
  const std::string header = bytes.substr(10, header_len);
  CHECK(header.find("'descr': '<f4'") != std::string::npos);
  CHECK(header.find("'shape': (6, 16)") != std::string::npos);
  CHECK(header.back() == '\n');
  REQUIRE(bytes.size() == 10 + header_len + 6 * 16 * sizeof(float));
  for (size_t r = 0; r < 6; ++r)
    for (size_t c = 0; c < 16; ++c) {
      float x;
      std::memcpy(&x, bytes.data() + 10 + header_len + (r * 16 + c) * sizeof(float), sizeof x);
      CHECK(x == std::stof(tsv[r + 1][c + 1]));
    }

  // No --out: CSV on stdout (the report goes to stderr).
  r = run_locus("predict " + d.path("m.locus") + " " + ds + " --split val", d.root() / "s.log");
  REQUIRE(r.status == 0);
  CHECK(r.output.find("node,predicted,p_blue,p_red,label\ncy,") != std::string::npos);
}

TEST_CASE("locus predict: Cora GCN's test accuracy from the predictions file equals the training report") {
  if (!locus::testing::have_shared_dataset("cora")) {
    MESSAGE("skipped: ../shared/datasets/cora is absent");
    return;
  }
  TempDir d;
  const std::string ds = locus::testing::shared_dir() + "/datasets/cora/dataset.yaml";
  auto r = run_locus("train " + locus::testing::source_dir() + "/apps/configs/cora_gcn.yaml num_runs=1 num_threads=1 "
                         "save_model=" + d.path("m.locus") + " --json " + d.path("r.json"),
                     d.root() / "train.log");
  REQUIRE(r.status == 0);
  const auto report = nlohmann::json::parse(std::ifstream(d.path("r.json")));
  r = run_locus("predict " + d.path("m.locus") + " " + ds + " --split test --out " + d.path("p.csv"), d.root() / "p.log");
  INFO(r.output);
  REQUIRE(r.status == 0);
  const auto csv = read_table(d.path("p.csv"), ',');
  REQUIRE(csv.size() == 1001);
  CHECK(accuracy(csv) == doctest::Approx(report["runs"][0]["test_acc"].get<double>()).epsilon(1e-12));
  CHECK(r.output.find("(the training data)") != std::string::npos);
}

TEST_CASE("locus predict: progress lines for a terminal (loading, model run, ranking, writing), cleared before the summary") {
  TempDir d;
  auto r = run_locus("train " + locus::testing::source_dir() +
                         "/apps/configs/communities_link.yaml optim.max_epoch=3 num_runs=1 num_threads=1 save_model=" +
                         d.path("link.locus"),
                     d.root() / "train.log");
  INFO(r.output);
  REQUIRE(r.status == 0);
  locus::PredictOptions opt;
  opt.model = d.path("link.locus");
  opt.dataset = "communities";
  opt.top_k = 3;
  opt.out = d.path("top.csv");
  auto run = [&](bool progress) {
    opt.progress = progress;
    std::ostringstream report;
    locus::run_predict(opt, report);
    return report.str();
  };
  const std::string quiet = run(false);
  CHECK(quiet.find('\r') == std::string::npos);
  const std::string shown = run(true);
  INFO(shown);
  const std::string line = "\r\033[K";
  for (const std::string& stage : {"loading " + opt.model + " and communities ...", std::string("running the model on 400 nodes ..."),
                                   std::string("ranking partners: 400 of 400 nodes ..."), "writing " + opt.out + " ..."})
    CHECK(shown.find(line + stage) != std::string::npos);
  // Every summary line of the quiet run follows a cleared line in the shown one.
  CHECK(shown.find(line + quiet.substr(0, quiet.find('\n'))) != std::string::npos);
  CHECK(std::filesystem::file_size(opt.out) > 0);
}
