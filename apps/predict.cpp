#include "apps/predict.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "apps/command_errors.hpp"
#include "apps/dataset_arg.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "core/text.hpp"
#include "train/experiment.hpp"
#include "train/model.hpp"
#include "train/pair_ranking.hpp"

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

// Node ids as the dataset names them (names with `ids: name`, else indices) → node indices.
class NodeIds {
 public:
  explicit NodeIds(const Dataset& ds) : ds_(ds) {
    for (size_t v = 0; v < ds.node_names.size(); ++v) index_.emplace(ds.node_names[v], static_cast<int32_t>(v));
  }
  int32_t resolve(const std::string& id, const std::string& path, long line) const {
    int64_t v = -1;
    if (!ds_.node_names.empty()) {
      if (const auto it = index_.find(id); it != index_.end()) v = it->second;
    } else if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos && id.size() < 19) {
      v = std::stoll(id);
    }
    if (v < 0 || v >= ds_.num_nodes)
      throw_input_error(path, line, "node id not in the dataset " + ds_.name + ":", id,
                        ds_.node_names.empty() ? fmt::format("ids are node indices 0..{}", ds_.num_nodes - 1)
                                               : "list ids as the dataset's node files name them");
    return static_cast<int32_t>(v);
  }

 private:
  const Dataset& ds_;
  std::unordered_map<std::string, int32_t> index_;
};

// Calls f(tokens, line number) for each line of `path` with its #-comment cut and blank lines skipped.
template <class F>
void for_each_line(const std::string& path, const std::string& what, F&& f) {
  std::ifstream in(path);
  if (!in) throw_input_error(path, 0, "predict: cannot read the " + what + " file", path, "check that it exists and its permissions");
  std::string line;
  for (long no = 1; std::getline(in, line); ++no) {
    std::istringstream tokens(line.substr(0, line.find('#')));
    std::vector<std::string> t;
    for (std::string w; tokens >> w;) t.push_back(w);
    if (!t.empty()) f(t, no);
  }
}

// --nodes / --for FILE: one id per line.
std::vector<int32_t> read_node_list(const std::string& path, const std::string& what, const Dataset& ds) {
  const NodeIds ids(ds);
  std::vector<int32_t> out;
  for_each_line(path, what, [&](const std::vector<std::string>& t, long no) {
    if (t.size() != 1)
      throw_input_error(path, no, "predict: expected one node id per line, got", t[0] + " " + t[1], "write one id per line");
    out.push_back(ids.resolve(t[0], path, no));
  });
  return out;
}

// --pairs FILE: "u v" per line.
std::pair<std::vector<int32_t>, std::vector<int32_t>> read_pairs(const std::string& path, const Dataset& ds) {
  const NodeIds ids(ds);
  std::vector<int32_t> u, v;
  for_each_line(path, "--pairs", [&](const std::vector<std::string>& t, long no) {
    if (t.size() != 2)
      throw_input_error(path, no, fmt::format("predict: expected two node ids per line, got {}:", t.size()), t[0],
                        "write one pair per line, e.g. 12 345");
    u.push_back(ids.resolve(t[0], path, no));
    v.push_back(ids.resolve(t[1], path, no));
  });
  return {u, v};
}

double sigmoid(float x) { return 1.0 / (1.0 + std::exp(-static_cast<double>(x))); }

// One output table, appended row by row (no table of strings is kept): CSV / TSV with a header
// line and fields quoted as needed, or JSON lines, an object per row where numeric cells are
// numbers, a column with a group nests as "group": {"key": value}, and an empty cell of a
// nullable column is null.
struct Column {
  Column(std::string name, bool numeric = false, bool nullable = false, std::string group = {}, std::string key = {})
      : name(std::move(name)), numeric(numeric), nullable(nullable), group(std::move(group)), key(std::move(key)) {}
  std::string name;  // the CSV / TSV header, and the JSON key outside a group
  bool numeric, nullable;
  std::string group, key;
};

class TableWriter {
 public:
  TableWriter(std::vector<Column> columns, Format format)
      : columns_(std::move(columns)), format_(format), sep_(format == Format::Tsv ? '\t' : ',') {
    if (format_ == Format::JsonLines) return;
    for (size_t c = 0; c < columns_.size(); ++c) text_ += (c ? std::string(1, sep_) : "") + field(columns_[c].name, sep_);
    text_ += '\n';
  }
  void row(const std::vector<std::string>& cells) {
    ++rows_;
    if (format_ == Format::JsonLines) {
      nlohmann::ordered_json j;
      for (size_t c = 0; c < columns_.size(); ++c) {
        const Column& col = columns_[c];
        const nlohmann::ordered_json value = col.nullable && cells[c].empty() ? nlohmann::ordered_json()
                                             : col.numeric                    ? nlohmann::ordered_json(std::stod(cells[c]))
                                                                              : nlohmann::ordered_json(cells[c]);
        if (col.group.empty()) j[col.name] = value;
        else j[col.group][col.key] = value;
      }
      text_ += j.dump() + "\n";
      return;
    }
    for (size_t c = 0; c < cells.size(); ++c) text_ += (c ? std::string(1, sep_) : "") + field(cells[c], sep_);
    text_ += '\n';
  }
  int64_t rows() const { return rows_; }
  const std::string& text() const { return text_; }

