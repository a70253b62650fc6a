#include "train/problem.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "core/dist/comm.hpp"
#include "core/dist/halo.hpp"
#include "core/error.hpp"
#include "datasets/builtin.hpp"
#include "datasets/loader.hpp"
#include "datasets/partition.hpp"
#include "datasets/reorder.hpp"

namespace locus {
namespace {

// dataset.features=file on a dataset that has feature columns.
bool uses_file_features(const Dataset& ds, const DatasetOptions& options) {
  return options.features == "file" && ds.num_features() > 0;
}

// Features for the model (DatasetOptions::features): the dataset's (row-normalised when asked),
// one-hot identity features (when asked, or when the dataset has none), or a constant column. A
// rank holds only its owned rows (`owned`: their global ids, for the identity features). Takes
// ds.features (training reads only the result).
std::shared_ptr<const SpMat> model_features(Dataset& ds, const DatasetOptions& options,
                                            const std::vector<int32_t>* owned = nullptr) {
  const std::string& norm = options.feature_norm;
  SpMat x;
  // Many graphs without feature columns: a node id means nothing in another graph, so the constant
  // column instead of identity features.
  const bool many_graphs = ds.has_graphs() && !uses_file_features(ds, options);
  if (many_graphs && options.features == "identity")
    throw_input_error(ds.source, 0, "dataset.features=identity names nodes, which means nothing across many graphs:",
                      ds.name, "use dataset.features=constant (the default for a dataset of many graphs without features) or file");
  if (options.features == "constant" || many_graphs) {
    const int64_t rows = owned ? static_cast<int64_t>(owned->size()) : ds.num_nodes;
    x.resize(rows, 1);
    x.reserve(Eigen::VectorXi::Constant(rows, 1));
    for (int64_t i = 0; i < rows; ++i) x.insert(i, 0) = 1.0f;
  } else if (!uses_file_features(ds, options) && owned) {
    x.resize(static_cast<Eigen::Index>(owned->size()), ds.num_nodes);
    std::vector<Eigen::Triplet<float>> t;
    for (size_t i = 0; i < owned->size(); ++i) t.emplace_back(static_cast<Eigen::Index>(i), (*owned)[i], 1.0f);
    x.setFromTriplets(t.begin(), t.end());
  } else if (!uses_file_features(ds, options)) {
    x.resize(ds.num_nodes, ds.num_nodes);
    x.setIdentity();
  } else {
    x.swap(ds.features);  // O(1); SpMat has no move in Eigen 3.4
  }
  x.makeCompressed();
  if (norm == "row") {
    // x_i ← x_i / Σ_j x_ij (rows summing to 0 are left as they are), as PyG's NormalizeFeatures.
    for (int64_t i = 0; i < x.outerSize(); ++i) {
      double s = 0;
      for (SpMat::InnerIterator it(x, i); it; ++it) s += it.value();
      if (s != 0)
        for (SpMat::InnerIterator it(x, i); it; ++it) it.valueRef() = static_cast<float>(it.value() / s);
    }
  }
  return std::make_shared<const SpMat>(std::move(x));
}

// dataset.reorder on a dataset it cannot renumber: an InputError naming the key.
void check_reorder(const Dataset& ds, const DatasetOptions& options, const std::string& what) {
  if (options.reorder == "none") return;
  throw_input_error(ds.source, 0, "dataset.reorder renumbers one graph for node classification, not " + what + ":",
                    options.reorder, "leave dataset.reorder at none for this dataset");
}

// dataset.reorder: renumbers ds by the order the key names (Problem::order).
void reorder_nodes(Problem& p, Dataset& ds, const DatasetOptions& options) {
  if (options.reorder == "none") return;
  if (ds.task != Task::NodeClassification) check_reorder(ds, options, std::string("a ") + task_name(ds.task) + " task");
  p.order = node_order(Csr::from_edges(ds.num_nodes, ds.src, ds.dst), parse_reorder(options.reorder));
  renumber_nodes(ds, p.order);
}

// With an order: row r's dropout masks are those of the dataset's row order[r], whose stored
// values start where the rows before it in the dataset's order end.
std::shared_ptr<const DropoutRows> order_rows(const std::vector<int32_t>& order, const SpMat& x) {
  auto rows = std::make_shared<DropoutRows>();
  rows->row.assign(order.begin(), order.end());
  std::vector<int64_t> start(order.size() + 1, 0);  // by dataset id, then prefix sums
  for (size_t r = 0; r < order.size(); ++r)
    start[static_cast<size_t>(order[r]) + 1] = x.outerIndexPtr()[r + 1] - x.outerIndexPtr()[r];
  for (size_t v = 0; v < order.size(); ++v) start[v + 1] += start[v];
  rows->nnz_start.resize(order.size());
  for (size_t r = 0; r < order.size(); ++r) rows->nnz_start[r] = start[static_cast<size_t>(order[r])];
  return rows;
}

// The features, sparse or dense, and the sizes every problem reports; frees what training does
// not read (the raw features, and the edge list of node tasks).
void finish(Problem& p, const DatasetOptions& options, dist::Comm* comm) {
  Dataset& ds = p.data;
  p.one_hot = options.features != "constant" && !uses_file_features(ds, options) && !ds.has_graphs();
  // A renumbered graph's one-hot ids stay the dataset's (row r is node order[r]), as a rank's.
  auto x = model_features(ds, options, p.share ? &p.share->layout->owned : p.order.empty() ? nullptr : &p.order);
  if (!p.order.empty()) p.order_rows = order_rows(p.order, *x);
  p.feature_nnz = x->nonZeros();
  p.in_dim = x->cols();
  // Mostly-zero features (bags of words) stay sparse; dense ones (embeddings, generated
  // features) are multiplied as a dense matrix, which is faster from ~25% non-zeros on.
  // (A rank decides as one process would, from the whole matrix.)
  const double nnz = static_cast<double>(comm ? comm->sum(static_cast<int64_t>(x->nonZeros())) : x->nonZeros());
  const double density = nnz / std::max<double>(1.0, double(ds.num_nodes) * double(x->cols()));
  if (density >= 0.25) p.x_dense = Mat(*x);
  else p.x_sparse = std::move(x);
  if (!p.pair_task() && !p.batched()) {  // pair tasks split the edges per run; batches are cut from them
    ds.src = {};
    ds.dst = {};
    ds.weight = {};
  }
  ds.features = SpMat();
}

}  // namespace

Dataset load_dataset(const DatasetOptions& o) {
  Dataset ds = o.path.empty() ? builtin_dataset(o.name) : load_dataset_yaml(o.path);
  const std::string where = ds.source;
  if (o.task != "auto")
    ds.task = o.task == "link_prediction"       ? Task::LinkPrediction
              : o.task == "pair_classification" ? Task::PairClassification
                                                : Task::NodeClassification;
  if (ds.is_graph_task()) {
    if (ds.task == Task::GraphClassification && (ds.graph_labels.empty() || ds.num_graph_classes < 1))
      throw_input_error(where, 0, "the dataset has no graph labels:", ds.name, "add graphs.labels (lines 'graph label')");
    if (ds.task == Task::GraphRegression &&
        (ds.num_targets < 1 || static_cast<int64_t>(ds.graph_targets.size()) != ds.num_graphs * ds.num_targets))
      throw_input_error(where, 0, "the dataset has no graph targets:", ds.name,
                        "add graphs.targets (lines 'graph v1 ... vt'), or DS_graph_attributes.txt in a TU folder");
    if (ds.train_graphs.empty())
      throw_input_error(where, 0, "the split has no training graphs:", ds.name,
                        "give split: train/val/test files of graph ids, split.random or split.folds");
    return ds;
  }
  if (ds.task != Task::NodeClassification) {
    if (ds.is_sentences())
      throw_input_error(where, 0, "pair tasks need an edge-list graph, not sentences:", ds.name,
                        "use a graph dataset or dataset.task=node_classification");
    return ds;  // the pair split checks edges and labels itself
  }
  if (ds.labels.empty() || ds.num_classes < 1)
    throw_input_error(where, 0, "the dataset has no labels:", ds.name, "Add a labels file or a node table");
  if (ds.train.empty()) throw_input_error(where, 0, "the split has no training nodes:", ds.name, "Give split.train ids");
  return ds;
}

Features<float> Problem::input(Tape<float>& t) const {
  return x_dense.size() > 0 ? Features<float>{t.view(x_dense), nullptr} : Features<float>{Var{}, x_sparse};
}

Problem make_problem(Dataset ds, const DatasetOptions& options) {
  Problem p;
  if (ds.has_graphs()) {
    check_reorder(ds, options, "a dataset of many graphs");
    // Mini-batches of graphs are cut from the edge list per step; no whole-dataset graph.
    p.graph_index = std::make_shared<const GraphIndex>(index_graphs(ds));
    p.num_edges = ds.num_edges();
    p.train_graphs = ds.train_graphs;
  } else if (ds.is_sentences()) {
    check_reorder(ds, options, "sentences");
    // Each sentence a graph: batches are Dense blocks of sentences, the same mechanism.
    p.graph_index = std::make_shared<const GraphIndex>(index_graphs(ds));
    p.num_edges = Dense::blocks(ds.blocks).num_edge_slots();
    std::vector<char> holds(ds.blocks.size(), 0);
    for (const int32_t v : ds.train) {
      if (v < 0 || v >= ds.num_nodes)
        throw_input_error(ds.source, 0, "a training node is outside the sentences' " + std::to_string(ds.num_nodes) + " tokens:",
                          std::to_string(v), "list token ids in [0, " + std::to_string(ds.num_nodes) + ")");
      const auto& ptr = p.graph_index->node_ptr;
      holds[static_cast<size_t>(std::upper_bound(ptr.begin(), ptr.end(), int64_t{v}) - ptr.begin() - 1)] = 1;
    }
    for (size_t s = 0; s < holds.size(); ++s)
      if (holds[s]) p.train_graphs.push_back(static_cast<int32_t>(s));
  } else {
    reorder_nodes(p, ds, options);
    p.graph = Csr::from_edges(ds.num_nodes, ds.src, ds.dst, ds.weight);
    p.num_edges = ds.num_edges();
  }
  const bool graphs = ds.is_graph_task();
  p.num_train = static_cast<int64_t>(graphs ? ds.train_graphs.size() : ds.train.size());
  p.num_val = static_cast<int64_t>(graphs ? ds.val_graphs.size() : ds.val.size());
  p.num_test = static_cast<int64_t>(graphs ? ds.test_graphs.size() : ds.test.size());
  p.data = std::move(ds);
  finish(p, options, nullptr);
  return p;
}

Problem make_rank_problem(const DatasetOptions& options, dist::Comm& comm) {
  namespace fs = std::filesystem;
  if (options.reorder != "none")
    throw_input_error(options.partitions, 0, "dataset.reorder does not apply to partitioned training (the parts are "
                      "already cut for locality):", options.reorder, "leave dataset.reorder at none with dataset.partitions");
  const int rank = comm.rank(), size = comm.size();
  const PartitionFolder meta = read_partition_meta(options.partitions);
  const std::string yaml = (fs::path(options.partitions) / "partition.yaml").string();
  if (meta.num_parts != size)
    throw_input_error(yaml, 0, fmt::format("the partition has {} parts, but the number of MPI ranks is", meta.num_parts),
                      std::to_string(size),
                      fmt::format("launch with mpirun -np {} (or partition again with --parts {})", meta.num_parts, size));
  // The config's dataset must be the one that was cut (its path as written by locus partition).
  const std::string want = options.path.empty() ? options.name : options.path;
  std::error_code ec;
  const bool same = meta.dataset == want || (!options.path.empty() && fs::equivalent(meta.dataset, want, ec));
  if (!same)
    throw_input_error(yaml, 0, "the partition was cut from another dataset (" + meta.dataset + "), the config trains",
                      want, "partition this dataset: locus partition " + want + " --parts " + std::to_string(size));
  const std::string file = part_file(options.partitions, rank);
  if (!meta.part_files)
    throw_input_error(yaml, 0, "the partition holds no training data (part_files: false; the dataset has no node "
                               "labels or is a pair task):", meta.dataset,
                      "partitioned training is for node classification; train pair tasks on one process");
  if (!fs::exists(file, ec))
    throw_input_error(file, 0, "the partition folder has no part file for rank " + std::to_string(rank) + ":", file,
                      "rewrite the partition folder with locus partition DATASET --parts " + std::to_string(size));
  PartData pd = read_part(file);
  if (pd.rank != rank || pd.num_parts != size || pd.num_nodes != meta.num_nodes ||
      pd.graph_checksum != meta.graph_checksum)
    throw_input_error(file, 0, "this part file does not belong to partition.yaml beside it:", file,
                      "rewrite the partition folder with locus partition");
  if (pd.num_train == 0) throw_input_error(yaml, 0, "the split has no training nodes:", pd.name, "Give split.train ids");
  auto share = std::make_shared<RankShare>();
  share->comm = &comm;
  share->rows = std::make_shared<DropoutRows>();
  share->rows->row.assign(pd.layout.owned.begin(), pd.layout.owned.end());
  share->rows->nnz_start = std::move(pd.feature_nnz_start);
  share->layout = std::make_shared<const dist::LocalLayout>(std::move(pd.layout));

  Problem p;
  p.graph = std::move(pd.graph);
  Dataset& d = p.data;
  d.name = pd.name;
  d.source = file;
  d.task = Task::NodeClassification;
  d.num_nodes = pd.num_nodes;
  d.features = std::move(pd.features);
  d.labels = std::move(pd.labels);
  d.num_classes = pd.num_classes;
  d.train = std::move(pd.train);
  d.val = std::move(pd.val);
  d.test = std::move(pd.test);
  p.num_edges = pd.num_edges;
  p.num_train = pd.num_train;
  p.num_val = pd.num_val;
  p.num_test = pd.num_test;
  // Edges into owned rows from the halo are this rank's share of the cut.
  int64_t cut = 0;
  for (int32_t src : p.graph.indices) cut += src >= share->layout->num_own();
  share->cut_edges = comm.sum(cut);
  share->halo_rows = comm.sum(share->layout->num_halo());
  p.share = std::move(share);
  finish(p, options, &comm);
  return p;
}

}  // namespace locus
