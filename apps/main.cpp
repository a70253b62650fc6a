// The `locus` command-line program.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "apps/compare.hpp"
#include "apps/config.hpp"
#include "apps/config_command.hpp"
#include "apps/generate.hpp"
#include "apps/layers_command.hpp"
#include "apps/partition.hpp"
#include "apps/predict.hpp"
#include "apps/train.hpp"
#include "core/alloc.hpp"
#include "core/dist/comm.hpp"
#include "core/error.hpp"
#include "core/io.hpp"

namespace {
// Under mpirun every rank reports its own errors; ranks other than 0 say which they are.
std::string rank_prefix() {
  if (!locus::dist::Comm::initialised() || locus::dist::Comm::world().rank() == 0) return "";
  return "[rank " + std::to_string(locus::dist::Comm::world().rank()) + "] ";
}
}  // namespace

int main(int argc, char** argv) {
  locus::configure_allocator();
  CLI::App app{"Locus: graph neural networks in C++"};
  app.require_subcommand(1);

  auto* train = app.add_subcommand("train", "Train a model (node or graph classification, graph regression, link prediction or pair classification) from an experiment config");
  std::string config;
  std::vector<std::string> overrides;
  std::string json_path;
  train->add_option("config", config, "Experiment config YAML (e.g. apps/configs/cora_gcn.yaml)")->required();
  train->add_option("overrides", overrides, "key=value overrides, e.g. num_runs=3 gnn.dim_inner=32");
  train->add_option("--json", json_path, "Write the results as JSON to this file");

  auto* compare = app.add_subcommand("compare", "Train several model variants (compare.variants) and compare them");
  std::string compare_config, compare_json, compare_csv, compare_plot;
  std::vector<std::string> compare_overrides;
  compare->add_option("config", compare_config, "Experiment config YAML with compare.variants")->required();
  compare->add_option("overrides", compare_overrides, "key=value overrides for every variant");
  compare->add_option("--json", compare_json, "Write every variant's results as JSON to this file");
  compare->add_option("--csv", compare_csv, "Write one CSV row per variant to this file");
  compare->add_option("--plot", compare_plot, "Draw the table as a PNG bar chart with error bars (gnuplot)");

  // `generate` runs as its subcommand's callback and reports its own errors (status 2 or 1).
  locus::add_generate_command(app);
  locus::add_partition_command(app);
  locus::add_predict_command(app);
  auto* layers = app.add_subcommand("layers", "List the layer types gnn.layer_type can name (topologies, partitioned "
                                              "training, formula)");
  bool layers_verbose = false;
  std::string layers_format = "text";
  layers->add_flag("-v,--verbose", layers_verbose, "Also print each type's source and the config keys it reads");
  layers->add_option("--format", layers_format, "text or markdown (the docs table)")
      ->check(CLI::IsMember({"text", "markdown"}));

  auto* config_cmd = app.add_subcommand("config", "Print the config reference (--list) or how a config resolves");
  std::string config_file, config_format = "text";
  std::vector<std::string> config_overrides;
  bool config_list = false;
  config_cmd->add_option("config", config_file, "Experiment config YAML to resolve");
  config_cmd->add_option("overrides", config_overrides, "key=value overrides, as for locus train");
  config_cmd->add_flag("--list", config_list, "Print every key: type, default, allowed values, meaning");
  config_cmd->add_option("--format", config_format, "--list format")->check(CLI::IsMember({"text", "markdown", "json"}));

  CLI11_PARSE(app, argc, argv);
  try {
    if (train->parsed()) {
      const locus::ExperimentConfig cfg = locus::load_config(config, overrides);
      // Checked before training, so a bad out_dir or --json never costs a training nor leaves outputs.
      locus::check_out_dir(cfg);
      if (!json_path.empty() && std::filesystem::is_directory(json_path))
        locus::throw_input_error(json_path, 0, "--json names a folder, not a file", json_path,
                                 "give a file path, e.g. " + (std::filesystem::path(json_path) / "results.json").string());
      if (!json_path.empty()) locus::check_creatable(json_path, "--json path");
      // Progress goes to stderr, the results table to stdout.
      const auto summary = locus::run_training(cfg, std::cerr, isatty(STDERR_FILENO) != 0);
      if (summary.rank != 0) {  // partitioned training: rank 0 reports
        locus::dist::Comm::finalize();
        return summary.interrupted ? 128 + summary.stop_signal : 0;
      }
      locus::print_summary(summary, std::cout);
      if (!json_path.empty()) {
        locus::write_summary_json(summary, cfg, json_path);
        std::cerr << "results: " << json_path << "\n";
      }
      locus::dist::Comm::finalize();
      if (summary.interrupted) return 128 + summary.stop_signal;  // as the shell reports a signal
    }
    if (layers->parsed()) {
      if (layers_format == "markdown") locus::print_layers_markdown(std::cout);
      else locus::print_layers(std::cout, layers_verbose);
    }
    if (config_cmd->parsed()) {
      if (config_list) locus::print_config_reference(std::cout, config_format);
      else if (config_file.empty())
        throw locus::InputError("locus config: give a config file to resolve, or --list for the reference of every key");
      else locus::print_resolved_config(std::cout, locus::load_config(config_file, config_overrides));
    }
    if (compare->parsed()) {
      const auto results = locus::run_compare(compare_config, compare_overrides, std::cerr, isatty(STDERR_FILENO) != 0);
      locus::print_compare(results, std::cout);
      if (!compare_json.empty()) locus::write_compare_json(results, compare_json);
      if (!compare_csv.empty()) locus::write_compare_csv(results, compare_csv);
      if (!compare_plot.empty())
        locus::write_compare_plot(results, results.front().summary.dataset + ": " + compare_config, compare_plot);
      if (!results.empty() && results.back().summary.interrupted) return 128 + results.back().summary.stop_signal;
    }
  } catch (const locus::InputError& e) {
    std::cerr << "locus: error: " << rank_prefix() << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "locus: error: " << rank_prefix() << e.what() << "\n";
    return 1;
  }
  return 0;
}
