#include "apps/partition.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "apps/command_errors.hpp"
#include "apps/dataset_arg.hpp"
#include "core/error.hpp"
#include "datasets/builtin.hpp"
#include "datasets/loader.hpp"
#include "datasets/partition.hpp"
#include "datasets/writer.hpp"

namespace locus {

void run_partition(const PartitionOptions& opt, std::ostream& out) {
  namespace fs = std::filesystem;
  using Clock = std::chrono::steady_clock;
  if (opt.parts < 1) throw_input_error("", 0, "partition: --parts must be at least 1, got", std::to_string(opt.parts), "give e.g. --parts 2");
  const DatasetArg arg = resolve_dataset_arg(opt.dataset, "partition");
  const std::string& dataset = arg.path;
  const auto t0 = Clock::now();
  const Dataset ds = load_dataset_arg(arg);
  if (ds.is_sentences())
    throw_input_error(dataset, 0, "partition: sentence datasets have no edge list to cut:", ds.name,
                      "partition a graph dataset");
  if (opt.parts > ds.num_nodes)
    throw_input_error("", 0, fmt::format("partition: {} has {} nodes, too few for --parts", ds.name, ds.num_nodes),
                      std::to_string(opt.parts), fmt::format("use at most {} parts", ds.num_nodes));
  const std::string dir = !opt.out.empty() ? opt.out : fmt::format("{}.part{}", ds.name, opt.parts);
  if (!opt.dry_run) check_output_dir(dir, opt.force);  // before the work
  // The same graph `locus train` builds (its checksum ties the folder to the dataset).
  const Csr graph = Csr::from_edges(ds.num_nodes, ds.src, ds.dst, ds.weight);
  const auto t1 = Clock::now();
  PartitionFolder p;
  p.dir = dir;
  p.dataset = dataset;
  p.num_parts = opt.parts;
  p.num_nodes = ds.num_nodes;
  p.num_edges = graph.num_edges();
  p.graph_checksum = graph_checksum(graph);
  p.part = metis_partition(graph, opt.parts, opt.seed);
  const auto t2 = Clock::now();
  const PartitionStats stats = partition_stats(graph, p.part, opt.parts);
  const auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  out << fmt::format("locus partition: {} ({} nodes, {} edges) into {} parts with METIS (seed {}): load {:.2f} s, "
                     "partition {:.2f} s\n",
                     ds.name, ds.num_nodes, graph.num_edges(), opt.parts, opt.seed, secs(t0, t1), secs(t1, t2));
  out << format_partition_stats(stats);
  if (opt.dry_run) return;
  // Per-part training data (part-K.bin) for node classification, the task partitioned training runs.
  const bool node_task = ds.task == Task::NodeClassification && !ds.labels.empty();
  write_partition_folder(p, stats, node_task ? &ds : nullptr, node_task ? &graph : nullptr, opt.force);
  out << fmt::format("wrote {}; train with: mpirun -np {} locus train CONFIG.yaml dataset.partitions={}\n", dir,
                     opt.parts, dir);
}

void add_partition_command(CLI::App& app) {
  auto opts = std::make_shared<PartitionOptions>();
  CLI::App* c = app.add_subcommand("partition",
                                   "Cut a dataset's graph into parts with METIS for MPI training (mpirun -np P locus "
                                   "train ... dataset.partitions=DIR)");
  c->add_option("dataset", opts->dataset, "a dataset.yaml (or its folder) or a built-in dataset name")
      ->required()
      ->type_name("DATASET");
  c->add_option("--parts", opts->parts, "number of parts = MPI ranks")->required()->type_name("P");
  c->add_option("--out", opts->out, "folder to write (default NAME.partP; must be new or empty unless --force)")
      ->type_name("DIR");
  c->add_option("--seed", opts->seed, "METIS random seed (default 1)")->type_name("SEED");
  c->add_flag("--force", opts->force, "replace an existing non-empty folder");
  c->add_flag("--dry-run", opts->dry_run, "print the cut statistics only; write nothing");
  c->callback([opts] { run_reporting_errors([&] { run_partition(*opts, std::cout); }); });
}

}  // namespace locus
