// `locus predict MODEL DATASET [--split S | --nodes FILE] [--out FILE]`: runs a model file
// (train/model.hpp) on a dataset and writes one row per chosen node — its id as the dataset names
// it, the predicted class, one probability column per class, the true label when known — as CSV,
// TSV or JSON lines; prints the accuracy when labels are present.
#pragma once
#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace locus {

struct PredictOptions {
  std::string model;    // a model file (locus train save_model=PATH)
  std::string dataset;  // a dataset.yaml (or its folder) or a built-in name
  std::string split = "all";  // all | train | val | test: the nodes to write
  std::string nodes;          // a file of node ids, one per line (instead of --split)
  std::string out;            // .csv, .tsv or .jsonl; empty: CSV on stdout
};

// Loads, predicts, writes `opt.out` (whole or not at all) and reports to `report`. InputError on bad input.
void run_predict(const PredictOptions& opt, std::ostream& report);

// Registers the `predict` subcommand; it runs as its callback and reports its own errors.
void add_predict_command(CLI::App& app);

}  // namespace locus
