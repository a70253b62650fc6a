#include "apps/layers_command.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "layers/registry.hpp"

namespace locus {

void print_layers(std::ostream& out, bool verbose) {
  size_t w = 4;
  for (const auto& d : layer_registry()) w = std::max(w, d.name.size());
  out << fmt::format("{:<{}}  {:<10}  {:<11}  {}\n", "type", w, "topologies", "distributed", "formula");
  for (const auto& d : layer_registry()) {
    const std::string topo = d.csr && d.dense ? "csr, dense" : d.csr ? "csr" : "dense";
    out << fmt::format("{:<{}}  {:<10}  {:<11}  {}\n", d.name, w, topo, d.distributed ? "yes" : "no", d.formula);
    if (!verbose) continue;
    out << fmt::format("{:<{}}  {}\n", "", w, d.summary);
    if (!d.options.empty()) {
      std::string keys;
      for (const auto& k : d.options) keys += (keys.empty() ? "" : ", ") + k;
      out << fmt::format("{:<{}}  reads: {}\n", "", w, keys);
    }
  }
}

void add_layers_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("layers", "List the layer types gnn.layer_type can name (topologies, partitioned "
                                           "training, formula)");
  auto verbose = std::make_shared<bool>(false);
  cmd->add_flag("-v,--verbose", *verbose, "Also print each type's source and the config keys it reads");
  cmd->callback([verbose] { print_layers(std::cout, *verbose); });
}

}  // namespace locus
