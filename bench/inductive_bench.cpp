// GraphSAGE's inductive protocol for trained model files: per dataset, model (GCN, GraphSAGE, GAT
// with the hyper-parameters of apps/configs/cora_<model>.yaml) and seed, a model trained on the
// graph without 20 % of its nodes (drawn from the seed) is saved, loaded and run on the whole graph
// (Model::load, Model::predict); its accuracy on the unseen nodes is set against a model trained
// on the whole graph. Writes a Markdown table.
//   inductive_bench [--seeds 5] [--out bench/results/inductive.md] [--threads 2] [--remove 0.2]
//                   [--models gcn,sage,gat] [--configs apps/configs] [--feature-norm auto|none|row]
//                   [--command TEXT] [--note TEXT]... DATASET ...
// DATASET: a dataset.yaml, a folder holding one, or a built-in name (node classification on an
// edge list, with features). --command: the command line the table names as its reproduction
// (default: argv); --note: a paragraph added under the description (e.g. how a dataset was made).
// --feature-norm auto keeps each config's dataset.feature_norm, except for datasets with negative
// feature values (generated ones), which are not row-normalised (their row sums can be ~0).
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "apps/config.hpp"
#include "apps/dataset_arg.hpp"
#include "bench/timing.hpp"
#include "core/alloc.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "core/rng.hpp"
#include "datasets/writer.hpp"
#include "train/experiment.hpp"
#include "train/model.hpp"
#include "train/problem.hpp"

using namespace locus;
using bench::Clock;
using bench::seconds_since;
namespace fs = std::filesystem;

namespace {

struct Options {
  int seeds = 5;
  int threads = 2;
  double remove = 0.2;
  std::string out = "bench/results/inductive.md";
  std::string configs = "apps/configs";
  std::string feature_norm = "auto";
  std::string command;
  std::vector<std::string> notes;
  std::vector<std::string> models = {"gcn", "sage", "gat"};
  std::vector<std::string> datasets;
};

[[noreturn]] void usage_error(const std::string& what) {
  std::cerr << "inductive_bench: " << what
            << "\nusage: inductive_bench [--seeds N] [--out FILE.md] [--threads N] [--remove F] [--models a,b,c]"
               " [--configs DIR] [--feature-norm auto|none|row] [--command TEXT] [--note TEXT] DATASET ...\n";
  std::exit(2);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = std::min(s.find(',', start), s.size());
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    auto number = [&](double lo, double hi) {
      const std::string v = value();
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(x >= lo && x <= hi))
        usage_error(fmt::format("{} must be a number in [{}, {}], got '{}'", a, lo, hi, v));
      return x;
    };
    if (a == "--seeds") o.seeds = static_cast<int>(number(1, 1000));
    else if (a == "--threads") o.threads = static_cast<int>(number(0, 1024));
    else if (a == "--remove") o.remove = number(0.01, 0.9);
    else if (a == "--out") o.out = value();
    else if (a == "--configs") o.configs = value();
    else if (a == "--command") o.command = value();
    else if (a == "--note") o.notes.push_back(value());
    else if (a == "--models") o.models = split_commas(value());
    else if (a == "--feature-norm") {
      o.feature_norm = value();
      if (o.feature_norm != "auto" && o.feature_norm != "none" && o.feature_norm != "row")
        usage_error("--feature-norm must be auto, none or row, got '" + o.feature_norm + "'");
    } else if (a == "-h" || a == "--help") usage_error("help");
    else if (a.rfind("--", 0) == 0) usage_error("unknown option " + a);
    else o.datasets.push_back(a);
  }
  if (o.datasets.empty()) usage_error("no DATASET given");
  if (o.models.empty()) usage_error("--models is empty");
  if (o.command.empty()) {  // this invocation, as typed
    o.command = argv[0];
    for (int i = 1; i < argc; ++i) o.command += std::string(" ") + argv[i];
  }
  return o;
}

