// The shared karate and Cora datasets load with the counts of their meta.json, and the built-in
// karate equals the shared one. Skipped (with a message) when ../shared is absent.
#include <doctest/doctest.h>

#include <set>
#include <utility>

#include "core/error.hpp"
#include "datasets/builtin.hpp"
#include "datasets/loader.hpp"
#include "tests/testing/paths.hpp"

using namespace locus;

namespace {

// Undirected edge set of an expanded edge list; also checks each a->b has its b->a.
std::set<std::pair<int, int>> undirected_pairs(const Dataset& d) {
  std::set<std::pair<int, int>> directed, pairs;
  for (int64_t e = 0; e < d.num_edges(); ++e) directed.emplace(d.src[e], d.dst[e]);
  for (auto [a, b] : directed) {
    CHECK(directed.count({b, a}) == 1);
    pairs.emplace(std::min(a, b), std::max(a, b));
  }
  return pairs;
}

}  // namespace

TEST_CASE("shared karate loads with the counts of its meta.json") {
  if (!testing::have_shared_dataset("karate")) {
    MESSAGE("skipped: ../shared/datasets/karate absent");
    return;
  }
  Dataset d = load_dataset_yaml(testing::shared_dir() + "/datasets/karate/dataset.yaml");
  CHECK(d.name == "karate");
  CHECK(d.task == Task::NodeClassification);
  CHECK_FALSE(d.directed);
  CHECK(d.num_nodes == 34);
  CHECK(d.num_edges() == 156);
  CHECK(d.num_input_edges == 78);
  CHECK(undirected_pairs(d).size() == 78);
  CHECK(d.num_features() == 0);
  CHECK(d.features.rows() == 34);
  CHECK(d.weight.empty());
  CHECK(d.num_classes == 2);
  CHECK(d.labels.size() == 34);
  CHECK(d.label_names.empty());
  CHECK(d.node_names.empty());
  CHECK(d.train == std::vector<int32_t>{0, 33});
  CHECK(d.val.empty());
  CHECK(d.test.size() == 32);
}

TEST_CASE("shared cora loads with the counts of its meta.json") {
  if (!testing::have_shared_dataset("cora")) {
    MESSAGE("skipped: ../shared/datasets/cora absent");
    return;
  }
  Dataset d = load_dataset_yaml(testing::shared_dir() + "/datasets/cora/dataset.yaml");
  CHECK(d.name == "cora");
  CHECK(d.num_nodes == 2708);
  CHECK(d.num_edges() == 10556);
  CHECK(d.num_input_edges == 5278);
  CHECK(d.num_duplicates_merged == 0);
  CHECK(d.num_self_loops_dropped == 0);
  CHECK(d.num_features() == 1433);
  CHECK(d.features.rows() == 2708);
  CHECK(d.features.nonZeros() == 49216);
  CHECK_FALSE(d.features_dense);
  CHECK(d.num_classes == 7);
  CHECK(d.train.size() == 140);
  CHECK(d.val.size() == 500);
  CHECK(d.test.size() == 1000);
  for (int32_t v : d.labels) CHECK((v >= 0 && v < 7));
  // The Planetoid public split: the first 140 nodes train, 140..639 validate.
  CHECK(d.train.front() == 0);
  CHECK(d.train.back() == 139);
  CHECK(d.val.front() == 140);
}

TEST_CASE("built-in karate equals the shared karate loaded from YAML") {
  Dataset b = builtin_dataset("karate");
  CHECK(b.source == "built-in:karate");
  CHECK(b.num_nodes == 34);
  CHECK(b.num_edges() == 156);
  CHECK(b.num_features() == 0);
  CHECK(b.features.rows() == 34);
  CHECK(b.num_classes == 2);
  CHECK(b.train == std::vector<int32_t>{0, 33});
  CHECK(b.val.empty());
  CHECK(b.test.size() == 32);
  CHECK(undirected_pairs(b).size() == 78);
  if (!testing::have_shared_dataset("karate")) {
    MESSAGE("skipped comparison: ../shared/datasets/karate absent");
    return;
  }
  Dataset y = load_dataset_yaml(testing::shared_dir() + "/datasets/karate/dataset.yaml");
  CHECK(b.name == y.name);
  CHECK(b.directed == y.directed);
  CHECK(b.src == y.src);
  CHECK(b.dst == y.dst);
  CHECK(b.weight == y.weight);
  CHECK(b.labels == y.labels);
  CHECK(b.num_classes == y.num_classes);
  CHECK(b.train == y.train);
  CHECK(b.val == y.val);
  CHECK(b.test == y.test);
  CHECK(b.num_input_edges == y.num_input_edges);
}

TEST_CASE("builtin dataset names and unknown names") {
  auto names = builtin_dataset_names();
  REQUIRE(names.size() >= 1);
  CHECK(names.front() == "karate");
  std::string msg;
  try {
    builtin_dataset("karat");
  } catch (const InputError& e) {
    msg = e.what();
  }
  CHECK(msg.find("unknown built-in dataset 'karat'") != std::string::npos);
  CHECK(msg.find("did you mean 'karate'?") != std::string::npos);
  CHECK(msg.find("available: karate") != std::string::npos);
}

TEST_CASE("task names") {
  CHECK(std::string(task_name(Task::NodeClassification)) == "node_classification");
  CHECK(std::string(task_name(Task::LinkPrediction)) == "link_prediction");
  CHECK(std::string(task_name(Task::PairClassification)) == "pair_classification");
}
