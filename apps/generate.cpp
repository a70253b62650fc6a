#include "apps/generate.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include "apps/command_errors.hpp"
#include "core/error.hpp"
#include "datasets/builtin.hpp"
#include "datasets/generators.hpp"
#include "datasets/graph_generators.hpp"
#include "datasets/text_reader.hpp"
#include "datasets/writer.hpp"

namespace locus {

namespace {

const std::vector<std::string> kKinds = {"random", "rmat", "sbm", "grid", "caveman", "pattern", "cluster", "csl"};

// "random, sbm, ... or csl", for messages.
std::string kinds_text() {
  std::string s;
  for (size_t i = 0; i < kKinds.size(); ++i) s += (i == 0 ? "" : i + 1 == kKinds.size() ? " or " : ", ") + kKinds[i];
  return s;
}

// Options each kind accepts (besides --out and --force).
const std::vector<std::string>& kind_options(const std::string& kind) {
  static const std::vector<std::string> random = {"nodes", "edges", "classes", "features", "feature-nnz", "seed"};
  static const std::vector<std::string> sbm = {"blocks", "block-size", "p-in", "p-out", "features", "seed"};
  static const std::vector<std::string> grid = {"rows", "cols", "regions", "features", "seed"};
  static const std::vector<std::string> caveman = {"communities", "size", "p", "features", "seed"};
  static const std::vector<std::string> many = {"train-graphs", "val-graphs", "test-graphs", "seed"};
  static const std::vector<std::string> csl = {"fold", "seed"};
  return kind == "random" || kind == "rmat"       ? random
         : kind == "sbm"                          ? sbm
         : kind == "grid"                         ? grid
         : kind == "pattern" || kind == "cluster" ? many
         : kind == "csl"                          ? csl
                                                  : caveman;
}

std::string join_options(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& o : v) s += (s.empty() ? "--" : " --") + o;
  return s;
}

[[noreturn]] void fail(const std::string& problem, const std::string& token, const std::string& fix) {
  throw_input_error("", 0, "generate: " + problem, token, fix);
}

// A whole number in [lo, hi]; "1e6" is accepted when it is a whole number.
int64_t whole(const std::string& option, const std::string& text, int64_t lo, int64_t hi, const std::string& example) {
  std::optional<int64_t> v = parse_int(text);
  if (!v) {
    std::optional<double> d = parse_double(text);
    if (d && std::isfinite(*d) && *d == std::floor(*d) && std::fabs(*d) < 9e18) v = static_cast<int64_t>(*d);
  }
  if (!v) fail("--" + option + " expects a whole number, not", text, "give e.g. --" + option + " " + example);
  if (*v < lo || *v > hi)
    fail("--" + option + " must be " +
             (hi == INT64_MAX ? "at least " + std::to_string(lo)
                              : "between " + std::to_string(lo) + " and " + std::to_string(hi)) +
             ", not",
         text, "give e.g. --" + option + " " + example);
  return *v;
}

double probability(const std::string& option, const std::string& text) {
  std::optional<double> d = parse_double(text);
  if (!d || !(*d >= 0.0 && *d <= 1.0))
    fail("--" + option + " expects a probability between 0 and 1, not", text, "give e.g. --" + option + " 0.01");
  return *d;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void run_generate(const GenerateOptions& o, std::ostream& out_stream) {
  // ---- Check every option before touching the file system.
  if (!o.extras.empty())
    fail("unknown argument", o.extras,
         "run 'locus generate --help' for the options; KIND is one of " + kinds_text());
  if (o.kind.empty())
    fail("missing KIND", "",
         "write e.g. 'locus generate grid --rows 20 --cols 20 --out data/grid' (KIND: " + kinds_text() + ")");
  if (std::find(kKinds.begin(), kKinds.end(), o.kind) == kKinds.end()) {
    const std::string near = nearest(o.kind, kKinds);
    fail("unknown KIND", o.kind,
         (near.empty() ? "" : "did you mean '" + near + "'? ") + "choose " + kinds_text());
  }
  const std::vector<std::pair<std::string, const std::string*>> given = {{"nodes", &o.nodes},
                                                                         {"edges", &o.edges},
                                                                         {"classes", &o.classes},
                                                                         {"features", &o.features},
                                                                         {"feature-nnz", &o.feature_nnz},
                                                                         {"seed", &o.seed},
                                                                         {"blocks", &o.blocks},
                                                                         {"block-size", &o.block_size},
                                                                         {"p-in", &o.p_in},
                                                                         {"p-out", &o.p_out},
                                                                         {"rows", &o.rows},
                                                                         {"cols", &o.cols},
                                                                         {"regions", &o.regions},
                                                                         {"communities", &o.communities},
                                                                         {"size", &o.size},
                                                                         {"p", &o.p},
                                                                         {"train-graphs", &o.train_graphs},
                                                                         {"val-graphs", &o.val_graphs},
                                                                         {"test-graphs", &o.test_graphs},
                                                                         {"fold", &o.fold}};
  const auto& allowed = kind_options(o.kind);
  for (const auto& [name, value] : given)
    if (!value->empty() && std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      fail("option not accepted by " + o.kind, "--" + name,
           o.kind + " takes " + join_options(allowed) + " (and --out, --force)");
  if (o.out.empty()) fail("missing --out", "", "give the folder to write, e.g. --out data/" + o.kind);

  const uint64_t seed = o.seed.empty() ? 0 : static_cast<uint64_t>(whole("seed", o.seed, 0, INT64_MAX, "0"));
  auto count = [](const std::string& option, const std::string& text, int64_t dflt, int64_t lo, int64_t hi,
                  const std::string& example) { return text.empty() ? dflt : whole(option, text, lo, hi, example); };
  // grid, caveman: --features constant (one column of ones: GIR.md's Grid / Communities) or none
  // (the default; `locus train` then gives one-hot identity features: Grid-T / Communities-T).
  auto structure_features = [&](const std::string& text) {
    if (text.empty() || text == "none") return false;
    if (text == "constant") return true;
    fail("--features for " + o.kind + " is constant or none, not", text,
         "give --features constant (the built-in " + std::string(o.kind == "grid" ? "grid" : "communities") +
             ") or leave it out (one-hot identity at training, " + (o.kind == "grid" ? "grid-T" : "communities-T") + ")");
  };
  std::function<Dataset()> make;
  if (o.kind == "random" || o.kind == "rmat") {
    RandomGraphParams p;
    p.nodes = count("nodes", o.nodes, p.nodes, 1, INT32_MAX, "1000");
    p.edges = count("edges", o.edges, p.edges, 0, INT64_MAX, "5000");
    p.classes = static_cast<int32_t>(count("classes", o.classes, p.classes, 1, INT32_MAX, "5"));
    p.features = static_cast<int32_t>(count("features", o.features, p.features, 0, INT32_MAX, "16"));
    p.feature_nnz = static_cast<int32_t>(count("feature-nnz", o.feature_nnz, 0, 0, INT32_MAX, "32"));
    p.seed = seed;
    make = o.kind == "rmat" ? std::function<Dataset()>([p] { return generate_rmat(p); })
                            : std::function<Dataset()>([p] { return generate_random(p); });
  } else if (o.kind == "sbm") {
    SbmParams p;
    const int64_t block_size = count("block-size", o.block_size, p.block_sizes.front(), 1, INT32_MAX, "200");
    const int64_t blocks =
        count("blocks", o.blocks, static_cast<int64_t>(p.block_sizes.size()), 1, INT32_MAX / block_size, "5");
    p.block_sizes.assign(static_cast<size_t>(blocks), block_size);
    if (!o.p_in.empty()) p.p_in = probability("p-in", o.p_in);
    if (!o.p_out.empty()) p.p_out = probability("p-out", o.p_out);
    p.features = static_cast<int32_t>(count("features", o.features, p.features, 0, INT32_MAX, "16"));
    p.seed = seed;
    make = [p] { return generate_sbm(p); };
  } else if (o.kind == "grid") {
    GridParams p;
    p.rows = count("rows", o.rows, p.rows, 1, INT32_MAX, "20");
    p.cols = count("cols", o.cols, p.cols, 1, INT32_MAX, "20");
    p.regions = static_cast<int32_t>(count("regions", o.regions, p.regions, 1, INT32_MAX, "2"));
    p.seed = seed;
    const bool constant = structure_features(o.features);
    make = [p, constant] { return constant ? with_constant_feature(generate_grid(p)) : generate_grid(p); };
  } else if (o.kind == "pattern" || o.kind == "cluster") {
    // Graph counts; the generator checks them against its limits.
    auto graphs = [&](const std::string& option, const std::string& text, int64_t dflt) {
      return count(option, text, dflt, 0, INT32_MAX, std::to_string(dflt));
    };
    auto with_counts = [&](auto p) {  // PatternParams or ClusterParams
      p.train_graphs = graphs("train-graphs", o.train_graphs, p.train_graphs);
      p.val_graphs = graphs("val-graphs", o.val_graphs, p.val_graphs);
      p.test_graphs = graphs("test-graphs", o.test_graphs, p.test_graphs);
      p.seed = seed;
      return p;
    };
    if (o.kind == "pattern")
      make = [p = with_counts(PatternParams{})] { return generate_pattern(p); };
    else
      make = [p = with_counts(ClusterParams{})] { return generate_cluster(p); };
  } else if (o.kind == "csl") {
    CslParams p;
    p.fold = static_cast<int32_t>(count("fold", o.fold, p.fold, 0, 4, "0"));
    p.seed = seed;
    make = [p] { return generate_csl(p); };
  } else {
    CavemanParams p;
    p.communities = count("communities", o.communities, p.communities, 2, INT32_MAX, "20");
    p.size = count("size", o.size, p.size, 3, INT32_MAX, "20");
    if (!o.p.empty()) p.p = probability("p", o.p);
    p.seed = seed;
    const bool constant = structure_features(o.features);
    make = [p, constant] { return constant ? with_constant_feature(generate_caveman(p)) : generate_caveman(p); };
  }

  // ---- The folder must be writable before a possibly long generation; the generator checks its
  // parameters (e.g. --edges against --nodes) before it creates anything.
  check_output_dir(o.out, o.force);
  const auto t0 = std::chrono::steady_clock::now();
  const Dataset ds = make();
  const double gen_s = seconds_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  write_dataset(ds, o.out, o.force);
  const double write_s = seconds_since(t1);
  const std::string graphs =
      ds.has_graphs() ? fmt::format("{} graphs (split {}/{}/{}), ", ds.num_graphs, ds.train_graphs.size(),
                                    ds.val_graphs.size(), ds.test_graphs.size())
                      : "";
  const int64_t classes = ds.task == Task::GraphClassification ? ds.num_graph_classes : ds.num_classes;
  out_stream
      << fmt::format(
             "{}: {}{} nodes, {} undirected edges, {} {}classes, {} features; generated in {:.2f} s, written in {:.2f} s\n",
             o.kind, graphs, ds.num_nodes, ds.num_input_edges, classes,
             ds.task == Task::GraphClassification ? "graph " : "", ds.num_features(), gen_s, write_s)
      << (std::filesystem::path(o.out) / "dataset.yaml").string() << "\n";
}

void add_generate_command(CLI::App& app) {
  auto opts = std::make_shared<GenerateOptions>();
  CLI::App* g = app.add_subcommand(
      "generate",
      "Write a seeded synthetic graph (random | rmat | sbm | grid | caveman) or set of graphs (pattern | cluster | csl) as a "
      "dataset folder (dataset.yaml + files)");
  // Unknown arguments stay with this subcommand and are reported by run_generate (status 2).
  g->allow_extras();
  g->add_option("kind", opts->kind,
                "random: G(n, m) | rmat: power-law R-MAT | sbm: stochastic block model | grid: 2-D grid | caveman: connected "
                "caveman | pattern, "
                "cluster: benchmarking-GNNs SBM node tasks | csl: circular skip links, graph classification")
      ->type_name("KIND");
  g->add_option("--nodes", opts->nodes, "random, rmat: number of nodes (default 2000)")->type_name("N");
  g->add_option("--edges", opts->edges, "random, rmat: undirected edges, exactly (default 10000)")->type_name("N");
  g->add_option("--classes", opts->classes, "random, rmat: uniform classes (default 5)")->type_name("N");
  g->add_option("--features", opts->features,
                "random, rmat, sbm: dense class-dependent feature columns, 0 for none (default 32 / 0); grid, caveman: "
                "constant (one column of ones, the built-in grid / communities) or none (default: one-hot "
                "identity at training, grid-T / communities-T)")
      ->type_name("N|constant");
  g->add_option("--feature-nnz", opts->feature_nnz,
                "random, rmat: sparse binary bag-of-words features instead, N ones per row out of --features, about "
                "half of them in the node's class's columns (Planetoid-like; default 0: dense)")
      ->type_name("N");
  g->add_option("--seed", opts->seed, "random seed (default 0); the split uses it too")->type_name("SEED");
  g->add_option("--blocks", opts->blocks, "sbm: number of blocks = classes (default 5)")->type_name("N");
  g->add_option("--block-size", opts->block_size, "sbm: nodes per block (default 200)")->type_name("N");
  g->add_option("--p-in", opts->p_in, "sbm: edge probability inside a block (default 0.05)")->type_name("P");
  g->add_option("--p-out", opts->p_out, "sbm: edge probability across blocks (default 0.005)")->type_name("P");
  g->add_option("--rows", opts->rows, "grid: rows (default 20)")->type_name("N");
  g->add_option("--cols", opts->cols, "grid: columns (default 20)")->type_name("N");
  g->add_option("--regions", opts->regions, "grid: label regions per side; classes = regions^2 (default 2)")
      ->type_name("N");
  g->add_option("--communities", opts->communities, "caveman: number of cliques = classes (default 20)")
      ->type_name("N");
  g->add_option("--size", opts->size, "caveman: nodes per clique (default 20)")->type_name("N");
  g->add_option("--p", opts->p, "caveman: probability of rewiring each edge (default 0.01)")->type_name("P");
  g->add_option("--train-graphs", opts->train_graphs, "pattern, cluster: training graphs (default 10000)")->type_name("N");
  g->add_option("--val-graphs", opts->val_graphs, "pattern, cluster: validation graphs (default 2000 / 1000)")->type_name("N");
  g->add_option("--test-graphs", opts->test_graphs, "pattern, cluster: test graphs (default 2000 / 1000)")->type_name("N");
  g->add_option("--fold", opts->fold, "csl: the test fold of the stratified 5-fold split, 0..4 (default 0)")->type_name("K");
  g->add_option("--out", opts->out, "folder to write (created; must be new or empty unless --force)")->type_name("DIR");
  g->add_flag("--force", opts->force, "overwrite the dataset files in an existing non-empty folder");
  g->callback([opts, g] {
    for (const auto& extra : g->remaining()) opts->extras += (opts->extras.empty() ? "" : " ") + extra;
    run_reporting_errors([&] { run_generate(*opts, std::cout); });
  });
}

}  // namespace locus
