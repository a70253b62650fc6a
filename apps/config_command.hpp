// `locus config`: the config reference and resolved configs.
//   locus config --list [--format text|markdown|json]   every key: type, default, allowed values, meaning
//   locus config CONFIG.yaml [key=value ...]            the config as it resolves, key=value per line,
//                                                       with where each key was set
#pragma once
#include <iosfwd>
#include <string>

namespace locus {

struct ExperimentConfig;

// The reference of every key (train/config.hpp's schema): format text, markdown or json.
void print_config_reference(std::ostream& out, const std::string& format);
// Every key's value as it resolves, and where it was set ("default" when not set).
void print_resolved_config(std::ostream& out, const ExperimentConfig& cfg);

}  // namespace locus
