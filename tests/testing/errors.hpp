// The message of the InputError a call throws, for tests that check error wording; "" when it
// throws none (other exceptions propagate and fail the test).
#pragma once
#include <functional>
#include <string>

#include "core/error.hpp"

namespace locus::testing {

inline std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace locus::testing
