// Loads a dataset described by a dataset YAML (schema: datasets/README.md of the shared data)
// into a Dataset. Every problem with the YAML or the files it names is an InputError naming
// the file, the line, the bad token and the fix; on error nothing is returned.
#pragma once
#include <string>

#include "datasets/dataset.hpp"

namespace locus {

// Paths inside the YAML are relative to the YAML file's folder.
//
// Node set: with a `nodes` table, the table alone defines the nodes and every other file must use
// its ids. Without one, the labels, features and edges files define nodes (in that order of first
// appearance, which numbers `ids: name` nodes). Split files never define nodes.
// Without `features` (or nodes.feature_columns) the result has features of num_nodes x 0.
// Without `split` the train/val/test lists are empty; the caller decides what that means.
// `path` may also be a TU folder as downloaded (DS_A.txt, ... and no dataset.yaml;
// datasets/tu_reader.hpp): graph classification with 10 stratified folds (fold 0 tests, fold 1
// validates), as split: {folds: {k: 10, fold: 0, stratify: true}} would give (k = the number of
// labelled graphs when below 10).
Dataset load_dataset_yaml(const std::string& path);

}  // namespace locus
