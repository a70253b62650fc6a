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

void print_layers_markdown(std::ostream& out) {
  out << "| type | topologies | distributed | formula | what it is | reads |\n|---|---|---|---|---|---|\n";
  for (const auto& d : layer_registry()) {
    std::string keys;
    for (const auto& k : d.options) keys += (keys.empty() ? "" : ", ") + ("`" + k + "`");
    out << fmt::format("| `{}` | {} | {} | {} | {} | {} |\n", d.name, d.csr && d.dense ? "csr, dense" : d.csr ? "csr" : "dense",
                       d.distributed ? "yes" : "no", d.formula, d.summary, keys);
  }
}

void add_layers_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("layers", "List the layer types gnn.layer_type can name (topologies, partitioned "
                                           "training, formula)");
  auto verbose = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>("text");
  cmd->add_flag("-v,--verbose", *verbose, "Also print each type's source and the config keys it reads");
  cmd->add_option("--format", *format, "text or markdown (the docs table)")->check(CLI::IsMember({"text", "markdown"}));
  cmd->callback([verbose, format] {
    if (*format == "markdown") print_layers_markdown(std::cout);
    else print_layers(std::cout, *verbose);
  });
}

}  // namespace locus
