// libFuzzer target: the input is an experiment config YAML, loaded with load_config(path, {}).
// When the input holds a NUL byte, the text after it is split at further NULs into up to 8
// "key=value" overrides applied after the file.
// load_config parses both with core/yaml_input.hpp's caps (cyclic aliases, alias bombs, deep
// nesting and the yaml-cpp ',' hang are InputErrors).
#include <string>
#include <vector>

#include "apps/config.hpp"
#include "core/error.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = locus::fuzz::as_text(data, size);
  std::vector<std::string> overrides;
  const size_t nul = in.find('\0');
  std::string_view yaml = in.substr(0, nul);
  if (nul != std::string_view::npos) {
    std::string_view rest = in.substr(nul + 1);
    while (overrides.size() < 8) {
      const size_t next = rest.find('\0');
      overrides.emplace_back(rest.substr(0, next));
      if (next == std::string_view::npos) break;
      rest.remove_prefix(next + 1);
    }
  }
  const std::string path = locus::fuzz::scratch().write("config.yaml", yaml);
  try {
    locus::load_config(path, overrides);
  } catch (const locus::InputError&) {
  }
  return 0;
}
