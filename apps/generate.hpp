// `locus generate KIND [options] --out DIR [--force]`: writes a seeded synthetic graph
// (datasets/generators.hpp: random | sbm | grid | caveman; datasets/graph_generators.hpp: the
// many-graph pattern | cluster | csl) as a dataset folder in the shared
// YAML schema (datasets/writer.hpp), ready for `locus train dataset.path=DIR/dataset.yaml`.
#pragma once
#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace locus {

// The command line as typed: every value is kept as text and checked by run_generate, so that
// every mistake (a malformed number, an option of another kind, a missing --out) is reported
// the same way: an InputError naming the option and the fix.
struct GenerateOptions {
  std::string kind;                                   // random | sbm | grid | caveman | pattern | cluster | csl
  std::string nodes, edges, classes, features, feature_nnz, seed;  // random, rmat (features and seed: sbm too)
  std::string blocks, block_size, p_in, p_out;        // sbm
  std::string rows, cols, regions;                    // grid (seed: the split only)
  std::string communities, size, p;                   // caveman
  std::string train_graphs, val_graphs, test_graphs;  // pattern, cluster
  std::string fold;                                   // csl
  std::string out;
  bool force = false;
  std::string extras;  // unrecognised arguments, space-separated; an error when non-empty
};

// Checks the options, checks that `out` may be written (before generating anything), generates,
// writes, and prints one summary line (kind, nodes, edges, classes, features, generation and
// write times) and then the path of the dataset.yaml to `out_stream`. Bad options throw
// InputError before any file or folder is created.
void run_generate(const GenerateOptions& opts, std::ostream& out_stream);

// Adds the `generate` subcommand to `app`. It runs as the subcommand's callback (inside
// app.parse): an InputError prints "locus: error: ..." and ends the program with status 2 (other
// errors: status 1), through CLI::RuntimeError so that CLI11_PARSE returns that status silently.
void add_generate_command(CLI::App& app);

}  // namespace locus
