// Graph partitions for training on several MPI ranks: METIS k-way cuts (balanced node counts,
// few cut edges), their statistics (cut, halo sizes, balance), and the partition folder that
// `locus partition` writes and `locus train dataset.partitions=DIR` reads.
// Folder: partition.yaml (metadata and statistics) and parts.txt (the part of node i on line i+1).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/graph.hpp"

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
};

// FNV-1a over the graph's row pointers and sources: a partition is used on the graph it cut.
uint64_t graph_checksum(const Csr& g);

// Writes dir/partition.yaml and dir/parts.txt. dir must be new or empty (InputError otherwise)
// unless overwrite (then it is replaced);
// it appears whole or not at all (staged beside it and renamed).
void write_partition_folder(const PartitionFolder& p, const PartitionStats& stats, bool overwrite = false);
// Reads and checks a partition folder (file, line and fix named on any problem).
PartitionFolder read_partition_folder(const std::string& dir);

}  // namespace locus
