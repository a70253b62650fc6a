// Test helpers for the dataset suites: the shared temporary folder, and a way to capture a
// loader's InputError message.
#pragma once
#include <doctest/doctest.h>

#include <initializer_list>
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

// Checks that `msg` (a load_error result) is an error holding every one of `parts`.
inline void expect_error(const std::string& msg, std::initializer_list<std::string> parts) {
  CHECK_MESSAGE(!msg.empty(), "expected an InputError");
  for (const auto& p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, "'" << p << "' not in: " << msg);
}

}  // namespace locus::testing
