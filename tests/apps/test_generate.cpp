// End-to-end: `locus generate KIND ... --out DIR` writes a dataset folder that loads back equal to
// the generator's Dataset (and trains); bad options exit with status 2 and create nothing.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "datasets/builtin.hpp"
#include "datasets/generators.hpp"
#include "datasets/graph_generators.hpp"
#include "datasets/loader.hpp"
#include "tests/testing/paths.hpp"
#include "tests/testing/process.hpp"
#include "tests/testing/temp_dir.hpp"

using namespace locus;
using testing::Cmd;
using testing::run_locus;
using testing::TempDir;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("locus generate random: files, summary and the same Dataset as the generator") {
  TempDir tmp;
  const fs::path out = tmp.root() / "rnd";
  Cmd c = run_locus("generate random --nodes 300 --edges 1200 --classes 3 --features 4 --seed 7 --out " + out.string(),
                    tmp.root() / "log.txt");
  REQUIRE_MESSAGE(c.status == 0, c.output);
  for (const char* f : {"dataset.yaml", "edges.tsv", "features.tsv", "labels.tsv", "train.txt", "val.txt", "test.txt"})
    CHECK_MESSAGE(fs::exists(out / f), f);
  CHECK(contains(c.output, "300 nodes"));
  CHECK(contains(c.output, "1200 undirected edges"));
  CHECK(contains(c.output, (out / "dataset.yaml").string()));
  const Dataset d = load_dataset_yaml((out / "dataset.yaml").string());
  RandomGraphParams p;
  p.nodes = 300, p.edges = 1200, p.classes = 3, p.features = 4, p.seed = 7;
  const Dataset g = generate_random(p);
  CHECK(d.src == g.src);
  CHECK(d.dst == g.dst);
  CHECK(d.labels == g.labels);
  CHECK(d.train == g.train);
  CHECK(d.test == g.test);
  CHECK(d.num_features() == 4);
  CHECK(d.features_dense);
}

TEST_CASE("locus generate sbm, grid and caveman") {
  TempDir tmp;
  SUBCASE("sbm") {
    Cmd c =
        run_locus("generate sbm --blocks 3 --block-size 50 --p-in 0.3 --p-out 0.01 --out " + (tmp.root() / "s").string(),
                  tmp.root() / "log.txt");
    REQUIRE_MESSAGE(c.status == 0, c.output);
    const Dataset d = load_dataset_yaml((tmp.root() / "s/dataset.yaml").string());
    CHECK(d.num_nodes == 150);
    CHECK(d.num_classes == 3);
    SbmParams p;
    p.block_sizes = {50, 50, 50};
    p.p_in = 0.3, p.p_out = 0.01;
    CHECK(d.src == generate_sbm(p).src);
  }
  SUBCASE("grid") {
    Cmd c = run_locus("generate grid --rows 5 --cols 4 --out " + (tmp.root() / "g").string(), tmp.root() / "log.txt");
    REQUIRE_MESSAGE(c.status == 0, c.output);
    const Dataset d = load_dataset_yaml((tmp.root() / "g/dataset.yaml").string());
    CHECK(d.num_nodes == 20);
    CHECK(d.num_input_edges == 5 * 3 + 4 * 4);
    CHECK_FALSE(fs::exists(tmp.root() / "g/features.tsv"));
  }
  SUBCASE("grid and caveman --features constant: the built-in grid and communities") {
    for (const std::string kind : {"grid", "caveman"}) {
      const fs::path out = tmp.root() / (kind + "-const");
      Cmd c = run_locus("generate " + kind + " --features constant --out " + out.string(), tmp.root() / "log.txt");
      REQUIRE_MESSAGE(c.status == 0, c.output);
      const Dataset d = load_dataset_yaml((out / "dataset.yaml").string());
      const Dataset b = builtin_dataset(kind == "grid" ? "grid" : "communities");
      CHECK(d.num_features() == 1);
      CHECK(d.src == b.src);
      CHECK(Mat(d.features) == Mat(b.features));
    }
    Cmd bad = run_locus("generate grid --features 3 --out " + (tmp.root() / "bad").string(), tmp.root() / "log.txt");
    CHECK(bad.status != 0);
    CHECK(bad.output.find("--features for grid is constant or none, not '3'") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp.root() / "bad"));
  }
  SUBCASE("caveman with defaults (GIR.md's Communities)") {
    Cmd c = run_locus("generate caveman --out " + (tmp.root() / "c").string(), tmp.root() / "log.txt");
    REQUIRE_MESSAGE(c.status == 0, c.output);
    const Dataset d = load_dataset_yaml((tmp.root() / "c/dataset.yaml").string());
    CHECK(d.num_nodes == 400);
    CHECK(d.num_input_edges == 3800);
    CHECK(d.src == generate_caveman(CavemanParams{}).src);
  }
}