// A fresh folder under the system's temp folder, removed (with everything in it) on scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "locus-inductive-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw InputError("cannot create a temp folder " + tmpl);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// The nodes to hold out: round(fraction * N) drawn uniformly among all nodes (partial
// Fisher-Yates) from an Rng keyed by the seed. removed[v] = 1 for a held-out node.
std::vector<char> draw_removed(int64_t n, double fraction, uint64_t seed) {
  Rng rng(splitmix64(seed ^ 0x1D5A6E1B0C7ull));  // not the training seed's own stream
  std::vector<int32_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const auto k = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  std::vector<char> removed(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < k; ++i) {
    const auto j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - i)));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
    removed[static_cast<size_t>(order[static_cast<size_t>(i)])] = 1;
  }
  return removed;
}

// The subgraph induced by the kept nodes (removed[v] == 0), numbered in their original order:
// the same feature rows, labels, edges among kept nodes, and the split restricted to them.
Dataset induced(const Dataset& ds, const std::vector<char>& removed, const std::string& name) {
  const auto n = ds.num_nodes;
  std::vector<int32_t> id(static_cast<size_t>(n), -1);
  int32_t kept = 0;
  for (int64_t v = 0; v < n; ++v)
    if (!removed[static_cast<size_t>(v)]) id[static_cast<size_t>(v)] = kept++;
  Dataset out;
  out.name = name;
  out.task = ds.task;
  out.directed = ds.directed;
  out.num_nodes = kept;
  for (size_t e = 0; e < ds.src.size(); ++e) {
    const int32_t a = id[static_cast<size_t>(ds.src[e])], b = id[static_cast<size_t>(ds.dst[e])];
    if (a < 0 || b < 0) continue;
    out.src.push_back(a), out.dst.push_back(b);
    if (!ds.weight.empty()) out.weight.push_back(ds.weight[e]);
  }
  out.num_input_edges = out.num_edges();
  std::vector<Eigen::Triplet<float, int32_t>> triplets;
  triplets.reserve(static_cast<size_t>(ds.features.nonZeros()));
  for (int64_t v = 0; v < n; ++v) {
    const int32_t r = id[static_cast<size_t>(v)];
    if (r < 0) continue;
    for (SpMat::InnerIterator it(ds.features, static_cast<Eigen::Index>(v)); it; ++it)
      triplets.emplace_back(r, static_cast<int32_t>(it.col()), it.value());
  }
  out.features = SpMat(kept, ds.features.cols());
  out.features.setFromTriplets(triplets.begin(), triplets.end());
  out.features_dense = ds.features_dense;
  if (!ds.labels.empty())
    for (int64_t v = 0; v < n; ++v)
      if (id[static_cast<size_t>(v)] >= 0) out.labels.push_back(ds.labels[static_cast<size_t>(v)]);
  out.num_classes = ds.num_classes;
  out.label_names = ds.label_names;
  if (!ds.node_names.empty())
    for (int64_t v = 0; v < n; ++v)
      if (id[static_cast<size_t>(v)] >= 0) out.node_names.push_back(ds.node_names[static_cast<size_t>(v)]);
  auto restrict = [&](const std::vector<int32_t>& from, std::vector<int32_t>& to) {
    for (const int32_t v : from)
      if (id[static_cast<size_t>(v)] >= 0) to.push_back(id[static_cast<size_t>(v)]);
  };
  restrict(ds.train, out.train), restrict(ds.val, out.val), restrict(ds.test, out.test);
  return out;
}

// Accuracy (%) of the argmax of `p.output` against p.labels over `nodes` (labelled ones only).
double accuracy(const Prediction& p, const std::vector<int32_t>& nodes) {
  int64_t right = 0, total = 0;
  for (const int32_t v : nodes) {
    const int32_t label = p.labels[static_cast<size_t>(v)];
    if (label < 0) continue;
    Eigen::Index best = 0;
    p.output.row(v).maxCoeff(&best);
    right += best == label;
    ++total;
  }
  return total ? 100.0 * static_cast<double>(right) / static_cast<double>(total) : NAN;
}

