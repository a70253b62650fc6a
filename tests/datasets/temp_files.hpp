// Test helpers for the dataset suites: the shared temporary folder, and a way to capture a
// loader's InputError message.
#pragma once
#include <string>

#include "core/error.hpp"
#include "datasets/loader.hpp"
#include "tests/testing/temp_dir.hpp"

namespace locus::testing {

// The InputError message of loading `yaml_path`, or "" when it loads.
inline std::string load_error(const std::string& yaml_path) {
  try {
    load_dataset_yaml(yaml_path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace locus::testing