TEST_CASE("locus generate pattern, cluster and csl: many graphs, split by graph, the generators' Datasets") {
  TempDir tmp;
  const fs::path csl = tmp.root() / "csl";
  Cmd c = run_locus("generate csl --fold 3 --seed 2 --out " + csl.string(), tmp.root() / "log.txt");
  REQUIRE_MESSAGE(c.status == 0, c.output);
  CHECK(contains(c.output, "150 graphs (split 90/30/30)"));
  CHECK(contains(c.output, "10 graph classes"));
  CslParams cp;
  cp.fold = 3, cp.seed = 2;
  const Dataset g = generate_csl(cp);
  Dataset d = load_dataset_yaml((csl / "dataset.yaml").string());
  CHECK(d.task == Task::GraphClassification);
  CHECK(d.graph_of == g.graph_of);
  CHECK(d.graph_labels == g.graph_labels);
  CHECK(d.train_graphs == g.train_graphs);
  CHECK(d.val_graphs == g.val_graphs);
  CHECK(d.test_graphs == g.test_graphs);
  CHECK(d.src == g.src);

  const fs::path cl = tmp.root() / "cluster";
  c = run_locus("generate cluster --train-graphs 12 --val-graphs 3 --test-graphs 4 --out " + cl.string(), tmp.root() / "log.txt");
  REQUIRE_MESSAGE(c.status == 0, c.output);
  CHECK(contains(c.output, "19 graphs (split 12/3/4)"));
  ClusterParams kp;
  kp.train_graphs = 12, kp.val_graphs = 3, kp.test_graphs = 4;
  const Dataset k = generate_cluster(kp);
  d = load_dataset_yaml((cl / "dataset.yaml").string());
  CHECK(d.task == Task::NodeClassification);
  CHECK(d.labels == k.labels);
  CHECK(d.graph_of == k.graph_of);
  CHECK(d.train == k.train);  // the nodes of the training graphs
  CHECK(d.test == k.test);
  CHECK(d.test_graphs == k.test_graphs);
  // A node task on many graphs trains on the disjoint union (no edge joins two graphs).
  c = run_locus("train " + testing::source_dir() + "/apps/configs/karate_gcn.yaml dataset.path=" + (cl / "dataset.yaml").string() +
                    " num_runs=1 optim.max_epoch=3",
                tmp.root() / "log.txt");
  REQUIRE_MESSAGE(c.status == 0, c.output);
  CHECK(contains(c.output, "19 graphs"));
  CHECK(contains(c.output, "split by graph 12/3/4"));
  // A graph task trains in mini-batches through a readout.
  c = run_locus("train " + testing::source_dir() + "/apps/configs/karate_gcn.yaml dataset.path=" + (csl / "dataset.yaml").string() +
                    " num_runs=1 optim.max_epoch=2 train.batch_size=32 gnn.layer_type=gin",
                tmp.root() / "log.txt");
  REQUIRE_MESSAGE(c.status == 0, c.output);
  CHECK(contains(c.output, "150 graphs"));
  CHECK(contains(c.output, "10 graph classes; split by graph 90/30/30; 32 graphs per step"));
  // Its model file labels the graphs: one row per test graph.
  c = run_locus("train " + testing::source_dir() + "/apps/configs/karate_gcn.yaml dataset.path=" + (csl / "dataset.yaml").string() +
                    " num_runs=1 optim.max_epoch=2 save_model=" + (tmp.root() / "m.locus").string(),
                tmp.root() / "log.txt");
  REQUIRE_MESSAGE(c.status == 0, c.output);
  c = run_locus("predict " + (tmp.root() / "m.locus").string() + " " + csl.string() + " --split test --out " +
                    (tmp.root() / "p.csv").string(),
                tmp.root() / "log.txt");
  REQUIRE_MESSAGE(c.status == 0, c.output);
  CHECK(contains(c.output, "30 graphs, accuracy"));
  std::ifstream in(tmp.root() / "p.csv");
  std::string header;
  std::getline(in, header);
  CHECK(header == "graph,predicted,p_0,p_1,p_2,p_3,p_4,p_5,p_6,p_7,p_8,p_9,label");
  int rows = 0;
  for (std::string line; std::getline(in, line);) ++rows;
  CHECK(rows == 30);
}

