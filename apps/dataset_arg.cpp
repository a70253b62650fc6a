#include "apps/dataset_arg.hpp"

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "core/text.hpp"
#include "datasets/builtin.hpp"
#include "datasets/loader.hpp"

namespace locus {

DatasetArg resolve_dataset_arg(const std::string& arg, const std::string& command) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string yaml = arg;
  if (fs::is_directory(yaml, ec)) yaml = (fs::path(yaml) / "dataset.yaml").string();
  if (fs::exists(yaml, ec)) return {false, fs::absolute(yaml).lexically_normal().string()};
  const auto names = builtin_dataset_names();
  if (std::find(names.begin(), names.end(), arg) != names.end()) return {true, arg};
  throw_input_error(arg, 0, command + ": no such dataset file or built-in dataset:", arg,
                    "give the path of a dataset.yaml or one of " + join(names));
}

Dataset load_dataset_arg(const DatasetArg& d) { return d.builtin ? builtin_dataset(d.path) : load_dataset_yaml(d.path); }

}  // namespace locus