struct Stats {
  std::vector<double> v;
  void add(double x) { v.push_back(x); }
  double mean() const { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }
  double median() const { return bench::median(v); }
  double sd() const {  // population std, as TrainSummary's
    const double m = mean();
    double s = 0;
    for (const double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size()));
  }
  std::string pm() const { return fmt::format("{:.2f} ± {:.2f}", mean(), sd()); }
};

struct Row {
  std::string model;
  Stats trans_test, trans_removed_test, ind_removed_test, ind_removed_all, removed, removed_test, ms;
};

bool has_negative_feature(const Dataset& ds) {
  const float* v = ds.features.valuePtr();
  return std::any_of(v, v + ds.features.nonZeros(), [](float x) { return x < 0; });
}

ExperimentConfig model_config(const Options& o, const std::string& model, const std::string& dataset_override,
                              const std::string& feature_norm, uint64_t seed, const std::string& save_model) {
  const std::string yaml = (fs::path(o.configs) / ("cora_" + model + ".yaml")).string();
  std::vector<std::string> overrides = {dataset_override, "gnn.layer_type=" + model, "num_runs=1",
                                        "seed=" + std::to_string(seed), "num_threads=" + std::to_string(o.threads),
                                        "save_model=" + save_model};
  if (!feature_norm.empty()) overrides.push_back("dataset.feature_norm=" + feature_norm);
  return load_config(yaml, overrides);
}

}  // namespace

