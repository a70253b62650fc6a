#include "datasets/builtin.hpp"

#include <utility>
#include <vector>

#include "core/error.hpp"
#include "datasets/generators.hpp"
#include "datasets/graph_generators.hpp"
#include "datasets/sentence.hpp"

namespace locus {

namespace {

// networkx 2.8.8 karate_club_graph(), node order of PyTorch Geometric; each edge once, src < dst,
// in the order of the shared edges.tsv so both load to the same edge list.
constexpr std::pair<int, int> kKarateEdges[] = {
    {0, 1},   {0, 2},   {0, 3},   {0, 4},   {0, 5},   {0, 6},   {0, 7},   {0, 8},   {0, 10},  {0, 11},
    {0, 12},  {0, 13},  {0, 17},  {0, 19},  {0, 21},  {0, 31},  {1, 2},   {1, 3},   {1, 7},   {1, 13},
    {1, 17},  {1, 19},  {1, 21},  {1, 30},  {2, 3},   {2, 7},   {2, 8},   {2, 9},   {2, 13},  {2, 27},
    {2, 28},  {2, 32},  {3, 7},   {3, 12},  {3, 13},  {4, 6},   {4, 10},  {5, 6},   {5, 10},  {5, 16},
    {6, 16},  {8, 30},  {8, 32},  {8, 33},  {9, 33},  {13, 33}, {14, 32}, {14, 33}, {15, 32}, {15, 33},
    {18, 32}, {18, 33}, {19, 33}, {20, 32}, {20, 33}, {22, 32}, {22, 33}, {23, 25}, {23, 27}, {23, 29},
    {23, 32}, {23, 33}, {24, 25}, {24, 27}, {24, 31}, {25, 31}, {26, 29}, {26, 33}, {27, 33}, {28, 31},
    {28, 33}, {29, 32}, {29, 33}, {30, 32}, {30, 33}, {31, 32}, {31, 33}, {32, 33},
};

// 0 = "Mr. Hi", 1 = "Officer" (networkx `club` attribute).
constexpr int kKarateLabels[34] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0,
                                   0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

Dataset karate() {
  Dataset d;
  d.name = "karate";
  d.source = "built-in:karate";
  d.task = Task::NodeClassification;
  d.directed = false;
  d.num_nodes = 34;
  // Expanded like the YAML loader does for an undirected line "a b": a->b, then b->a.
  for (auto [a, b] : kKarateEdges) {
    d.src.push_back(a), d.dst.push_back(b);
    d.src.push_back(b), d.dst.push_back(a);
  }
  d.num_input_edges = static_cast<int64_t>(std::size(kKarateEdges));
  d.features.resize(d.num_nodes, 0);
  d.labels.assign(std::begin(kKarateLabels), std::end(kKarateLabels));
  d.num_classes = 2;
  d.train = {0, 33};
  for (int32_t v = 1; v < 33; ++v) d.test.push_back(v);
  return d;
}

// A generated built-in: the generator's graph under the built-in's name.
Dataset named(Dataset d, const std::string& name) {
  d.name = name;
  d.source = "built-in:" + name;
  return d;
}

// GIR.md's non-"-T" variants: a single dense feature column of ones (the same input for every
// node, so a model sees only the structure; the -T variants get identity features instead).

}  // namespace

Dataset with_constant_feature(Dataset d) {
  std::vector<Eigen::Triplet<float, int32_t>> ones;
  ones.reserve(static_cast<size_t>(d.num_nodes));
  for (int32_t v = 0; v < d.num_nodes; ++v) ones.emplace_back(v, 0, 1.0f);
  d.features.resize(d.num_nodes, 1);
  d.features.setFromTriplets(ones.begin(), ones.end());
  d.features_dense = true;
  return d;
}

std::vector<std::string> builtin_dataset_names() {
  return {"karate",  "grid",   "grid-T",    "communities", "communities-T", "sbm",    "random",
          "pattern", "cluster", "csl",      "seq_probe",   "seq_order",     "seq_lengthgen"};
}

Dataset builtin_dataset(const std::string& name) {
  if (name == "karate") return karate();
  // 20 x 20, 4 quadrant classes
  if (name == "grid") return with_constant_feature(named(generate_grid(GridParams{}), name));
  if (name == "grid-T") return named(generate_grid(GridParams{}), name);
  // 20 cliques of 20, p = 0.01
  if (name == "communities") return with_constant_feature(named(generate_caveman(CavemanParams{}), name));
  if (name == "communities-T") return named(generate_caveman(CavemanParams{}), name);
  if (name == "sbm") return named(generate_sbm(SbmParams{}), name);  // 5 x 200, p_in 0.05, p_out 0.005
  if (name == "random") return named(generate_random(RandomGraphParams{}), name);  // 2000 nodes, 10000 edges
  // Datasets of many graphs at the benchmarking-GNNs sizes (seed 0; csl: fold 0 of 5 as the test
  // fold; `locus generate` writes other seeds, sizes and folds).
  if (name == "pattern") return named(generate_pattern(PatternParams{}), name);  // 10000 / 2000 / 2000 graphs
  if (name == "cluster") return named(generate_cluster(ClusterParams{}), name);  // 10000 / 1000 / 1000 graphs
  if (name == "csl") return named(generate_csl(CslParams{}), name);              // 150 graphs, 5-fold split
  if (name == "seq_probe") return sentence_probe();
  if (name == "seq_order") return sentence_order();
  if (name == "seq_lengthgen") return sentence_lengthgen();
  const auto names = builtin_dataset_names();
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  const std::string near = nearest(name, names);
  throw_input_error("", 0, "unknown built-in dataset", name,
                    (near.empty() ? "" : "did you mean '" + near + "'? ") + "available: " + list +
                        " (or give the path of a dataset.yaml)");
}

}  // namespace locus
