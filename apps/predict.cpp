#include "apps/predict.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "apps/command_errors.hpp"
#include "apps/dataset_arg.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "core/text.hpp"
#include "train/model.hpp"

namespace locus {
namespace {

enum class Format { Csv, Tsv, JsonLines };

Format format_of(const std::string& out) {
  const std::string ext = std::filesystem::path(out).extension().string();
  if (out.empty() || ext == ".csv") return Format::Csv;
  if (ext == ".tsv") return Format::Tsv;
  if (ext == ".jsonl" || ext == ".json") return Format::JsonLines;
  throw_input_error(out, 0, "predict: --out must end in .csv, .tsv or .jsonl, got", ext.empty() ? out : ext,
                    "name the file e.g. predictions.csv");
}

// A CSV / TSV field, quoted when it holds the separator, a quote or a line break.
std::string field(const std::string& s, char sep) {
  if (s.find_first_of(std::string(1, sep) + "\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// --nodes FILE: one id per line as the dataset names its nodes; blank lines and #-comments skipped.
std::vector<int32_t> read_node_list(const std::string& path, const Dataset& ds) {
  std::ifstream in(path);
  if (!in) throw_input_error(path, 0, "predict: cannot read the --nodes file", path, "check that it exists and its permissions");
  std::unordered_map<std::string, int32_t> index;
  for (size_t v = 0; v < ds.node_names.size(); ++v) index.emplace(ds.node_names[v], static_cast<int32_t>(v));
  std::vector<int32_t> out;
  std::string line;
  for (long no = 1; std::getline(in, line); ++no) {
    const std::string id = trim(line.substr(0, line.find('#')));
    if (id.empty()) continue;
    int64_t v = -1;
    if (!ds.node_names.empty()) {
      if (const auto it = index.find(id); it != index.end()) v = it->second;
    } else if (id.find_first_not_of("0123456789") == std::string::npos && id.size() < 19) {
      v = std::stoll(id);
    }
    if (v < 0 || v >= ds.num_nodes)
      throw_input_error(path, no, "node id not in the dataset " + ds.name + ":", id,
                        ds.node_names.empty() ? fmt::format("ids are node indices 0..{}", ds.num_nodes - 1)
                                              : "list ids as the dataset's node files name them");
    out.push_back(static_cast<int32_t>(v));
  }
  return out;
}

std::vector<int32_t> chosen_nodes(const PredictOptions& opt, const Dataset& ds) {
  if (!opt.nodes.empty()) return read_node_list(opt.nodes, ds);
  if (opt.split == "train") return ds.train;
  if (opt.split == "val") return ds.val;
  if (opt.split == "test") return ds.test;
  std::vector<int32_t> all(static_cast<size_t>(ds.num_nodes));
  for (int32_t v = 0; v < static_cast<int32_t>(all.size()); ++v) all[v] = v;
  return all;
}

}  // namespace

void run_predict(const PredictOptions& opt, std::ostream& report) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  if (!opt.out.empty() && std::filesystem::is_directory(opt.out))
    throw_input_error(opt.out, 0, "predict: --out names a folder, not a file:", opt.out,
                      "give a file path, e.g. " + (std::filesystem::path(opt.out) / "predictions.csv").string());
  const Format format = format_of(opt.out);
  if (!opt.out.empty()) check_creatable(opt.out, "--out file");
  const Model model = Model::load(opt.model);
  Dataset ds = load_dataset_arg(resolve_dataset_arg(opt.dataset, "predict"));
  if (model.task() != Task::NodeClassification && !opt.out.empty())
    throw_input_error(opt.model, 0, std::string("predict: the model scores node pairs (") + task_name(model.task()) +
                                        "); --out writes class predictions of node-classification models:",
                      opt.out, "drop --out to print the pair ROC AUC");
  const std::vector<int32_t> nodes = chosen_nodes(opt, ds);
  const std::vector<std::string> names = ds.node_names;
  const std::string dataset_name = ds.name;
  const Prediction p = model.predict(std::move(ds));
  const auto t1 = Clock::now();

  report << fmt::format("locus predict: {} ({}, trained on {}, run {}, epoch {}) on {}{}\n", opt.model, model.model_name(),
                        model.dataset_name(), model.run_index() + 1, model.best_epoch(), dataset_name,
                        p.same_data ? " (the training data)" : "");
  const std::string metric = model.task() == Task::NodeClassification ? "accuracy" : "ROC AUC";
  report << fmt::format("{} on the dataset's splits: train {}, val {}, test {} %\n", metric,
                        percent(p.scores.train, "—"), percent(p.scores.val, "—"), percent(p.scores.test, "—"));
  if (p.unknown_labels > 0)
    report << fmt::format("note: {} labelled nodes have a class the model does not know; they count in no score\n",
                          p.unknown_labels);
  if (model.task() != Task::NodeClassification) return;

  // One row per chosen node; accuracy over those with a known label.
  const auto& classes = model.classes();
  const char sep = format == Format::Tsv ? '\t' : ',';
  const bool has_labels = std::any_of(p.labels.begin(), p.labels.end(), [](int32_t l) { return l >= 0; });
  std::string text;
  if (format != Format::JsonLines) {
    text = "node" + std::string(1, sep) + "predicted";
    for (const auto& c : classes) text += sep + field("p_" + c, sep);
    if (has_labels) text += sep + std::string("label");
    text += '\n';
  }
  int64_t labelled = 0, correct = 0;
  for (int32_t v : nodes) {
    Eigen::Index arg = 0;
    p.output.row(v).maxCoeff(&arg);
    const std::string id = names.empty() ? std::to_string(v) : names[v];
    const int32_t label = p.labels[v];
    if (label >= 0) ++labelled, correct += arg == label;
    if (format == Format::JsonLines) {
      nlohmann::ordered_json row;
      row["node"] = id;
      row["predicted"] = classes[arg];
      nlohmann::ordered_json prob;
      for (size_t c = 0; c < classes.size(); ++c) prob[classes[c]] = p.output(v, static_cast<Eigen::Index>(c));
      row["probabilities"] = prob;
      if (has_labels) row["label"] = label >= 0 ? nlohmann::ordered_json(classes[label]) : nlohmann::ordered_json();
      text += row.dump() + "\n";
      continue;
    }
    text += field(id, sep) + sep + field(classes[arg], sep);
    for (size_t c = 0; c < classes.size(); ++c) text += sep + fmt::format("{:.9g}", p.output(v, static_cast<Eigen::Index>(c)));
    if (has_labels) text += sep + (label >= 0 ? field(classes[label], sep) : std::string());
    text += '\n';
  }
  if (opt.out.empty()) {
    std::cout << text << std::flush;
  } else {
    write_file_atomic(opt.out, text);
  }
  const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  report << fmt::format("{} nodes{}{}; load and predict {:.1f} ms\n", nodes.size(),
                        labelled > 0 ? fmt::format(", accuracy {:.2f} % over the {} with a label", 100.0 * correct / labelled, labelled)
                                     : std::string(),
                        opt.out.empty() ? "" : " written to " + opt.out, ms);
}

void add_predict_command(CLI::App& app) {
  auto opts = std::make_shared<PredictOptions>();
  CLI::App* c = app.add_subcommand("predict", "Label a dataset's nodes with a trained model (locus train save_model=PATH)");
  c->add_option("model", opts->model, "a model file written by locus train save_model=PATH")->required()->type_name("MODEL");
  c->add_option("dataset", opts->dataset, "a dataset.yaml (or its folder) or a built-in dataset name")
      ->required()
      ->type_name("DATASET");
  auto* split = c->add_option("--split", opts->split, "the nodes to write: all (default), train, val or test")
                    ->check(CLI::IsMember({"all", "train", "val", "test"}));
  c->add_option("--nodes", opts->nodes, "a file of node ids (one per line, as the dataset names them) to write instead")
      ->type_name("FILE")
      ->excludes(split);
  c->add_option("--out", opts->out, "write here (.csv, .tsv or .jsonl; appears only when complete); default: CSV on stdout")
      ->type_name("FILE");
  c->callback([opts] { run_reporting_errors([&] { run_predict(*opts, std::cerr); }); });
}

}  // namespace locus
