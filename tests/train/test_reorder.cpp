// dataset.reorder is transparent: training on a renumbered graph gives the unordered run's
// predictions (in the dataset's ids) and scores up to summation order, dropout included (masks
// follow the dataset's rows), for sparse, dense and one-hot inputs; a saved model predicts the same;
// datasets it cannot renumber are refused by name.
#include <doctest/doctest.h>

#include "core/error.hpp"
#include "datasets/generators.hpp"
#include "tests/testing/errors.hpp"
#include "tests/testing/temp_dir.hpp"
#include "train/experiment.hpp"
#include "train/model.hpp"
#include "train/problem.hpp"
#include "train/trainer.hpp"

using namespace locus;

namespace {

Dataset bag_graph(bool features) {
  RandomGraphParams p;
  p.nodes = 400, p.edges = 1600, p.classes = 4, p.seed = 2;
  p.features = features ? 60 : 0;
  p.feature_nnz = features ? 8 : 0;
  return generate_rmat(p);
}

// Runs `epochs` epochs; returns the trainer's predictions (dataset order) and history.
struct Outcome {
  Mat logp, emb;
  std::vector<EpochMetrics> history;
};
Outcome train(const Dataset& ds, const std::string& order, const std::string& features, const GnnSpec& spec) {
  DatasetOptions o;
  o.reorder = order;
  o.features = features;
  o.feature_norm = "row";
  const Problem p = make_problem(ds, o);
  if (order != "none") CHECK(p.order.size() == static_cast<size_t>(ds.num_nodes));
  TrainOptions opt;
  opt.max_epoch = 15;
  Trainer t(p, spec, opt, 5);
  t.fit();
  return {t.predict(), t.embeddings(), t.result().history};
}

}  // namespace

TEST_CASE("dataset.reorder: rcm, degree and metis train the unordered run, outputs in the dataset's ids") {
  const Dataset sparse = bag_graph(true), none = bag_graph(false);
  RandomGraphParams dp;
  dp.nodes = 300, dp.edges = 1200, dp.features = 16, dp.seed = 3;
  const Dataset dense = generate_random(dp);  // dense features: the dense input path
  struct Case {
    const Dataset* ds;
    const char* features;
    const char* layer;
  };
  for (const Case c : {Case{&sparse, "file", "gcn"}, Case{&sparse, "file", "sage"}, Case{&dense, "file", "gin"},
                       Case{&none, "file", "gcn"}, Case{&sparse, "constant", "gat"}}) {
    GnnSpec spec;
    spec.layer_type = c.layer;
    spec.dropout = 0.5;
    spec.att_dropout = 0;  // GAT's attention dropout is drawn per edge, in the order training stores them
    const Outcome base = train(*c.ds, "none", c.features, spec);
    for (const char* order : {"rcm", "degree", "metis"}) {
      CAPTURE(c.layer);
      CAPTURE(c.features);
      CAPTURE(order);
      const Outcome r = train(*c.ds, order, c.features, spec);
      REQUIRE(r.logp.rows() == base.logp.rows());
      CHECK((r.logp - base.logp).cwiseAbs().maxCoeff() < 2e-4);
      CHECK((r.emb - base.emb).cwiseAbs().maxCoeff() < 2e-4);
      REQUIRE(r.history.size() == base.history.size());
      for (size_t e = 0; e < r.history.size(); ++e) {
        CHECK(r.history[e].loss == doctest::Approx(base.history[e].loss).epsilon(1e-4));
        CHECK(r.history[e].test_acc == base.history[e].test_acc);
      }
    }
  }
}

TEST_CASE("dataset.reorder: a saved model predicts its run's scores and labels nodes in the dataset's ids") {
  locus::testing::TempDir tmp;
  ExperimentConfig cfg;
  for (const char* l : {"dataset.name=random", "dataset.reorder=rcm", "optim.max_epoch=8", "num_runs=1", "num_threads=1"})
    apply_config_line(cfg, l);
  cfg.run.save_model = tmp.path("m.locus");
  const TrainSummary s = run_experiment(cfg);
  const Model m = Model::load(cfg.run.save_model);
  CHECK(m.config().dataset.reorder == "rcm");
  const Prediction p = m.predict(load_dataset(cfg.dataset));
  CHECK(p.scores.test == s.runs[0].test_acc);
  CHECK(p.same_data);
  // The same model file run without reordering labels every node alike.
  ExperimentConfig plain = m.config();
  plain.dataset.reorder = "none";
  DatasetOptions o = plain.dataset;
  const Problem unordered = make_problem(load_dataset(o), o);
  TrainOptions opt;
  Trainer t(unordered, plain.gnn, opt, m.seed());
  t.set_parameters(m.parameters());
  CHECK((t.probabilities() - p.output).cwiseAbs().maxCoeff() < 1e-5);
}

TEST_CASE("dataset.reorder: refused for many graphs, sentences, pair tasks and partitions, by name") {
  DatasetOptions o;
  o.reorder = "rcm";
  for (const char* name : {"csl", "seq_probe"}) {
    o.name = name;
    CAPTURE(name);
    const std::string msg = locus::testing::input_error_of([&] { make_problem(load_dataset(o), o); });
    CHECK(msg.find("dataset.reorder renumbers one graph") != std::string::npos);
    CHECK(msg.find("rcm") != std::string::npos);
  }
  o.name = "karate";
  o.task = "link_prediction";
  CHECK(locus::testing::input_error_of([&] { make_problem(load_dataset(o), o); }).find("link_prediction") !=
        std::string::npos);
  ExperimentConfig cfg;
  CHECK_THROWS_AS(apply_config_line(cfg, "dataset.reorder=bfs"), ConfigError);
}
