// make_problem's inputs: dataset.features chooses the dataset's feature columns, one-hot node ids
// or one constant column (position only), for any dataset; a model file keeps the choice.
#include <doctest/doctest.h>

#include "tests/testing/temp_dir.hpp"
#include "train/config.hpp"
#include "train/experiment.hpp"
#include "train/model.hpp"
#include "train/problem.hpp"

using namespace locus;

namespace {
Problem problem(const std::string& dataset, const std::string& features) {
  DatasetOptions o;
  o.name = dataset;
  o.features = features;
  return make_problem(load_dataset(o), o);
}
// The input as a dense matrix, whichever form the problem keeps.
Mat input(const Problem& p) { return p.x_dense.size() > 0 ? p.x_dense : Mat(*p.x_sparse); }
}  // namespace

TEST_CASE("dataset.features: file, identity and constant inputs") {
  DatasetOptions o;
  o.name = "random";
  const Dataset ds = load_dataset(o);
  REQUIRE(ds.num_features() == 32);
  const int64_t n = ds.num_nodes;

  const Problem file = problem("random", "file");
  CHECK(file.in_dim == 32);
  CHECK_FALSE(file.one_hot);
  CHECK(input(file) == Mat(ds.features));

  const Problem identity = problem("random", "identity");
  CHECK(identity.in_dim == n);
  CHECK(identity.one_hot);
  CHECK(input(identity) == Mat::Identity(n, n));

  const Problem constant = problem("random", "constant");
  CHECK(constant.in_dim == 1);
  CHECK_FALSE(constant.one_hot);
  CHECK(input(constant) == Mat::Ones(n, 1));

  // A dataset without feature columns: file means one-hot ids, as before.
  CHECK(problem("karate", "file").one_hot);
  CHECK(problem("karate", "file").in_dim == 34);
  CHECK(problem("karate", "constant").in_dim == 1);

  ExperimentConfig cfg;
  CHECK_THROWS_WITH_AS(apply_config_line(cfg, "dataset.features=ones"), doctest::Contains("file, identity, constant"),
                       ConfigError);
}

TEST_CASE("dataset.features=constant trains on structure alone, and the model file keeps the choice") {
  locus::testing::TempDir tmp;
  ExperimentConfig cfg;
  for (const char* l : {"dataset.name=random", "dataset.features=constant", "optim.max_epoch=5", "num_runs=1",
                        "num_threads=1"})
    apply_config_line(cfg, l);
  cfg.run.save_model = tmp.path("m.locus");
  const TrainSummary s = run_experiment(cfg);
  CHECK(s.num_features == 1);
  const Model m = Model::load(cfg.run.save_model);
  CHECK(m.config().dataset.features == "constant");
  CHECK(m.in_dim() == 1);
  const Prediction p = m.predict(load_dataset(cfg.dataset));
  CHECK(p.scores.test == s.runs[0].test_acc);
}
