// The DATASET argument of `locus partition` and `locus predict`: a dataset.yaml, a folder holding
// one, or a built-in dataset name (datasets/builtin.hpp), resolved and loaded the same way.
#pragma once
#include <string>

#include "datasets/dataset.hpp"

namespace locus {

struct DatasetArg {
  bool builtin = false;
  std::string path;  // the dataset.yaml (absolute, normalised), or the built-in name
};

// InputError naming `command` when `arg` is neither a dataset file (or folder) nor a built-in name.
DatasetArg resolve_dataset_arg(const std::string& arg, const std::string& command);
Dataset load_dataset_arg(const DatasetArg& d);

}  // namespace locus
