// Model files: run_experiment saves the run of the best validation score (or every run), and
// Model::load(path).predict(dataset) reproduces the scores training reported and the in-process
// probabilities bit for bit, for every registered layer type, with positional encodings and anchor
// branches, for pair tasks and for graph classification and regression (per graph); labels are
// matched by class name; damaged files are refused.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "datasets/writer.hpp"
#include "layers/registry.hpp"
#include "tests/testing/regression_graphs.hpp"
#include "tests/testing/errors.hpp"
#include "tests/testing/temp_dir.hpp"
#include "train/experiment.hpp"
#include "train/model.hpp"

using namespace locus;
using locus::testing::input_error_of;
using locus::testing::TempDir;

namespace {

ExperimentConfig config(const std::vector<std::string>& lines) {
  ExperimentConfig cfg;
  // Few epochs: what is checked is that a file reproduces a run, not how good the run is (this
  // also keeps the sanitizer build's run of every layer type short).
  for (const auto& l : {"optim.max_epoch=10", "num_runs=2", "num_threads=1"}) apply_config_line(cfg, l);
  for (const auto& l : lines) apply_config_line(cfg, l);
  return cfg;
}

// The run model files keep: the first of the highest validation scores (NaN: the first run).
size_t best_run(const TrainSummary& s) {
  size_t b = 0;
  for (size_t r = 1; r < s.runs.size(); ++r)
    if (s.runs[r].val_acc > s.runs[b].val_acc) b = r;
  return b;
}

DatasetOptions builtin_options(const std::string& name) {
  DatasetOptions o;
  o.name = name;
  return o;
}

bool same_bits(const Mat& a, const Mat& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("model file: every registered layer type, encodings and branches predict what training reported") {
  std::vector<std::vector<std::string>> variants;
  for (const auto& name : layer_names()) variants.push_back({"gnn.layer_type=" + name});
  variants.push_back({"gnn.layer_type=gcn", "posenc_LapPE.enable=true"});
  variants.push_back({"gnn.layer_type=transformer", "posenc_RWSE.enable=true"});
  variants.push_back({"gnn.layer_type=gcn", "gnn.position=gir"});
  variants.push_back({"gnn.layer_type=sage", "gnn.position=pgnn", "gnn.fusion=sum"});
  // Every variant on karate (no validation split: the last epoch is kept); a few on sbm, whose
  // validation split makes the saved run and epoch a real choice.
  const std::vector<std::vector<std::string>> on_sbm{
      {"gnn.layer_type=gat", "gnn.att_heads=2"}, {"gnn.layer_type=sage"},
      // BatchNorm's running statistics travel with the parameters (store buffers).
      {"gnn.layer_type=gcn", "gnn.residual=true", "gnn.norm=batch", "train.metric=wacc"},
      {"gnn.layer_type=gatedgcn", "gnn.norm=batch", "gnn.head=mlp"}};
  for (const std::string dataset : {"karate", "sbm"}) {
    for (auto v : dataset == "sbm" ? on_sbm : variants) {
      TempDir tmp;
      const std::string path = tmp.path("m.locus");
      v.push_back("dataset.name=" + dataset);
      v.push_back("save_model=" + path);
      const ExperimentConfig cfg = config(v);
      INFO(dataset, " ", model_name(cfg));
      const TrainSummary s = run_experiment(cfg);
      REQUIRE(s.model_file == path);
      const size_t b = best_run(s);
      const RunResult& run = s.runs[b];
      // Only the saved run keeps its parameters in memory.
      for (size_t r = 0; r < s.runs.size(); ++r) CHECK(s.runs[r].params.empty() == (r != b));

      const Model m = Model::load(path);
      CHECK(m.run_index() == static_cast<int>(b));
      CHECK(m.seed() == run.seed);
      CHECK(m.best_epoch() == run.best_epoch);
      CHECK(m.model_name() == s.model);
      CHECK(m.classes().size() == static_cast<size_t>(s.num_classes));
      CHECK(m.parameters() == run.params);
      CHECK(std::string(m.metric()) == (cfg.train.metric == Metric::WeightedAccuracy ? "wacc" : "acc"));

      const Dataset ds = load_dataset(cfg.dataset);
      const Prediction p = m.predict(ds);
      CHECK(p.same_data);
      CHECK(p.unknown_labels == 0);
      CHECK(p.scores.test == run.test_acc);  // exactly: the same forward pass
      if (!std::isnan(run.val_acc)) CHECK(p.scores.val == run.val_acc);
      // The in-process model with the selected epoch's parameters: the same bits.
      const Problem problem = make_problem(load_dataset(cfg.dataset), cfg.dataset);
      Trainer t(problem, cfg.gnn, cfg.train, run.seed);
      t.set_parameters(run.params);
      CHECK(same_bits(p.output, t.probabilities()));
      // Anchor branches: the file holds the sets the run evaluated with.
      const bool branch = cfg.gnn.position != "none" || cfg.gnn.layer_type == "gir" || cfg.gnn.layer_type == "pgnn";
      REQUIRE((m.anchor_sets() != nullptr) == branch);
      if (branch) {
        CHECK(m.anchor_sets()->num_sets() > 0);
        CHECK(m.anchor_sets()->offsets == t.branch_eval_sets()->offsets);
        CHECK(m.anchor_sets()->nodes == t.branch_eval_sets()->nodes);
      }
      CHECK(p.embeddings.size() == 0);
      if (s.model == "gcn") {  // embeddings: the last layer's input, the same bits
        const Prediction e = m.predict(ds, true);
        CHECK(e.embeddings.rows() == ds.num_nodes);
        CHECK(e.embeddings.cols() == cfg.gnn.hidden);
        CHECK(same_bits(e.embeddings, t.embeddings()));
        CHECK(same_bits(e.output, p.output));
      }
      for (Eigen::Index i = 0; i < p.output.rows(); ++i) CHECK(std::abs(p.output.row(i).sum() - 1.0f) < 1e-5f);
    }
  }
}

TEST_CASE("model file: a pair model reproduces its test ROC AUC; save_model_runs=all writes one file per run") {
  TempDir tmp;
  const ExperimentConfig cfg =
      config({"dataset.name=communities", "dataset.task=pair_classification", "gnn.layer_type=sage", "num_runs=3",
              "save_model=" + tmp.path("pairs.locus"), "save_model_runs=all"});
  const TrainSummary s = run_experiment(cfg);
  CHECK(s.metric == "auc");
  CHECK(s.model_file == tmp.path("pairs.run1.locus"));
  for (int r = 0; r < 3; ++r) {
    const std::string path = tmp.path("pairs.run" + std::to_string(r + 1) + ".locus");
    INFO(path);
    REQUIRE(std::filesystem::exists(path));
    const Model m = Model::load(path);
    CHECK(m.task() == Task::PairClassification);
    CHECK(std::string(m.metric()) == "auc");
    CHECK(m.run_index() == r);
    CHECK(m.test_score() == s.runs[r].test_acc);
    const Prediction p = m.predict(load_dataset(cfg.dataset));
    CHECK(p.scores.test == s.runs[r].test_acc);
    CHECK(p.scores.val == s.runs[r].val_acc);
    CHECK(p.labels.empty());
    // Embeddings, L2-normalised rows.
    for (Eigen::Index i = 0; i < p.output.rows(); ++i) CHECK(std::abs(p.output.row(i).norm() - 1.0f) < 1e-4f);
  }
  CHECK_FALSE(std::filesystem::exists(tmp.path("pairs.locus")));
}

TEST_CASE("model file: labels are matched by class name; unknown classes are counted and scored nowhere") {
  TempDir tmp;
  const ExperimentConfig cfg = config({"dataset.name=sbm", "num_runs=1", "save_model=" + tmp.path("m.locus")});
  const TrainSummary s = run_experiment(cfg);
  const Model m = Model::load(tmp.path("m.locus"));
  REQUIRE(m.classes() == std::vector<std::string>{"0", "1", "2", "3", "4"});
  const Dataset ds = load_dataset(cfg.dataset);
  const Prediction base = m.predict(ds);

  // The same dataset with its classes named in reverse order (label c now reads "4 − c").
  Dataset renamed = ds;
  renamed.label_names = {"4", "3", "2", "1", "0"};
  for (auto& l : renamed.labels) l = 4 - l;
  const Prediction p = m.predict(renamed);
  CHECK(p.labels == base.labels);
  CHECK(p.scores.test == base.scores.test);
  CHECK(p.scores.test == s.runs[0].test_acc);
  CHECK(same_bits(p.output, base.output));
  CHECK_FALSE(p.same_data);  // the labels differ as stored

  // Class "4" unknown to the model: its nodes leave every split, the rest still score.
  Dataset other = ds;
  other.label_names = {"0", "1", "2", "3", "x"};
  int64_t xs = 0, test_known = 0, correct = 0;
  for (int32_t l : ds.labels) xs += l == 4;
  const Prediction q = m.predict(other);
  CHECK(q.unknown_labels == xs);
  for (int32_t v : ds.test) {
    if (ds.labels[v] == 4) {
      CHECK(q.labels[v] == -1);
      continue;
    }
    ++test_known;
    Eigen::Index arg;
    q.output.row(v).maxCoeff(&arg);
    correct += arg == ds.labels[v];
  }
  CHECK(q.scores.test == doctest::Approx(double(correct) / double(test_known)));
}

TEST_CASE("model file: damaged, foreign and newer files are refused; input that does not fit the model is named") {
  TempDir tmp;
  const std::string path = tmp.path("m.locus");
  run_experiment(config({"dataset.name=sbm", "num_runs=1", "save_model=" + path}));
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(bytes.size() > 100);
  auto with = [&](const std::string& name, const std::string& content) {
    std::ofstream(tmp.path(name), std::ios::binary) << content;
    return tmp.path(name);
  };
  const std::string truncated = with("truncated.locus", bytes.substr(0, bytes.size() / 2));
  std::string flipped_bytes = bytes;
  flipped_bytes[bytes.size() / 2] ^= 0x5A;
  const std::string flipped = with("flipped.locus", flipped_bytes);
  const std::string foreign = with("foreign.locus", "name: cora\nedges: edges.tsv\n");
  std::string newer_bytes = bytes;
  newer_bytes[8] = 9;  // the u32 version after the 8-byte magic
  const std::string newer = with("newer.locus", newer_bytes);

  CHECK(input_error_of([&] { Model::load(truncated); }).find("model file is truncated or corrupt") != std::string::npos);
  CHECK(input_error_of([&] { Model::load(flipped); }).find("model file is truncated or corrupt") != std::string::npos);
  CHECK(input_error_of([&] { Model::load(foreign); }).find("not a Locus model file") != std::string::npos);
  CHECK(input_error_of([&] { Model::load(newer); }).find("model file format version 9") != std::string::npos);
  CHECK(input_error_of([&] { Model::load(tmp.path("missing.locus")); }).find("cannot read the model file") != std::string::npos);

  // sbm has no features: its model reads one-hot ids of its own 1000 nodes, not karate's 34.
  const Model m = Model::load(path);
  DatasetOptions karate;
  karate.name = "karate";
  std::string e = input_error_of([&] { m.predict(load_dataset(karate)); });
  CHECK(e.find("the dataset has no features (one-hot node ids, 34 columns), but the model reads one-hot node ids of "
               "1000 nodes") != std::string::npos);
  CHECK(e.find("a model trained without features labels only the graph it was trained on") != std::string::npos);
  // A model reading one feature column (communities' constant feature) against one-hot ids.
  run_experiment(config({"dataset.name=communities", "num_runs=1", "optim.max_epoch=2", "save_model=" + tmp.path("c.locus")}));
  e = input_error_of([&] { Model::load(tmp.path("c.locus")).predict(load_dataset(karate)); });
  CHECK(e.find("but the model reads 1 feature columns") != std::string::npos);
  CHECK(e.find("give nodes the training dataset's feature columns, in its order") != std::string::npos);
}

TEST_CASE("model file: given evaluation anchor sets replace the drawn ones; sets outside the graph are refused") {
  ExperimentConfig cfg = config({"dataset.name=karate", "gnn.layer_type=gcn", "gnn.position=gir"});
  const Problem problem = make_problem(load_dataset(cfg.dataset), cfg.dataset);
  const Trainer drawn(problem, cfg.gnn, cfg.train, 7);
  const int64_t n = problem.data.num_nodes;  // as many single-node anchors as drawn (all 34)
  auto other = std::make_shared<const pe::AnchorSets>(pe::sample_anchor_nodes(n, 12345, pe::anchor_node_count(n)));
  REQUIRE(other->nodes != drawn.branch_eval_sets()->nodes);
  cfg.gnn.branch_eval_sets = other;
  Trainer given(problem, cfg.gnn, cfg.train, 7);
  CHECK(given.branch_eval_sets() == other);
  CHECK(given.num_params() == drawn.num_params());  // the same seed: the same initial parameters
  Trainer same(problem, cfg.gnn, cfg.train, 7);
  CHECK(!same_bits(given.probabilities(), drawn.probabilities()));  // the branch reads the given sets
  CHECK(same_bits(given.probabilities(), same.probabilities()));
  pe::AnchorSets bad = *other;
  bad.nodes.back() = static_cast<int32_t>(problem.data.num_nodes);
  cfg.gnn.branch_eval_sets = std::make_shared<const pe::AnchorSets>(bad);
  CHECK(input_error_of([&] { Trainer(problem, cfg.gnn, cfg.train, 7); }).find("outside this graph's 34 nodes") !=
        std::string::npos);
}

TEST_CASE("model file: graph classifiers and regressors predict per graph what training reported") {
  TempDir tmp;
  write_dataset(locus::testing::edge_count_graphs(60, 3), tmp.path("counts"));
  struct Case {
    std::vector<std::string> lines;
    Task task;
  };
  const std::vector<Case> cases{
      {{"dataset.name=csl", "gnn.layer_type=gin", "posenc_RWSE.enable=true", "train.batch_size=30"}, Task::GraphClassification},
      {{"dataset.path=" + tmp.path("counts") + "/dataset.yaml", "gnn.layer_type=gin", "gnn.readout=sum", "train.batch_size=16"},
       Task::GraphRegression},
      // Anchor encodings: each graph's evaluation sets from the run's seed, c = ⌊log₂ 41⌋ = 5 saved.
      {{"dataset.name=csl", "gnn.layer_type=gcn", "posenc_Anchor.enable=true", "posenc_AnchorInd.enable=true",
        "train.batch_size=30"},
       Task::GraphClassification}};
  for (auto c : cases) {
    const std::string path = tmp.path("m.locus");
    c.lines.push_back("save_model=" + path);
    const ExperimentConfig cfg = config(c.lines);
    INFO(task_name(c.task));
    const TrainSummary s = run_experiment(cfg);
    REQUIRE(s.model_file == path);
    size_t b = 0;  // the kept run: the best validation score (regression: the lowest MAE)
    for (size_t r = 0; r < s.runs.size(); ++r)
      if (!s.runs[r].params.empty()) b = r;
    const RunResult& run = s.runs[b];
    const Model m = Model::load(path);
    CHECK(m.task() == c.task);
    CHECK(m.parameters() == run.params);
    CHECK(m.config().gnn.posenc.anchor_sizes == (cfg.gnn.posenc.anchor ? 5 : 0));
    const Dataset ds = load_dataset(cfg.dataset);
    CHECK(m.classes().size() == static_cast<size_t>(c.task == Task::GraphClassification ? ds.num_graph_classes : ds.num_targets));
    CHECK(std::string(m.metric()) == (c.task == Task::GraphClassification ? "acc" : "mae"));
    const Prediction p = m.predict(ds);
    CHECK(p.same_data);
    CHECK(p.output.rows() == ds.num_graphs);
    CHECK(p.scores.test == run.test_acc);  // the same forward pass, the same batches
    CHECK(p.scores.val == run.val_acc);
    const Problem problem = make_problem(load_dataset(cfg.dataset), cfg.dataset);
    Trainer t(problem, cfg.gnn, cfg.train, run.seed);
    t.set_parameters(run.params);
    const Mat direct = c.task == Task::GraphClassification ? t.probabilities() : t.predict();
    CHECK(same_bits(p.output, direct));
    if (c.task == Task::GraphClassification) {
      CHECK(p.labels == ds.graph_labels);  // ids as classes: the same order
      for (Eigen::Index g = 0; g < p.output.rows(); ++g) CHECK(std::abs(p.output.row(g).sum() - 1.0f) < 1e-5f);
    }
    // Node embeddings: the readout's input, one row per node.
    CHECK(m.predict(ds, true).embeddings.rows() == ds.num_nodes);
    // A graph model on one graph, and a node model's file on many graphs, are refused by name.
    const std::string one = input_error_of([&] { (void)m.predict(load_dataset(builtin_options("karate"))); });
    CHECK(one.find("the model predicts per graph (" + std::string(task_name(c.task)) + "), but the dataset is one graph") !=
          std::string::npos);
    std::filesystem::remove(path);
  }
  // Graph classes by name: a dataset whose graphs carry other class ids' names is matched by name.
  Dataset renamed = load_dataset(builtin_options("csl"));
  const TrainSummary s = run_experiment(config({"dataset.name=csl", "gnn.layer_type=gin", "num_runs=1", "optim.max_epoch=1",
                                                "save_model=" + tmp.path("c.locus")}));
  const Model m = Model::load(tmp.path("c.locus"));
  renamed.graph_label_names.clear();
  for (int32_t c = 0; c < renamed.num_graph_classes; ++c) renamed.graph_label_names.push_back(std::to_string(9 - c));
  const Prediction p = m.predict(renamed);
  for (int64_t g = 0; g < renamed.num_graphs; ++g) CHECK(p.labels[g] == 9 - renamed.graph_labels[g]);
  renamed.graph_label_names[0] = "unknown";
  CHECK(m.predict(renamed).unknown_labels == std::count(renamed.graph_labels.begin(), renamed.graph_labels.end(), 0));
}
