// `locus compare`: variant names → overrides, errors for unknown names, one summary per variant
// on the same seeds, and the CSV / JSON / PNG outputs; `locus layers`, the registry's listing.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/compare.hpp"
#include "core/error.hpp"
#include "layers/registry.hpp"
#include "tests/testing/paths.hpp"
#include "tests/testing/process.hpp"
#include "tests/testing/temp_dir.hpp"

using namespace locus;
using locus::testing::Cmd;
using locus::testing::run_locus;
using locus::testing::TempDir;

TEST_CASE("compare: variant names expand to config overrides") {
  CHECK(variant_overrides("gcn") == std::vector<std::string>{"gnn.layer_type=gcn"});
  CHECK(variant_overrides("transformer+SPD+RWSE") ==
        std::vector<std::string>{"gnn.layer_type=transformer", "posenc_SPD.enable=true", "posenc_RWSE.enable=true"});
  CHECK(variant_overrides("sage+AnchorPE+LapPE").back() == "posenc_LapPE.enable=true");
  CHECK(variant_overrides("gcn+gir") ==
        std::vector<std::string>{"gnn.layer_type=gcn", "gnn.position=gir", "gnn.fusion=auto"});
  CHECK(variant_overrides("gcn+gir:input").back() == "gnn.fusion=input");
  CHECK(variant_overrides("gcn+pgnn:concat").back() == "gnn.fusion=concat");
  CHECK(variant_overrides("gat+pgnn:sum") ==
        std::vector<std::string>{"gnn.layer_type=gat", "gnn.position=pgnn", "gnn.fusion=sum"});
  CHECK(variant_overrides("gcn+anchor").back() == "posenc_AnchorInd.enable=true");
  CHECK(variant_overrides("pgnn") == std::vector<std::string>{"gnn.layer_type=pgnn"});
  CHECK(variant_overrides("gcn+LapPE+fixed") ==
        std::vector<std::string>{"gnn.layer_type=gcn", "posenc_LapPE.enable=true", "posenc_LapPE.sign_flip=false",
                                 "posenc_Anchor.resample=false", "posenc_AnchorInd.resample=false",
                                 "gnn.anchor_resample=false"});
  CHECK_THROWS_WITH_AS(variant_overrides("gnc"), doctest::Contains("did you mean 'gcn'"), InputError);
  CHECK_THROWS_WITH_AS(variant_overrides("gcn+LapEP"), doctest::Contains("did you mean 'LapPE'"), InputError);
  CHECK_THROWS_AS(variant_overrides(""), InputError);
  CHECK_THROWS_AS(variant_overrides("gcn+"), InputError);
}

TEST_CASE("compare: every variant trains on the same seeds; CSV, JSON and plot are written") {
  TempDir dir;
  const std::string cfg = dir.write("c.yaml",
                                    "dataset:\n  name: karate\noptim:\n  max_epoch: 20\n"
                                    "compare:\n  variants: [gcn, mlp, gcn+LapPE]\nnum_runs: 2\nseed: 7\n");
  std::ostringstream log;
  const auto results = run_compare(cfg, {"num_threads=1"}, log, false);
  REQUIRE(results.size() == 3);
  CHECK(results[0].variant == "gcn");
  CHECK(results[2].summary.model == "gcn+LapPE");  // the model name is the variant
  for (const auto& r : results) {
    REQUIRE(r.summary.runs.size() == 2);
    CHECK(r.summary.runs[0].seed == 7);
    CHECK(r.summary.runs[1].seed == 8);
  }
  // The LapPE columns change the model: more parameters than plain GCN.
  CHECK(results[2].summary.num_params > results[0].summary.num_params);
  std::ostringstream table;
  print_compare(results, table);
  CHECK(table.str().find("gcn+LapPE") != std::string::npos);

  const std::string csv = dir.path("out/c.csv"), json = dir.path("out/c.json");
  write_compare_csv(results, csv);
  write_compare_json(results, json);
  std::ifstream c(csv);
  std::string header, line;
  std::getline(c, header);
  CHECK(header == "variant,test_acc_mean,test_acc_std,val_acc_mean,epoch_ms_median,num_params");
  int rows = 0;
  while (std::getline(c, line)) ++rows;
  CHECK(rows == 3);
  const auto j = nlohmann::json::parse(std::ifstream(json));
  CHECK(j["variants"].size() == 3);
  CHECK(j["variants"][1]["variant"] == "mlp");
  CHECK(j["variants"][1]["model"] == "mlp");
  CHECK(j["variants"][1]["metric"] == "acc");
  CHECK(j["variants"][1]["runs"].size() == 2);

  // The y axis names the metric: accuracy here, ROC AUC for pair tasks.
  CHECK(compare_plot_script(results, "karate", "p.png", "d.txt").find("set ylabel 'test accuracy (%)") !=
        std::string::npos);
  std::vector<VariantResult> auc = results;
  for (auto& r : auc) r.summary.metric = "auc";
  CHECK(compare_plot_script(auc, "grid", "p.png", "d.txt").find("set ylabel 'test ROC AUC (%)") != std::string::npos);
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    const std::string png = dir.path("plot.png");
    write_compare_plot(results, "karate", png);
    std::ifstream p(png, std::ios::binary);
    char magic[4] = {};
    p.read(magic, 4);
    CHECK(std::string(magic + 1, 3) == "PNG");
    CHECK(!std::filesystem::exists(dir.path(".plot.png.tmp")));
  } else {
    MESSAGE("gnuplot not installed: plot output not checked (scripts/setup.sh installs gnuplot-nox)");
  }
}

