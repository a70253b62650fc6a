// A training problem: a dataset made ready for a model — its topology (an edge-list graph or a
// batch of sentences), the input features (sparse, or dense when dense enough, one-hot identity
// when the dataset has none), labels and split rows, and the task. Under partitioned training it
// holds this rank's share, read from its part file alone.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/graph.hpp"
#include "datasets/dataset.hpp"
#include "datasets/graph_batch.hpp"
#include "layers/linear.hpp"
#include "train/config.hpp"

namespace locus {

namespace dist {
class Comm;
struct LocalLayout;
}  // namespace dist

// The dataset a DatasetOptions names (dataset.path or a built-in dataset.name), with its task
// overridden by options.task, checked for what the task needs (labels and training nodes for node
// classification; graph labels or targets and training graphs for graph tasks; an edge list for
// pair tasks). InputError naming the dataset otherwise.
Dataset load_dataset(const DatasetOptions& options);

// This rank's share of a partitioned training (dataset.partitions): its layout, where its rows
// sit in the whole input (dropout masks), and the whole graph's and split's sizes.
struct RankShare {
  dist::Comm* comm = nullptr;
  std::shared_ptr<const dist::LocalLayout> layout;
  std::shared_ptr<DropoutRows> rows;
  int64_t cut_edges = 0, halo_rows = 0;  // over all ranks
};

struct Problem {
  // Labels, split rows, task, names (node_names, label_names) and, for pair tasks and datasets of
  // many graphs, the edge list (each run splits it / batches are cut from it). The features and
  // (node tasks on one graph) the edge list are moved out.
  Dataset data;
  Csr graph;        // node tasks on a graph (a rank: its part, local numbering); empty otherwise
  // Datasets of many graphs, and sentences (each a complete graph): each graph's nodes and edges;
  // training runs on batches of graphs.
  std::shared_ptr<const GraphIndex> graph_index;
  // The graphs training batches are drawn from: the split's training graphs, or the sentences that
  // hold a training node.
  std::vector<int32_t> train_graphs;
  std::shared_ptr<const SpMat> x_sparse;  // the input features [N, in_dim], or
  Mat x_dense;                            // densified from 25% non-zeros on
  int64_t in_dim = 0;
  int64_t num_edges = 0;     // as reported: stored edges, dense slots for sentences, the whole graph's for a rank
  int64_t feature_nnz = 0;   // of the input features
  bool one_hot = false;      // the dataset had no features: one-hot identity features
  int64_t num_train = 0, num_val = 0, num_test = 0;  // the whole split's sizes (graph tasks: graphs)
  std::shared_ptr<const RankShare> share;           // partitioned training; null on one process
  // dataset.reorder: order[r] = the dataset's id of row r (empty: rows are the dataset's ids).
  // data (labels, split ids), the features and the graph are then in row order; Trainer's
  // outputs come back in the dataset's ids. order_rows: each row's place in the dataset's
  // order, so dropout draws the masks of the unordered run.
  std::vector<int32_t> order;
  std::shared_ptr<const DropoutRows> order_rows;

  bool pair_task() const { return is_pair_task(data.task); }
  bool graph_task() const { return data.is_graph_task(); }
  bool batched() const { return graph_index != nullptr; }
  bool has_val() const { return pair_task() || num_val > 0; }
  // Graph tasks: the readout's outputs per graph (classes, or regression targets).
  int64_t graph_outputs() const { return data.task == Task::GraphRegression ? data.num_targets : data.num_graph_classes; }
  // The input features as a layer input on `t` (a view of the dense matrix, or the sparse one).
  Features<float> input(Tape<float>& t) const;
};

// The features the model reads: the dataset's (row-normalised with feature_norm "row"), or
// one-hot identity features when it has none; sparse or dense by density (decided from the whole
// matrix on every rank alike). With options.reorder, a node-classification graph is renumbered
// (Problem::order); InputError for another task or many graphs.
Problem make_problem(Dataset ds, const DatasetOptions& options);
// Partitioned training: this rank's part file of options.partitions (one rank per part; the
// folder's dataset must be options' dataset). InputError naming the folder or file otherwise.
Problem make_rank_problem(const DatasetOptions& options, dist::Comm& comm);

}  // namespace locus