int main(int argc, char** argv) {
  configure_allocator();
  const Options o = parse(argc, argv);
  try {
    check_creatable(o.out, "--out");
    TempDir tmp;
    std::string md = "# Inductive accuracy of saved models (GraphSAGE's protocol)\n\n";
    md += fmt::format(
        "Reproduce: `{}`\n\n"
        "Per seed s = 0..{}: {:.0f} % of all nodes, drawn uniformly from s, are removed; the model (the "
        "hyper-parameters of apps/configs/cora_<model>.yaml, seed s, one run) trains on the subgraph the "
        "other nodes induce (their edges among themselves, the split restricted to them), is saved, "
        "loaded with Model::load and run with Model::predict on the whole graph. *Transductive*: the same "
        "model trained on the whole graph with seed s — its test accuracy, and its accuracy on the same "
        "removed test nodes. Mean ± population std over seeds; {} threads; ms: Model::load + predict on the "
        "whole graph (median over seeds).\n",
        o.command, o.seeds - 1, 100 * o.remove, o.threads);
    {
      std::ifstream f("/proc/loadavg");
      std::string l1;
      if (f >> l1) md += fmt::format("Load average (1 min) at the start: {}.\n", l1);
    }
    for (const std::string& note : o.notes) md += "\n" + note + "\n";
    for (const std::string& arg : o.datasets) {
      const DatasetArg where = resolve_dataset_arg(arg, "inductive_bench");
      DatasetOptions dopt;
      (where.builtin ? dopt.name : dopt.path) = where.path;
      const Dataset full = load_dataset(dopt);
      if (full.task != Task::NodeClassification || full.is_sentences())
        throw InputError(arg + ": inductive_bench needs a node-classification dataset on an edge list");
      if (full.num_features() == 0)
        throw InputError(arg + ": inductive_bench needs node features (a model trained on one-hot node ids, which "
                               "a dataset without features gets, labels only the graph it was trained on)");
      const std::string dataset_override = (where.builtin ? "dataset.name=" : "dataset.path=") + where.path;
      std::string norm = o.feature_norm == "auto" ? "" : o.feature_norm;
      const bool negative = has_negative_feature(full);
      if (o.feature_norm == "auto" && negative) norm = "none";
      std::vector<Row> rows;
      for (const std::string& model : o.models) {
        Row row;
        row.model = model;
        for (int s = 0; s < o.seeds; ++s) {
          const auto seed = static_cast<uint64_t>(s);
          const std::vector<char> removed = draw_removed(full.num_nodes, o.remove, seed);
          std::vector<int32_t> removed_all, removed_test;
          for (int64_t v = 0; v < full.num_nodes; ++v)
            if (removed[static_cast<size_t>(v)]) removed_all.push_back(static_cast<int32_t>(v));
          for (const int32_t v : full.test)
            if (removed[static_cast<size_t>(v)]) removed_test.push_back(v);

          // Inductive: train on the kept nodes' subgraph, predict on the whole graph.
          const fs::path dir = tmp.path / fmt::format("{}-{}-s{}", full.name, model, s);
          write_dataset(induced(full, removed, full.name + "-kept"), (dir / "data").string());
          const std::string model_file = (dir / "m.locus").string();
          const ExperimentConfig cfg = model_config(o, model, "dataset.path=" + (dir / "data" / "dataset.yaml").string(),
                                                    norm, seed, model_file);
          run_experiment(cfg);
          omp_set_num_threads(o.threads > 0 ? o.threads : omp_get_num_procs());
          Dataset copy = full;
          const auto t0 = Clock::now();
          const Prediction p = Model::load(model_file).predict(std::move(copy));
          row.ms.add(1e3 * seconds_since(t0));
          row.ind_removed_test.add(accuracy(p, removed_test));
          row.ind_removed_all.add(accuracy(p, removed_all));
          row.removed.add(static_cast<double>(removed_all.size()));
          row.removed_test.add(static_cast<double>(removed_test.size()));

          // Transductive: the whole graph, same seed.
          const std::string full_model = (dir / "full.locus").string();
          const TrainSummary t = run_experiment(model_config(o, model, dataset_override, norm, seed, full_model));
          row.trans_test.add(100 * t.runs.at(0).test_acc);
          omp_set_num_threads(o.threads > 0 ? o.threads : omp_get_num_procs());
          row.trans_removed_test.add(accuracy(Model::load(full_model).predict(full), removed_test));
          std::cerr << fmt::format("[inductive] {} {} seed {}: transductive test {:.2f}, inductive removed test {:.2f} "
                                   "(transductive {:.2f}), removed all {:.2f}\n",
                                   full.name, model, s, row.trans_test.v.back(), row.ind_removed_test.v.back(),
                                   row.trans_removed_test.v.back(), row.ind_removed_all.v.back());
          fs::remove_all(dir);
        }
        rows.push_back(std::move(row));
      }
      int64_t labelled = 0;
      for (const int32_t l : full.labels) labelled += l >= 0;
      md += fmt::format("\n## {}\n\n`{}`: ", full.name, arg);
      md += fmt::format("{} nodes, {} directed edges, {} features, {} classes, {} labelled; split {}/{}/{}; "
                        "dataset.feature_norm: {}.\n\n",
                        full.num_nodes, full.num_edges(), full.num_features(), full.num_classes, labelled,
                        full.train.size(), full.val.size(), full.test.size(),
                        norm.empty() ? "as the configs set it" : norm + (negative ? " (negative feature values)" : ""));
      md += "| model | transductive test acc % | transductive acc % on the removed test nodes | inductive acc % on "
            "removed test nodes | inductive acc % on all removed nodes | removed nodes (test) | ms load+predict |\n";
      md += "|---|---:|---:|---:|---:|---:|---:|\n";
      for (const Row& r : rows)
        md += fmt::format("| {} | {} | {} | {} | {} | {:.0f} ({:.0f}) | {:.1f} |\n", r.model, r.trans_test.pm(),
                          r.trans_removed_test.pm(), r.ind_removed_test.pm(), r.ind_removed_all.pm(), r.removed.mean(),
                          r.removed_test.mean(), r.ms.median());
    }
    write_file_atomic(o.out, md);
    std::cout << md;
    return 0;
  } catch (const InputError& e) {
    std::cerr << "inductive_bench: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "inductive_bench: internal error: " << e.what() << "\n";
    return 1;
  }
}
