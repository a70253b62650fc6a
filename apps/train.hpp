// `locus train`: the experiment of a config (train/experiment.hpp) with one updating progress
// line on a terminal (or a line per run), per-epoch metric CSVs in out_dir, SIGINT / SIGTERM
// stopping at the end of the current epoch, the table of runs, and the JSON report.
#pragma once
#include <iosfwd>
#include <string>

#include "apps/config.hpp"
#include "train/experiment.hpp"

namespace locus {

// Runs every seed. `log` receives the header and progress; `progress` selects one updating line
// (a terminal) instead of one line per run. Errors about a config key name where it was set.
TrainSummary run_training(const ExperimentConfig& cfg, std::ostream& log, bool progress);

// The table of runs and the one-line result (test metric mean ± std, ms per epoch, peak RSS).
void print_summary(const TrainSummary& s, std::ostream& out);

// The JSON report (see docs/cli.md for the keys), written atomically to `path`.
void write_summary_json(const TrainSummary& s, const ExperimentConfig& cfg, const std::string& path);

}  // namespace locus
