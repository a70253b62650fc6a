// `locus compare`: trains several model variants on the same dataset, splits and seeds and
// prints one table of mean ± std test accuracy per variant with its time per epoch; optional
// JSON, CSV and a gnuplot bar chart with error bars.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "apps/config.hpp"  // variant names: variant_overrides (train/config.hpp)
#include "apps/train.hpp"

namespace locus {

struct VariantResult {
  std::string variant;
  TrainSummary summary;
};

// Loads `config_path` with `overrides` once per variant of compare.variants (the variant's own
// overrides applied last) and trains it. `log` gets each variant's header and progress.
std::vector<VariantResult> run_compare(const std::string& config_path, const std::vector<std::string>& overrides,
                                       std::ostream& log, bool progress);

// variant | test accuracy % (mean ± std) | val % | ms/epoch | params
void print_compare(const std::vector<VariantResult>& results, std::ostream& out);
// Atomic writes. JSON: {"variants": [{variant, dataset, model, metric (acc | auc), num_runs,
// test_acc_mean, test_acc_std, val_acc_mean, epoch_ms_median, num_params, runs: [{seed,
// best_epoch, val_acc, test_acc}]}]} (the *_acc fields hold the metric);
// CSV: variant,test_acc_mean,test_acc_std,val_acc_mean,epoch_ms_median,num_params.
void write_compare_json(const std::vector<VariantResult>& results, const std::string& path);
void write_compare_csv(const std::vector<VariantResult>& results, const std::string& path);
// A PNG bar chart (mean test accuracy, std error bars) drawn by gnuplot (Debian gnuplot-nox).
void write_compare_plot(const std::vector<VariantResult>& results, const std::string& title, const std::string& path);
// The gnuplot script write_compare_plot runs: a bar per variant with its std, the y axis named by
// the metric ("test accuracy" or "test ROC AUC"), drawing `data` into `png`.
std::string compare_plot_script(const std::vector<VariantResult>& results, const std::string& title,
                                const std::string& png, const std::string& data);

}  // namespace locus
