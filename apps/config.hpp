// Reading an experiment config (train/config.hpp) as `locus train` does: a GraphGym-style YAML
// file, then `key=value` overrides from the command line. Unknown keys, wrong types and
// out-of-range values are InputErrors naming the file, line, token and fix (with a "did you mean").
#pragma once
#include <string>
#include <vector>

#include "train/config.hpp"

namespace locus {

// Reads `path` (may be empty: defaults only), applies `overrides` ("key=value", in order) and
// checks the result (validate_config). Relative paths inside the file resolve against the file's
// folder; relative paths given as overrides resolve against the current directory.
ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides);

// Throws InputError "place: problem 'token'. fix" at the place where p.key was set (the config
// file and line, or the command line; a key left at its default: the file, line 0, token the key).
[[noreturn]] void config_error(const ExperimentConfig& cfg, const ConfigProblem& p);
[[noreturn]] void config_error(const ExperimentConfig& cfg, const std::string& key, const std::string& problem,
                               const std::string& fix);

}  // namespace locus