 private:
  std::vector<Column> columns_;
  Format format_;
  char sep_;
  std::string text_;
  int64_t rows_ = 0;
};

std::vector<int32_t> chosen_nodes(const PredictOptions& opt, const Dataset& ds) {
  if (!opt.nodes.empty()) return read_node_list(opt.nodes, "--nodes", ds);
  if (opt.split == "train") return ds.train;
  if (opt.split == "val") return ds.val;
  if (opt.split == "test") return ds.test;
  std::vector<int32_t> all(static_cast<size_t>(ds.num_nodes));
  for (int32_t v = 0; v < static_cast<int32_t>(all.size()); ++v) all[v] = v;
  return all;
}

// Graph models: the graphs of --split (all by default), in id order.
std::vector<int32_t> chosen_graphs(const PredictOptions& opt, const Dataset& ds) {
  std::vector<int32_t> graphs = opt.split == "train" ? ds.train_graphs : opt.split == "val" ? ds.val_graphs
                              : opt.split == "test"  ? ds.test_graphs  : std::vector<int32_t>(static_cast<size_t>(ds.num_graphs));
  if (opt.split == "all") std::iota(graphs.begin(), graphs.end(), 0);
  std::sort(graphs.begin(), graphs.end());
  return graphs;
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
  const std::string emb_ext = std::filesystem::path(opt.embeddings).extension().string();
  if (!opt.embeddings.empty()) {
    if (emb_ext != ".tsv" && emb_ext != ".npy")
      throw_input_error(opt.embeddings, 0, "predict: --embeddings must end in .tsv or .npy, got",
                        emb_ext.empty() ? opt.embeddings : emb_ext, "name the file e.g. embeddings.npy");
    if (std::filesystem::is_directory(opt.embeddings))
      throw_input_error(opt.embeddings, 0, "predict: --embeddings names a folder, not a file:", opt.embeddings,
                        "give a file path, e.g. " + (std::filesystem::path(opt.embeddings) / "embeddings.npy").string());
    check_creatable(opt.embeddings, "--embeddings file");
  }
  // Progress: one line, rewritten in place; a ranking updates it at most every 0.2 s.
  auto last_stage = Clock::now();
  const auto stage = [&](const std::string& text) {
    if (!opt.progress) return;
    report << "\r\033[K" << text << std::flush;
    last_stage = Clock::now();
  };
  const auto clear_stage = [&] {
    if (opt.progress) report << "\r\033[K" << std::flush;
  };
  stage("loading " + opt.model + " and " + opt.dataset + " ...");
  const Model model = Model::load(opt.model);
  Dataset ds = load_dataset_arg(resolve_dataset_arg(opt.dataset, "predict"));
  const bool pair_model = is_pair_task(model.task());
  const bool graph_model = is_graph_task(model.task());
  if (graph_model && (!opt.nodes.empty() || !opt.embeddings.empty()))
    throw_input_error(opt.model, 0, std::string("predict: the model predicts per graph (") + task_name(model.task()) +
                                        "); node options do not apply:",
                      opt.nodes.empty() ? "--embeddings" : "--nodes", "drop it; --split chooses the graphs to write");
  const bool pair_output = !opt.pairs.empty() || opt.top_k > 0;
  if (pair_model && !opt.out.empty() && !pair_output)
    throw_input_error(opt.model, 0, std::string("predict: the model scores node pairs (") + task_name(model.task()) +
                                        "); --out writes what --pairs or --top-k ask for, and neither is given:",
                      opt.out, "add --pairs FILE or --top-k K, or drop --out to print the pair metrics");
  if (!pair_model && pair_output)
    throw_input_error(opt.model, 0, std::string("predict: --pairs and --top-k need a pair model (link_prediction or "
                                                "pair_classification); this one is ") + task_name(model.task()) + ":",
                      opt.pairs.empty() ? "--top-k" : "--pairs", "drop them, or give a model trained with dataset.task=link_prediction");
  const std::vector<int32_t> nodes = graph_model             ? std::vector<int32_t>{}
                                     : !opt.for_nodes.empty() ? read_node_list(opt.for_nodes, "--for", ds)
                                                              : chosen_nodes(opt, ds);
  const std::vector<int32_t> graphs = graph_model ? chosen_graphs(opt, ds) : std::vector<int32_t>{};
  std::vector<int32_t> pair_u, pair_v;
  if (!opt.pairs.empty()) std::tie(pair_u, pair_v) = read_pairs(opt.pairs, ds);
  const Csr known = pair_model ? Csr::from_edges(ds.num_nodes, ds.src, ds.dst) : Csr();
  const std::vector<std::string> names = ds.node_names;
  // A node id as the dataset names it.
  const auto id = [&](int32_t v) { return names.empty() ? std::to_string(v) : names[v]; };
  const std::string dataset_name = ds.name;
  const auto t_loaded = Clock::now();
  stage(fmt::format("running the model on {} nodes ...", ds.num_nodes));
  const Prediction p = model.predict(std::move(ds), !opt.embeddings.empty());
  const auto t1 = Clock::now();
  clear_stage();

  report << fmt::format("locus predict: {} ({}, trained on {}, run {}, epoch {}) on {}{}\n", opt.model, model.model_name(),
                        model.dataset_name(), model.run_index() + 1, model.best_epoch(), dataset_name,
                        p.same_data ? " (the training data)" : "");
  const MetricInfo& metric = metric_info(model.metric());
  report << fmt::format("{} on the dataset's splits: train {}, val {}, test {}{}\n", metric.title,
                        metric.show(p.scores.train, "—"), metric.show(p.scores.val, "—"), metric.show(p.scores.test, "—"),
                        metric.unit());
  if (p.unknown_labels > 0)
    report << fmt::format("note: {} labelled {} have a class the model does not know; they count in no score\n",
                          p.unknown_labels, graph_model ? "graphs" : "nodes");
  if (!opt.embeddings.empty()) {
    // Rows in the chosen nodes' order (as the predictions file); .npy holds the values alone.
    const Eigen::Index width = p.embeddings.cols();
    if (emb_ext == ".npy") {
      std::vector<float> rows(nodes.size() * static_cast<size_t>(width));
      for (size_t i = 0; i < nodes.size(); ++i)
        for (Eigen::Index j = 0; j < width; ++j) rows[i * width + j] = p.embeddings(nodes[i], j);
      write_file_atomic(opt.embeddings, npy_float32(rows.data(), static_cast<int64_t>(nodes.size()), width));
    } else {
      std::string text = "node";
      for (Eigen::Index j = 0; j < width; ++j) text += "\th" + std::to_string(j);
      text += '\n';
      for (int32_t v : nodes) {
        text += field(id(v), '\t');
        for (Eigen::Index j = 0; j < width; ++j) text += fmt::format("\t{:.9g}", p.embeddings(v, j));
        text += '\n';
      }
      write_file_atomic(opt.embeddings, text);
    }
    report << fmt::format("{} embeddings of width {} written to {}\n", nodes.size(), width, opt.embeddings);
  }
  if (pair_model) {
    if (p.test_pairs.num_positive() > 0) {
      const RankingScores r = ranking_scores(p.output, p.test_pairs, known);
      report << fmt::format("test pairs ({} positive): Hits@{} {:.2f} %, Hits@{} {:.2f} %, MRR {:.4f} (filtered, all "
                            "non-neighbours as candidates)\n",
                            r.positives, r.ks[0], 100 * r.hits[0], r.ks[1], 100 * r.hits[1], r.mrr);
    }
    const auto t2 = Clock::now();
    const bool scoring = !opt.pairs.empty();
    TableWriter table(scoring ? std::vector<Column>{{"u"}, {"v"}, {"probability", true}}
                              : std::vector<Column>{{"node"}, {"rank", true}, {"partner"}, {"probability", true}},
                      format);
    if (scoring) {
      const std::vector<float> logits = pair_logits(p.output, pair_u, pair_v);
      for (size_t i = 0; i < logits.size(); ++i)
        table.row({id(pair_u[i]), id(pair_v[i]), fmt::format("{:.9g}", sigmoid(logits[i]))});
    } else if (opt.top_k > 0) {
      const TopK top = top_k_partners(p.output, nodes, opt.top_k, known, [&](int64_t done, int64_t total) {
        if (done == total || Clock::now() - last_stage > std::chrono::milliseconds(200))
          stage(fmt::format("ranking partners: {} of {} nodes ...", done, total));
      });
      clear_stage();
      for (size_t q = 0; q < nodes.size(); ++q)
        for (int j = 0; j < top.k && top.partner[q * top.k + j] >= 0; ++j)
          table.row({id(nodes[q]), std::to_string(j + 1), id(top.partner[q * top.k + j]),
                     fmt::format("{:.9g}", sigmoid(top.score[q * top.k + j]))});
    }
    const double rank_ms = std::chrono::duration<double, std::milli>(Clock::now() - t2).count();
    if (!pair_output) return;
    if (opt.out.empty()) std::cout << table.text() << std::flush;
    else {
      stage("writing " + opt.out + " ...");
      write_file_atomic(opt.out, table.text());
      clear_stage();
    }
    report << fmt::format("{} rows{}; {} {:.1f} ms; peak RSS {:.1f} MiB\n", table.rows(),
                          opt.out.empty() ? "" : " written to " + opt.out,
                          scoring ? "scoring" : fmt::format("top-{} of {} nodes", opt.top_k, nodes.size()), rank_ms,
                          peak_rss_mib());
    return;
  }

  // One row per chosen node (graph models: per chosen graph); accuracy over those with a known label.
  const std::vector<int32_t>& rows = graph_model ? graphs : nodes;
  const std::string what = graph_model ? "graph" : "node";
  if (!opt.out.empty()) stage(fmt::format("writing {} rows to {} ...", rows.size(), opt.out));
  const auto& classes = model.classes();
  const bool regression = model.task() == Task::GraphRegression;  // the predicted targets y1..yt
  const bool has_labels = std::any_of(p.labels.begin(), p.labels.end(), [](int32_t l) { return l >= 0; });
  std::vector<Column> columns{{what}};
  if (!regression) columns.push_back({"predicted"});
  for (const auto& c : classes)
    columns.push_back(regression ? Column{c, true} : Column{"p_" + c, true, false, "probabilities", c});
  if (has_labels) columns.push_back({"label", false, true});
  TableWriter table(std::move(columns), format);
  std::vector<std::string> cells;
  int64_t labelled = 0, correct = 0;
  for (int32_t r : rows) {
    cells = {graph_model ? std::to_string(r) : id(r)};
    Eigen::Index arg = 0;
    if (!regression) {
      p.output.row(r).maxCoeff(&arg);
      cells.push_back(classes[arg]);
    }
    for (size_t c = 0; c < classes.size(); ++c) cells.push_back(fmt::format("{:.9g}", p.output(r, static_cast<Eigen::Index>(c))));
    if (has_labels) {
      const int32_t label = p.labels[r];
      if (label >= 0) ++labelled, correct += arg == label;
      cells.push_back(label >= 0 ? classes[label] : std::string());
    }
    table.row(cells);
  }
  clear_stage();
  if (opt.out.empty()) {
    std::cout << table.text() << std::flush;
  } else {
    write_file_atomic(opt.out, table.text());
  }
  const auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  report << fmt::format(
      "{} {}s{}{}; load and predict {:.1f} ms (model and dataset {:.1f}, model run {:.1f}); peak RSS {:.1f} MiB\n",
      rows.size(), what,
      labelled > 0 ? fmt::format(", accuracy {:.2f} % over the {} with a label", 100.0 * correct / labelled, labelled)
                   : std::string(),
      opt.out.empty() ? "" : " written to " + opt.out, ms(t0, t1), ms(t0, t_loaded), ms(t_loaded, t1), peak_rss_mib());
}

