#include "apps/config_command.hpp"

#include <fmt/format.h>

#include <ostream>
#include <nlohmann/json.hpp>

#include "apps/config.hpp"

namespace locus {
namespace {
std::string allowed(const ConfigKey& k) {
  if (!k.choices) return k.range;
  std::string out;
  for (const auto& c : k.choices()) out += (out.empty() ? "" : ", ") + c;
  return out;
}
}  // namespace

void print_config_reference(std::ostream& out, const std::string& format) {
  if (format == "markdown") {
    out << config_reference_markdown();
    return;
  }
  if (format == "json") {
    nlohmann::json keys = nlohmann::json::array();
    const ExperimentConfig defaults;
    for (const auto& k : config_schema()) {
      nlohmann::json j{{"key", k.name}, {"type", k.type}, {"default", k.json(defaults)}, {"doc", k.doc},
                       {"results", k.results}};
      if (k.choices) j["choices"] = k.choices();
      else j["range"] = k.range;
      keys.push_back(j);
    }
    out << keys.dump(2) << "\n";
    return;
  }
  size_t w = 3;
  for (const auto& k : config_schema()) w = std::max(w, k.name.size());
  std::string section = "-";
  for (const auto& k : config_schema()) {
    const std::string top = k.name.substr(0, k.name.find('.'));
    if (top != section) out << (section == "-" ? "" : "\n"), section = top;
    const std::string dflt = k.default_text();
    const std::string range = allowed(k);
    out << fmt::format("{:<{}}  {} = {}{}\n{:<{}}  {}\n", k.name, w, k.type, dflt.empty() ? "(unset)" : dflt,
                       range.empty() ? "" : "  (" + range + ")", "", w, k.doc);
  }
}

void print_resolved_config(std::ostream& out, const ExperimentConfig& cfg) {
  size_t w = 3;
  for (const auto& k : config_schema()) w = std::max(w, k.name.size() + k.text(cfg).size() + 1);
  for (const auto& k : config_schema()) {
    const auto it = cfg.origins.find(k.name);
    const std::string where = it == cfg.origins.end() ? "default"
                              : it->second.line > 0   ? fmt::format("{}:{}", it->second.file, it->second.line)
                                                      : it->second.file;
    out << fmt::format("{:<{}}  # {}\n", k.name + "=" + k.text(cfg), w, where);
  }
}

}  // namespace locus