TEST_CASE("locus generate: the output trains with locus train") {
  TempDir tmp;
  Cmd c =
      run_locus("generate sbm --blocks 3 --block-size 40 --p-in 0.3 --p-out 0.01 --out " + (tmp.root() / "s").string(),
                tmp.root() / "log.txt");
  REQUIRE_MESSAGE(c.status == 0, c.output);
  c = run_locus("train " + testing::source_dir() +
                    "/apps/configs/karate_gcn.yaml num_runs=1 optim.max_epoch=20 dataset.path=" +
                    (tmp.root() / "s/dataset.yaml").string(),
                tmp.root() / "log2.txt");
  CHECK_MESSAGE(c.status == 0, c.output);
  CHECK(contains(c.output, "test accuracy"));
}

TEST_CASE("locus generate: an occupied folder needs --force") {
  TempDir tmp;
  const std::string out = (tmp.root() / "g").string();
  REQUIRE(run_locus("generate grid --out " + out, tmp.root() / "log.txt").status == 0);
  Cmd c = run_locus("generate caveman --out " + out, tmp.root() / "log.txt");
  CHECK(c.status == 2);
  CHECK(contains(c.output, "locus: error:"));
  CHECK(contains(c.output, out));
  CHECK(contains(c.output, "--force"));
  CHECK(load_dataset_yaml(out + "/dataset.yaml").name == "grid");  // untouched
  c = run_locus("generate caveman --out " + out + " --force", tmp.root() / "log.txt");
  CHECK_MESSAGE(c.status == 0, c.output);
  CHECK(load_dataset_yaml(out + "/dataset.yaml").name == "caveman");
}

TEST_CASE("locus generate: bad options exit with status 2 and create nothing") {
  TempDir tmp;
  const std::string out = (tmp.root() / "never").string();
  struct Case {
    std::string args, expect;
  };
  const Case cases[] = {
      {"random --nodes abc", "--nodes"},
      {"random --nodes 10 --edges 46", "--edges"},
      {"random --rows 3", "--rows"},
      {"random --bogus 3", "--bogus"},
      {"grdi", "did you mean 'grid'"},
      {"sbm --p-in 1.5", "--p-in"},
      {"sbm --blocks 0", "--blocks"},
      {"caveman --size 2", "--size"},
      {"caveman --p -0.5", "--p"},
      {"grid --rows 4 --cols 4 --regions 9", "--regions"},
      {"csl --fold 5", "--fold"},
      {"csl --train-graphs 10", "--train-graphs"},
      {"pattern --fold 1", "--fold"},
      {"cluster --val-graphs x", "--val-graphs"},
      {"", "KIND"},
  };
  for (const auto& k : cases) {
    CAPTURE(k.args);
    Cmd c = run_locus("generate " + k.args + " --out " + out, tmp.root() / "log.txt");
    CHECK(c.status == 2);
    CHECK(contains(c.output, "locus: error:"));
    CHECK_MESSAGE(contains(c.output, k.expect), c.output);
    CHECK_FALSE(fs::exists(out));
  }
  Cmd c = run_locus("generate grid", tmp.root() / "log.txt");
  CHECK(c.status == 2);
  CHECK(contains(c.output, "--out"));
}