TEST_CASE("compare: a config without variants or with a bad one fails before training") {
  TempDir dir;
  const std::string none = dir.write("n.yaml", "dataset:\n  name: karate\n");
  std::ostringstream log;
  CHECK_THROWS_WITH_AS(run_compare(none, {}, log, false), doctest::Contains("compare.variants"), InputError);
  const std::string bad = dir.write("b.yaml", "dataset:\n  name: karate\ncompare:\n  variants: [gcn, gin+XYZ]\n");
  CHECK_THROWS_WITH_AS(run_compare(bad, {}, log, false), doctest::Contains("unknown addition 'XYZ'"), InputError);
  CHECK(log.str().empty());  // nothing was trained
  CHECK_THROWS_WITH_AS(run_compare(none, {"compare.variants=[]"}, log, false), doctest::Contains("empty"), InputError);
}

TEST_CASE("locus layers lists every registered type with its topologies, partition support and formula") {
  TempDir t;
  const Cmd c = run_locus("layers --verbose", t.path("layers.log"));
  REQUIRE(c.status == 0);
  std::istringstream in(c.output);
  std::map<std::string, std::string> rows;  // type -> its row
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != ' ') rows[line.substr(0, line.find(' '))] = line;
  for (const auto& d : layer_registry()) {
    CAPTURE(d.name);
    REQUIRE(rows.count(d.name) == 1);
    const std::string& row = rows[d.name];
    CHECK(row.find(d.formula) != std::string::npos);
    CHECK(row.find(d.csr && d.dense ? "csr, dense" : d.csr ? "csr " : "dense") != std::string::npos);
    CHECK(row.find(d.distributed ? " yes " : " no ") != std::string::npos);
    CHECK(c.output.find(d.summary) != std::string::npos);
  }
  CHECK(rows.size() == layer_registry().size() + 1);  // + the header
}

TEST_CASE("docs: the layer table in docs/layers.md is the registry's (regenerate: bash scripts/docs.sh)") {
  TempDir t;
  const Cmd c = run_locus("layers --format markdown", t.path("layers.md"));
  REQUIRE(c.status == 0);
  std::ifstream in(locus::testing::source_dir() + "/docs/layers.md");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const std::string begin = "<!-- layer-table:begin (generated by bash scripts/docs.sh) -->\n", end = "<!-- layer-table:end -->";
  const auto b = doc.find(begin), e = doc.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  CHECK(doc.substr(b + begin.size(), e - b - begin.size()) == c.output);
  for (const auto& d : layer_registry()) CHECK_MESSAGE(c.output.find("| `" + d.name + "` |") != std::string::npos, d.name);
}

