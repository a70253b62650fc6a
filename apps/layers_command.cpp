#include "apps/layers_command.hpp"

#include <fmt/format.h>

#include <ostream>

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

}  // namespace locus