void add_predict_command(CLI::App& app) {
  auto opts = std::make_shared<PredictOptions>();
  CLI::App* c = app.add_subcommand("predict", "Label a dataset's nodes (or graphs) with a trained model (locus train save_model=PATH)");
  c->add_option("model", opts->model, "a model file written by locus train save_model=PATH")->required()->type_name("MODEL");
  c->add_option("dataset", opts->dataset, "a dataset.yaml (or its folder) or a built-in dataset name")
      ->required()
      ->type_name("DATASET");
  auto* split = c->add_option("--split", opts->split, "the nodes (graph models: graphs) to write: all (default), train, val or test")
                    ->check(CLI::IsMember({"all", "train", "val", "test"}));
  c->add_option("--nodes", opts->nodes, "a file of node ids (one per line, as the dataset names them) to write instead")
      ->type_name("FILE")
      ->excludes(split);
  c->add_option("--out", opts->out, "write here (.csv, .tsv or .jsonl; appears only when complete); default: CSV on stdout")
      ->type_name("FILE");
  c->add_option("--pairs", opts->pairs, "pair models: score the node pairs of FILE (\"u v\" per line)")->type_name("FILE");
  c->add_option("--top-k", opts->top_k, "pair models: each chosen node's K most likely new partners (existing edges excluded)")
      ->type_name("K")
      ->check(CLI::PositiveNumber);
  c->add_option("--for", opts->for_nodes, "with --top-k: the query nodes, one id per line (default: --split / --nodes)")
      ->type_name("FILE");
  c->add_option("--embeddings", opts->embeddings,
                "also write each chosen node's last hidden representation: .tsv (with node ids) or .npy (float32)")
      ->type_name("FILE");
  c->callback([opts] {
    opts->progress = isatty(STDERR_FILENO) != 0;
    run_reporting_errors([&] { run_predict(*opts, std::cerr); });
  });
}

}  // namespace locus
