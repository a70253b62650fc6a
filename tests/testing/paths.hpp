// Where tests find the source tree, the shared datasets and the built `locus` program.
#pragma once
#include <filesystem>
#include <string>

namespace locus::testing {

inline std::string source_dir() { return LOCUS_SOURCE_DIR; }
inline std::string shared_dir() { return LOCUS_SHARED_DIR; }
inline std::string locus_binary() { return LOCUS_BINARY; }
// True when ../shared/datasets/NAME exists (CI has it; a user's clone may not).
inline bool have_shared_dataset(const std::string& name) {
  return std::filesystem::exists(shared_dir() + "/datasets/" + name + "/dataset.yaml");
}

}  // namespace locus::testing
