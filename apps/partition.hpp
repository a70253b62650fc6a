// `locus partition DATASET --parts P [--out DIR] [--seed S] [--force] [--dry-run]`: cuts a dataset's graph
// with METIS for `mpirun -np P locus train CONFIG dataset.partitions=DIR`, prints the cut, halo
// sizes and balance, and writes the partition folder (datasets/partition.hpp).
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace locus {

struct PartitionOptions {
  std::string dataset;  // a dataset.yaml (or its folder), or a built-in name
  int parts = 2;
  std::string out;      // default: NAME.partP in the current folder
  uint64_t seed = 1;    // METIS's random seed
  bool force = false;
  bool dry_run = false;  // print the statistics only; write nothing
};

// Loads, partitions, prints statistics and the folder written to `out`. InputError on bad input.
void run_partition(const PartitionOptions& opt, std::ostream& out);

// Registers the `partition` subcommand; it runs as its callback and reports its own errors.
void add_partition_command(CLI::App& app);

}  // namespace locus