TEST_CASE("compare: position sources and their protocol name the model and the run header") {
  auto cfg_of = [](const std::string& variant) {
    ExperimentConfig cfg;
    for (const auto& o : variant_overrides(variant)) apply_config_line(cfg, o);
    return cfg;
  };
  CHECK(position_protocol(cfg_of("gcn").gnn).empty());
  CHECK(model_name(cfg_of("gcn+LapPE")) == "gcn+LapPE");
  // Node classification (validation guards the columns): fixed signs; `+random` the papers' flips.
  CHECK(position_protocol(cfg_of("gcn+LapPE").gnn) == "LapPE signs fixed (posenc_LapPE.sign_flip=auto)");
  CHECK(model_name(cfg_of("gcn+LapPE+random")) == "gcn+LapPE+random");
  CHECK(position_protocol(cfg_of("gcn+LapPE+random").gnn) == "LapPE signs drawn anew every epoch (posenc_LapPE.sign_flip)");
  CHECK(position_protocol(cfg_of("gcn+gir+random").gnn) == "gir anchor sets drawn anew every epoch (gnn.anchor_resample)");
  CHECK(position_protocol(cfg_of("gcn+AnchorPE+noselect").gnn) ==
        "AnchorPE sets drawn anew every epoch (posenc_Anchor.resample=auto)");
  ExperimentConfig pair = cfg_of("gcn+AnchorPE");
  pair.gnn.embeddings = true;  // as spec_for sets it for pair tasks
  CHECK(position_protocol(pair.gnn) == "AnchorPE sets drawn anew every epoch (posenc_Anchor.resample=auto)");
  const ExperimentConfig fixed = cfg_of("gcn+LapPE+gir+fixed");
  CHECK(model_name(fixed) == "gcn+LapPE+gir+fixed");
  CHECK(position_protocol(fixed.gnn) ==
        "LapPE signs fixed (posenc_LapPE.sign_flip); gir anchor nodes fixed (gnn.anchors=auto)");
  // Single-node anchors are fixed by construction: named in the header, not a `+fixed` source.
  ExperimentConfig nodes = cfg_of("gcn+gir");
  apply_config_line(nodes, "gnn.anchors=nodes");
  REQUIRE(position_sources(nodes.gnn).size() == 1);
  CHECK(!position_sources(nodes.gnn)[0].randomised);
  CHECK(position_protocol(nodes.gnn) == "gir anchor nodes fixed (gnn.anchors)");
  CHECK(model_name(nodes) == "gcn+gir");
  ExperimentConfig sets = cfg_of("gcn+gir+fixed");
  apply_config_line(sets, "gnn.anchors=sets");
  CHECK(position_protocol(sets.gnn) == "gir anchor sets fixed (gnn.anchor_resample)");
  CHECK(model_name(sets) == "gcn+gir+fixed");
  // Mixed: one source fixed is enough for the name; the header says which.
  ExperimentConfig mixed = cfg_of("pgnn+AnchorPE");
  apply_config_line(mixed, "posenc_Anchor.resample=false");
  CHECK(model_name(mixed) == "pgnn+AnchorPE+fixed");
  CHECK(position_protocol(mixed.gnn) ==
        "AnchorPE sets fixed (posenc_Anchor.resample); pgnn anchor sets drawn anew every epoch (gnn.anchor_resample=auto)");
  // gnn.anchors=auto: single nodes where validation guards a fused branch (node classification),
  // P-GNN's sets, resampled (gnn.anchor_resample=auto), for pair tasks and anchor-only models.
  ExperimentConfig fused = cfg_of("gcn+gir");
  CHECK(position_protocol(fused.gnn) == "gir anchor nodes fixed (gnn.anchors=auto)");
  CHECK(model_name(fused) == "gcn+gir");
  fused.gnn.embeddings = true;  // a pair task
  CHECK(position_protocol(fused.gnn) == "gir anchor sets drawn anew every epoch (gnn.anchor_resample=auto)");
  CHECK(position_protocol(cfg_of("gcn+gir+noselect").gnn) ==
        "gir anchor sets drawn anew every epoch (gnn.anchor_resample=auto)");
  CHECK(position_protocol(cfg_of("gir").gnn) == "gir anchor sets drawn anew every epoch (gnn.anchor_resample=auto)");

  TempDir dir;
  const auto r = run_locus("train " + dir.write("c.yaml", "dataset:\n  name: karate\noptim:\n  max_epoch: 2\nnum_runs: 1\n") +
                               " posenc_LapPE.enable=true posenc_LapPE.sign_flip=false",
                           dir.root() / "t.log");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("\nposition: LapPE signs fixed (posenc_LapPE.sign_flip)\n") != std::string::npos);
}
