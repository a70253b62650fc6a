// `locus predict MODEL DATASET [--split S | --nodes FILE] [--out FILE] [--embeddings FILE]`: runs
// a model file (train/model.hpp) on a dataset and writes one row per chosen node — its id as the
// dataset names it, the predicted class, one probability column per class, the true label when
// known — as CSV, TSV or JSON lines, and its embedding (TSV or .npy); prints the metric.
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
  std::string embeddings;     // .tsv (node id, then the values) or .npy (float32 [nodes, width])
  // Pair models: score the pairs of a file ("u v" per line), or rank each chosen node's top_k
  // most likely new partners (the query nodes of for_nodes when given).
  std::string pairs;
  int top_k = 0;
  std::string for_nodes;
  // Stage lines on `report` while it runs (loading, model run, ranking done/total, writing), each
  // over the last ("\r"), cleared before the summary: for a terminal.
  bool progress = false;
};

// Loads, predicts, writes `opt.out` (whole or not at all) and reports to `report`. InputError on bad input.
void run_predict(const PredictOptions& opt, std::ostream& report);

// Registers the `predict` subcommand; it runs as its callback and reports its own errors.
void add_predict_command(CLI::App& app);

}  // namespace locus
