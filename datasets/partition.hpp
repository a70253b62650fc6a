// Graph partitions for MPI training: METIS k-way cuts, their statistics (cut, halo sizes,
// balance), and the folder `locus partition` writes and `locus train dataset.partitions=DIR`
// reads: partition.yaml (metadata, statistics), parts.txt (node i's part on line i+1) and
// part-K.bin per part, all that rank K reads (layout, edges, features, labels, split).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dist/halo.hpp"
#include "core/graph.hpp"
#include "datasets/dataset.hpp"

namespace locus {

// part[v] in [0, num_parts) for every node of g (destination-major, any direction): METIS
// k-way on the symmetrised graph without self loops or repeated edges, unit weights, `seed`
// fixing METIS's randomness. num_parts == 1 puts every node in part 0.
std::vector<int32_t> metis_partition(const Csr& g, int num_parts, uint64_t seed = 1);

struct PartitionStats {
  int num_parts = 1;
  int64_t num_nodes = 0;
  int64_t num_edges = 0;  // directed edges of g
  int64_t cut_edges = 0;  // directed edges whose ends lie in different parts
  double balance = 1;     // largest part's nodes / mean nodes per part
  struct Part {
    int64_t nodes = 0, edges = 0;  // owned nodes and their in-edges
    int64_t halo = 0;              // remote sources of the owned nodes' in-edges
    int64_t send_rows = 0;         // owned rows other parts hold in their halo (counted per part)
    int peers = 0;                 // parts it exchanges rows with
  };
  std::vector<Part> parts;
};

PartitionStats partition_stats(const Csr& g, const std::vector<int32_t>& part, int num_parts);
// A few lines for a terminal: totals, then one line per part.
std::string format_partition_stats(const PartitionStats& s);

struct PartitionFolder {
  std::string dir;
  std::string dataset;           // what was partitioned (a dataset.yaml path or a built-in name)
  int num_parts = 1;
  int64_t num_nodes = 0, num_edges = 0;
  uint64_t graph_checksum = 0;   // graph_checksum() of the partitioned graph
  std::vector<int32_t> part;     // [num_nodes]
  std::string parts_file;        // where `part` was read from
  bool part_files = true;        // part-K.bin were written (node classification only)
};

// FNV-1a over the graph's row pointers and sources: a partition is used on the graph it cut.
uint64_t graph_checksum(const Csr& g);

// What rank K trains on, so it reads neither the dataset nor the other parts: its layout, the
// in-edges of its owned nodes (sources in local numbering, weights kept), and its owned nodes'
// raw features, labels and split rows.
struct PartData {
  std::string dataset, name;  // PartitionFolder::dataset; the dataset's name
  int rank = 0, num_parts = 1;
  int64_t num_nodes = 0, num_edges = 0;       // the whole graph's
  int64_t num_train = 0, num_val = 0, num_test = 0;  // the whole split's sizes
  int32_t num_classes = 0;
  uint64_t graph_checksum = 0;
  dist::LocalLayout layout;
  Csr graph;                     // [num_own rows, num_own + num_halo sources], no link
  SpMat features;                // [num_own, features of the dataset] (0 columns: none)
  // Where each owned row's first stored feature value sits in the whole (compressed) feature
  // matrix; the node's own id when the dataset has no features (one-hot identity). For dropout
  // masks equal to one process's.
  std::vector<int64_t> feature_nnz_start;
  std::vector<int32_t> labels;   // [num_own], -1 unlabelled
  std::vector<int32_t> train, val, test;  // owned rows, in the dataset's split order
};

// Part `rank` of a node-classification dataset `ds` whose graph is `graph` (as locus train
// builds it from ds) cut by `part`.
PartData make_part(const Dataset& ds, const Csr& graph, const std::vector<int32_t>& part, int rank, int num_parts,
                   const std::string& dataset);
std::string part_file(const std::string& dir, int rank);  // dir/part-RANK.bin
void write_part(const std::string& path, const PartData& p);
PartData read_part(const std::string& path);

// Writes dir/partition.yaml, dir/parts.txt and, when ds is given (node classification on an
// edge list), dir/part-K.bin for every part from ds and its graph. dir must be new or empty
// (InputError otherwise) unless overwrite (then it is replaced); it appears whole or not at all
// (staged beside it and renamed).
void write_partition_folder(const PartitionFolder& p, const PartitionStats& stats, const Dataset* ds = nullptr,
                            const Csr* graph = nullptr, bool overwrite = false);
// Reads and checks partition.yaml (part stays empty).
PartitionFolder read_partition_meta(const std::string& dir);
// read_partition_meta and parts.txt (file, line and fix named on any problem).
PartitionFolder read_partition_folder(const std::string& dir);

}  // namespace locus
