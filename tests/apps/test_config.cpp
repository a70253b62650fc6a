// Tests of apps/config: defaults, every key from a file and from overrides, override order,
// path resolution, and the InputErrors for bad files, keys, types, ranges and overrides.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "apps/config.hpp"
#include "core/yaml_input.hpp"
#include "datasets/loader.hpp"
#include "layers/registry.hpp"
#include "core/error.hpp"
#include "tests/testing/paths.hpp"
#include "tests/testing/temp_dir.hpp"

namespace fs = std::filesystem;
using locus::ExperimentConfig;
using locus::load_config;
using locus::InputError;

namespace {

using locus::testing::TempDir;

// The InputError message of `f`; fails the test when `f` throws nothing.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const locus::InputError& e) {
    return e.what();
  }
  FAIL("expected an InputError");
  return {};
}

std::string file_error(const TempDir& dir, const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  const std::string path = dir.write("bad.yaml", yaml);
  return error_of([&] { load_config(path, overrides); });
}

std::string override_error(const std::vector<std::string>& overrides) {
  return error_of([&] { load_config("", overrides); });
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Asserts the message has the form "file:line: ... 'token'. ... fix ...".
void check_message(const std::string& msg, const std::string& file, long line, const std::string& token,
                   const std::string& fix) {
  INFO("message: " << msg);
  const std::string place = line > 0 ? file + ":" + std::to_string(line) + ": " : file + ": ";
  CHECK(msg.rfind(place, 0) == 0);
  CHECK(contains(msg, "'" + token + "'"));
  CHECK(contains(msg, fix));
}

}  // namespace

TEST_CASE("config: config_keys lists every dotted key once") {
  const auto& keys = locus::config_keys();
  CHECK(keys.size() == locus::config_schema().size());
  CHECK(std::set<std::string>(keys.begin(), keys.end()).size() == keys.size());
  for (const char* k : {"dataset.path", "dataset.name", "dataset.feature_norm", "gnn.layer_type", "gnn.layers_mp",
                        "gnn.dim_inner", "gnn.act", "gnn.dropout", "gnn.att_heads", "gnn.att_heads_out",
                        "gnn.att_dropout", "gnn.att_value_dropout", "gnn.norm", "gnn.pre_norm", "gnn.att_clamp", "optim.optimizer", "optim.base_lr",
                        "optim.weight_decay", "optim.weight_decay_on", "optim.max_epoch", "train.patience", "train.select", "seed",
                        "num_runs", "num_threads", "out_dir", "gnn.att_norm", "gnn.position_features", "gnn.anchors", "gnn.gir_hops",
                        "gnn.gir_aggregate", "gnn.gir_update", "posenc_LapPE.enable",
                        "posenc_LapPE.dim_pe", "posenc_LapPE.eigen.max_freqs", "posenc_RWSE.enable",
                        "posenc_RWSE.dim_pe", "posenc_RWSE.kernel.times", "posenc_Anchor.enable",
                        "posenc_Anchor.dim_pe", "posenc_Anchor.cutoff", "posenc_SPD.enable", "posenc_SPD.max_dist",
                        "posenc_seq.kind", "posenc_seq.dim_pe", "posenc_seq.max_len", "posenc_seq.buckets",
                        "posenc_seq.max_distance", "optim.clip_grad_norm", "train.ckpt_period", "train.auto_resume",
                        "train.memory_limit_mib"})
    CHECK(std::find(keys.begin(), keys.end(), k) != keys.end());
}

TEST_CASE("config: describe_config gives every key's value, as an override would set it") {
  const auto cfg = locus::load_config("", {"dataset.name=karate", "gnn.dropout=0.25", "optim.clip_grad_norm=2",
                                           "out_dir=/tmp/x", "train.ckpt_period=5", "compare.variants=gcn,gat"});
  const auto lines = locus::describe_config(cfg);
  const auto& keys = locus::config_keys();
  REQUIRE(lines.size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) CHECK(lines[i].rfind(keys[i] + "=", 0) == 0);
  for (const char* want : {"dataset.name=karate", "gnn.dropout=0.25", "optim.clip_grad_norm=2", "train.ckpt_period=5",
                           "train.auto_resume=false", "compare.variants=gcn,gat", "gnn.layer_type=gcn", "seed=0"})
    CHECK(std::find(lines.begin(), lines.end(), want) != lines.end());
  // Read back as overrides, the lines give the same description.
  std::vector<std::string> overrides;
  for (const auto& l : lines)
    if (l.rfind("dataset.path=", 0) != 0) overrides.push_back(l);  // empty path: name is set
  CHECK(locus::describe_config(locus::load_config("", overrides)) == lines);
}

TEST_CASE("config: checkpoint keys need out_dir") {
  auto msg = [](std::vector<std::string> o) {
    try {
      locus::load_config("", o);
    } catch (const locus::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(msg({"dataset.name=karate", "train.ckpt_period=3"}) ==
        "command line: out_dir is not set, but the checkpoint it holds (out_dir/checkpoint.bin) is needed by "
        "'train.ckpt_period'. set out_dir=path/to/run_dir, or drop train.ckpt_period");
  CHECK(msg({"dataset.name=karate", "train.auto_resume=true"}).find("is needed by 'train.auto_resume'") != std::string::npos);
  CHECK(msg({"dataset.name=karate", "train.auto_resume=true", "out_dir=/tmp/r"}) == "no error");
}

TEST_CASE("config: positional-encoding keys, nested sections as in GraphGPS") {
  TempDir dir;
  const std::string path = dir.write("pe.yaml",
                                     "dataset:\n  name: karate\nposenc_LapPE:\n  enable: true\n  dim_pe: 4\n"
                                     "  eigen:\n    max_freqs: 6\nposenc_RWSE:\n  enable: true\n  kernel:\n"
                                     "    times: 12\nposenc_Anchor:\n  enable: true\n  cutoff: 2\n"
                                     "posenc_seq:\n  kind: rope\ngnn:\n  att_norm: l2\n  layer_type: transformer\n");
  const ExperimentConfig c = load_config(path, {"posenc_SPD.enable=true", "posenc_SPD.max_dist=3"});
  CHECK(c.gnn.posenc.lap);
  CHECK(c.gnn.posenc.lap_dim == 4);
  CHECK(c.gnn.posenc.lap_freqs == 6);
  CHECK(c.gnn.posenc.rwse);
  CHECK(c.gnn.posenc.rwse_steps == 12);
  CHECK(c.gnn.posenc.anchor);
  CHECK(c.gnn.posenc.anchor_cutoff == 2);
  CHECK(c.gnn.posenc.spd);
  CHECK(c.gnn.posenc.spd_max_dist == 3);
  CHECK(c.gnn.posenc.seq == "rope");
  CHECK(c.gnn.att_norm == "l2");
  // Errors name the key, the token and the fix.
  CHECK_THROWS_WITH_AS(load_config("", {"dataset.name=karate", "posenc_seq.kind=alibi"}),
                       doctest::Contains("none, sinusoidal, learned, rope, fourier, cape, t5_bias, fft_kernel"), InputError);
  CHECK_THROWS_WITH_AS(load_config("", {"dataset.name=karate", "posenc_Anchor.cutoff=-2"}),
                       doctest::Contains("must be >= -1"), InputError);
  CHECK_THROWS_WITH_AS(load_config("", {"dataset.name=karate", "posenc_LapPE.eigen.max_freq=4"}),
                       doctest::Contains("did you mean 'posenc_LapPE.eigen.max_freqs'"), InputError);
  const std::string typo = dir.write("typo.yaml", "posenc_RWSE:\n  kernel:\n    time: 4\n");
  CHECK_THROWS_WITH_AS(load_config(typo, {}), doctest::Contains("did you mean 'posenc_RWSE.kernel.times'"), InputError);
}

TEST_CASE("config: attention keys") {
  const ExperimentConfig c =
      load_config("", {"dataset.name=karate", "gnn.layer_type=gat", "gnn.att_heads=4", "gnn.att_heads_out=2",
                       "gnn.att_dropout=0.3"});
  CHECK(c.gnn.layer_type == "gat");
  CHECK(c.gnn.att_heads == 4);
  CHECK(c.gnn.att_heads_out == 2);
  CHECK(c.gnn.att_dropout == doctest::Approx(0.3));
  const ExperimentConfig tr = load_config(
      "", {"dataset.name=karate", "gnn.layer_type=transformer", "gnn.norm=batch", "gnn.pre_norm=true", "gnn.att_clamp=5"});
  CHECK(tr.gnn.layer_type == "transformer");
  CHECK(tr.gnn.norm == "batch");
  CHECK(tr.gnn.pre_norm);
  CHECK(tr.gnn.att_clamp == doctest::Approx(5.0));
  CHECK_THROWS_WITH_AS(load_config("", {"dataset.name=karate", "gnn.pre_norm=maybe"}),
                       doctest::Contains("true or false"), InputError);
  CHECK_THROWS_WITH_AS(load_config("", {"dataset.name=karate", "gnn.norm=group"}),
                       doctest::Contains("layer, batch, none"), InputError);
  CHECK_THROWS_WITH_AS(load_config("", {"dataset.name=karate", "gnn.att_heads=0"}),
                       doctest::Contains("gnn.att_heads=0"), InputError);
  CHECK_THROWS_WITH_AS(load_config("", {"dataset.name=karate", "gnn.att_dropout=1"}),
                       doctest::Contains("in [0, 1)"), InputError);
}

TEST_CASE("config: defaults when built from overrides alone") {
  const ExperimentConfig c = load_config("", {"dataset.name=karate"});
  CHECK(c.config_path.empty());
  CHECK(c.dataset.name == "karate");
  CHECK(c.dataset.path.empty());
  CHECK(c.dataset.feature_norm == "none");
  CHECK(c.gnn.layer_type == "gcn");
  CHECK(c.gnn.layers == 2);
  CHECK(c.gnn.hidden == 16);
  CHECK(c.gnn.act == locus::ops::Act::Relu);
  CHECK(c.gnn.dropout == 0.5);
  CHECK(c.train.optim.kind == locus::OptimKind::Adam);
  CHECK(c.train.optim.lr == 0.01);
  CHECK(c.train.optim.weight_decay == 5e-4);
  CHECK(c.gnn.decay_first_only);
  CHECK(c.train.max_epoch == 200);
  CHECK(c.train.patience == 0);
  CHECK(c.run.seed == 0);
  CHECK(c.run.num_runs == 1);
  CHECK(c.run.num_threads == 0);
  CHECK(c.run.out_dir.empty());
}

TEST_CASE("config: an empty file or one with only comments gives the defaults") {
  TempDir dir;
  for (const char* text : {"", "# nothing here\n\n   # still nothing\n", "---\n"}) {
    const std::string path = dir.write("empty.yaml", text);
    const ExperimentConfig c = load_config(path, {"dataset.name=karate"});
    CHECK(c.config_path == path);
    CHECK(c.gnn.hidden == 16);
    CHECK(c.train.max_epoch == 200);
    CHECK(c.dataset.name == "karate");
  }
}

static void check_non_defaults(const ExperimentConfig& c) {
  CHECK(c.dataset.feature_norm == "row");
  CHECK(c.gnn.layer_type == "mlp");
  CHECK(c.gnn.layers == 3);
  CHECK(c.gnn.hidden == 64);
  CHECK(c.gnn.act == locus::ops::Act::Elu);
  CHECK(c.gnn.dropout == 0.25);
  CHECK(c.train.optim.kind == locus::OptimKind::AdamW);
  CHECK(c.train.optim.lr == 0.005);
  CHECK(c.train.optim.weight_decay == 0.0);
  CHECK(!c.gnn.decay_first_only);
  CHECK(c.train.max_epoch == 300);
  CHECK(c.train.patience == 20);
  CHECK(c.run.seed == 18446744073709551615ull);
  CHECK(c.run.num_runs == 10);
  CHECK(c.run.num_threads == 4);
}

TEST_CASE("config: every key is read from a nested file") {
  TempDir dir;
  const std::string path = dir.write("cfg.yaml", R"(# GraphGym-style nesting
dataset:
  name: random
  feature_norm: row
gnn:
  layer_type: mlp
  layers_mp: 3
  dim_inner: 64
  act: elu
  dropout: 0.25
optim:
  optimizer: adamw
  base_lr: 5e-3
  weight_decay: 0
  weight_decay_on: all
  max_epoch: 300
train:
  patience: 20
seed: 18446744073709551615
num_runs: 10
num_threads: 4
out_dir: /tmp/locus-runs
)");
  const ExperimentConfig c = load_config(path, {});
  check_non_defaults(c);
  CHECK(c.config_path == path);
  CHECK(c.dataset.name == "random");
  CHECK(c.dataset.path.empty());
  CHECK(c.run.out_dir == "/tmp/locus-runs");
}

TEST_CASE("config: dotted keys at the top level of a file, mixed with sections") {
  TempDir dir;
  const std::string path = dir.write("cfg.yaml", R"(dataset.name: karate
dataset.feature_norm: row
gnn.layer_type: mlp
gnn.layers_mp: 3
gnn:
  dim_inner: 64
  act: elu
gnn.dropout: 0.25
optim.optimizer: adamw
optim.base_lr: 0.005
optim.weight_decay: 0.0
optim: {weight_decay_on: all, max_epoch: 300}
train.patience: 20
seed: 18446744073709551615
num_runs: 10
num_threads: 4
)");
  const ExperimentConfig c = load_config(path, {});
  check_non_defaults(c);
  CHECK(c.dataset.name == "karate");
}

TEST_CASE("config: every key is read from an override") {
  const ExperimentConfig c = load_config(
      "", {"dataset.name=karate", "dataset.feature_norm=row", "gnn.layer_type=mlp", "gnn.layers_mp=3",
           "gnn.dim_inner=64", "gnn.act=elu", "gnn.dropout=0.25", "optim.optimizer=adamw", "optim.base_lr=0.005",
           "optim.weight_decay=0", "optim.weight_decay_on=all", "optim.max_epoch=300", "train.patience=20",
           "seed=18446744073709551615", "num_runs=10", "num_threads=4", "out_dir=runs/a"});
  check_non_defaults(c);
  CHECK(c.dataset.name == "karate");
  CHECK(c.run.out_dir == "runs/a");  // overrides are stored as given
  const ExperimentConfig p = load_config("", {"dataset.path=data/x/dataset.yaml"});
  CHECK(p.dataset.path == "data/x/dataset.yaml");
  CHECK(p.dataset.name.empty());
}

TEST_CASE("config: overrides apply in order after the file") {
  TempDir dir;
  const std::string path = dir.write("cfg.yaml", "dataset: {name: karate}\ngnn: {dim_inner: 32, dropout: 0.1}\nseed: 7\n");
  const ExperimentConfig c = load_config(path, {"gnn.dim_inner=8", "seed=9", "gnn.dim_inner=128"});
  CHECK(c.gnn.hidden == 128);  // the last override wins
  CHECK(c.run.seed == 9);             // an override beats the file
  CHECK(c.gnn.dropout == 0.1);    // untouched file values stay
  // Whitespace around key and value, quoted YAML scalars and numeric spellings.
  const ExperimentConfig q = load_config(path, {" gnn.act = 'elu' ", "optim.base_lr=1e-3", "num_runs=+3",
                                                "gnn.dropout=.5"});
  CHECK(q.gnn.act == locus::ops::Act::Elu);
  CHECK(q.train.optim.lr == 1e-3);
  CHECK(q.run.num_runs == 3);
  CHECK(q.gnn.dropout == 0.5);
}

TEST_CASE("config: relative paths in the file resolve against the file's folder") {
  TempDir dir;
  const fs::path root = fs::weakly_canonical(dir.root());
  // Like apps/configs/x.yaml pointing at ../../../shared/datasets/cora/dataset.yaml.
  const std::string path = dir.write("repo/apps/configs/cora.yaml",
                                     "dataset:\n  path: ../../../shared/datasets/cora/dataset.yaml\nout_dir: runs/cora\n");
  const ExperimentConfig c = load_config(path, {});
  CHECK(fs::path(c.dataset.path) == (fs::absolute(dir.root()) / "shared/datasets/cora/dataset.yaml").lexically_normal());
  CHECK(fs::path(c.run.out_dir) == (fs::absolute(dir.root()) / "repo/apps/configs/runs/cora").lexically_normal());
  CHECK(fs::path(c.dataset.path).is_absolute());
  CHECK(!contains(c.dataset.path, ".."));

  // The same when the config itself is named by a path relative to the current directory.
  const fs::path relative = fs::relative(path);
  if (!relative.empty() && relative.is_relative()) {
    const ExperimentConfig r = load_config(relative.string(), {});
    CHECK(fs::weakly_canonical(r.dataset.path) == root / "shared/datasets/cora/dataset.yaml");
    CHECK(fs::path(r.dataset.path).is_absolute());
  }

  // Absolute paths are kept (normalised); dotted keys resolve the same way.
  const std::string abs = dir.write("b/cfg.yaml", "dataset.path: /data/./x/../cora.yaml\nout_dir: ./out\n");
  const ExperimentConfig a = load_config(abs, {});
  CHECK(a.dataset.path == "/data/cora.yaml");
  CHECK(fs::path(a.run.out_dir) == (fs::absolute(dir.root()) / "b/out").lexically_normal());

  // Overrides stay relative to the current directory: stored as given.
  const ExperimentConfig o = load_config(path, {"dataset.path=../mine/dataset.yaml", "out_dir=results"});
  CHECK(o.dataset.path == "../mine/dataset.yaml");
  CHECK(o.run.out_dir == "results");
}

TEST_CASE("config: the later of dataset.path and dataset.name wins when it is an override") {
  TempDir dir;
  const std::string by_name = dir.write("name.yaml", "dataset:\n  name: karate\n");
  const ExperimentConfig a = load_config(by_name, {"dataset.path=d/dataset.yaml"});
  CHECK(a.dataset.path == "d/dataset.yaml");
  CHECK(a.dataset.name.empty());

  const std::string by_path = dir.write("path.yaml", "dataset:\n  path: d/dataset.yaml\n");
  const ExperimentConfig b = load_config(by_path, {"dataset.name=karate"});
  CHECK(b.dataset.name == "karate");
  CHECK(b.dataset.path.empty());

  const ExperimentConfig c = load_config(by_path, {"dataset.name=karate", "dataset.path=e/dataset.yaml"});
  CHECK(c.dataset.path == "e/dataset.yaml");
  CHECK(c.dataset.name.empty());

  // A file that sets both is resolved by an override of either.
  const std::string both = dir.write("both.yaml", "dataset:\n  name: karate\n  path: d/dataset.yaml\n");
  CHECK(load_config(both, {"dataset.name=karate"}).dataset.path.empty());
}

TEST_CASE("config: empty or null values leave string keys unset; empty sections are fine") {
  TempDir dir;
  const std::string path = dir.write("cfg.yaml", "dataset:\n  name: karate\n  path:\ngnn:\nout_dir: ~\n");
  const ExperimentConfig c = load_config(path, {});
  CHECK(c.dataset.name == "karate");
  CHECK(c.dataset.path.empty());
  CHECK(c.run.out_dir.empty());
  CHECK(c.gnn.hidden == 16);
  CHECK(load_config("", {"dataset.name=karate", "out_dir=x", "out_dir="}).run.out_dir.empty());
}

// ---- bad input ---------------------------------------------------------------------------

TEST_CASE("config error: unknown keys name the file, line, key and the nearest key") {
  TempDir dir;
  const std::string file = (dir.root() / "bad.yaml").string();
  // A typo inside a section.
  check_message(file_error(dir, "dataset: {name: karate}\ngnn:\n  dim_iner: 32\n"), file, 3, "gnn.dim_iner",
                "did you mean 'gnn.dim_inner'?");
  // A dotted typo at the top level.
  check_message(file_error(dir, "dataset.name: karate\n\ngnn.dropuot: 0.1\n"), file, 3, "gnn.dropuot",
                "did you mean 'gnn.dropout'?");
  // A real key in the wrong section, and a section key at the top level.
  check_message(file_error(dir, "gnn:\n  layers_mp: 2\n  base_lr: 0.1\n"), file, 3, "gnn.base_lr",
                "did you mean 'optim.base_lr'?");
  check_message(file_error(dir, "dim_inner: 8\n"), file, 1, "dim_inner", "did you mean 'gnn.dim_inner'?");
  check_message(file_error(dir, "sed: 1\n"), file, 1, "sed", "did you mean 'seed'?");
  // Nothing near: the valid keys of the section, or all keys.
  check_message(file_error(dir, "optim:\n  zzzzzzzz: 1\n"), file, 2, "optim.zzzzzzzz",
                "valid keys in 'optim': optim.optimizer, optim.base_lr");
  check_message(file_error(dir, "model:\n  type: gnn\n"), file, 1, "model", "valid keys: dataset.path");
}

TEST_CASE("config error: wrong types") {
  TempDir dir;
  const std::string file = (dir.root() / "bad.yaml").string();
  check_message(file_error(dir, "gnn:\n  dim_inner: sixteen\n"), file, 2, "sixteen",
                "set gnn.dim_inner to a whole number >= 1");
  CHECK(contains(file_error(dir, "gnn:\n  dim_inner: sixteen\n"), "gnn.dim_inner must be a whole number"));
  check_message(file_error(dir, "gnn:\n  dropout: [1]\n"), file, 2, "[1]", "set gnn.dropout to a number in [0, 1)");
  check_message(file_error(dir, "gnn.layers_mp: 2.5\n"), file, 1, "2.5", "whole number >= 1");
  check_message(file_error(dir, "optim:\n  base_lr: fast\n"), file, 2, "fast", "set optim.base_lr to a number > 0");
  check_message(file_error(dir, "seed: {a: 1}\n"), file, 1, "{a: 1}", "set seed to a whole number >= 0");
  check_message(file_error(dir, "dataset:\n  name: [karate, cora]\n"), file, 2, "[karate, cora]",
                "write dataset.name as one plain value");
  check_message(file_error(dir, "optim:\n  base_lr: .nan\n"), file, 2, ".nan", "set optim.base_lr to a number > 0");
  check_message(file_error(dir, "optim:\n  base_lr: inf\n"), file, 2, "inf", "set optim.base_lr to a number > 0");
  // A key with no value at all.
  check_message(file_error(dir, "num_runs: 2\ngnn:\n  dim_inner:\n"), file, 3, "gnn.dim_inner",
                "set gnn.dim_inner to a whole number >= 1");
  // A section that is not a mapping.
  check_message(file_error(dir, "gnn: 3\n"), file, 1, "3", "write 'gnn:' then indented keys: layer_type, layers_mp");
}

TEST_CASE("config error: out-of-range values") {
  TempDir dir;
  const std::string file = (dir.root() / "bad.yaml").string();
  struct Case {
    std::string yaml, token, problem, fix;
  };
  const std::vector<Case> cases = {
      {"gnn:\n  dropout: 1.0\n", "1.0", "gnn.dropout must be in [0, 1)", "set gnn.dropout to a number in [0, 1)"},
      {"gnn:\n  dropout: -0.1\n", "-0.1", "gnn.dropout must be in [0, 1)", "e.g. 0.5"},
      {"gnn:\n  layers_mp: 0\n", "0", "gnn.layers_mp must be >= 1", "set gnn.layers_mp to a whole number >= 1"},
      {"gnn:\n  dim_inner: -4\n", "-4", "gnn.dim_inner must be >= 1", "e.g. 16"},
      {"gnn:\n  dim_inner: 99999999999\n", "99999999999", "gnn.dim_inner is too large", "whole number >= 1"},
      {"optim:\n  base_lr: 0\n", "0", "optim.base_lr must be > 0", "set optim.base_lr to a number > 0"},
      {"optim:\n  base_lr: -0.01\n", "-0.01", "optim.base_lr must be > 0", "e.g. 0.01"},
      {"optim:\n  weight_decay: -1e-4\n", "-1e-4", "optim.weight_decay must be >= 0", "e.g. 5e-4"},
      {"optim:\n  max_epoch: 0\n", "0", "optim.max_epoch must be >= 1", "set optim.max_epoch to a whole number >= 1"},
      {"train:\n  patience: -1\n", "-1", "train.patience must be >= 0", "set train.patience to a whole number >= 0"},
      {"\nnum_runs: 0\n", "0", "num_runs must be >= 1", "set num_runs to a whole number >= 1"},
      {"\nnum_threads: -2\n", "-2", "num_threads must be >= 0", "set num_threads to a whole number >= 0"},
      {"\nseed: -1\n", "-1", "seed must be >= 0", "set seed to a whole number >= 0"},
      {"\nseed: 18446744073709551616\n", "18446744073709551616", "seed is too large", "whole number >= 0"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.yaml);
    const std::string msg = file_error(dir, "dataset: {name: karate}\n" + c.yaml);
    check_message(msg, file, 3, c.token, c.fix);
    CHECK(contains(msg, c.problem));
  }
}

TEST_CASE("config error: choices list the allowed values and the nearest") {
  TempDir dir;
  const std::string file = (dir.root() / "bad.yaml").string();
  std::string types;  // the registry's, as the message lists them
  for (const auto& name : locus::layer_names()) types += (types.empty() ? "" : ", ") + name;
  check_message(file_error(dir, "gnn:\n  layer_type: GCN\n"), file, 2, "GCN", "did you mean 'gcn'? (allowed: " + types + ")");
  check_message(file_error(dir, "gnn:\n  act: relu6\n"), file, 2, "relu6", "did you mean 'relu'?");
  CHECK(contains(file_error(dir, "gnn:\n  act: relu6\n"), "gnn.act must be one of relu, elu, leaky_relu, gelu, identity"));
  check_message(file_error(dir, "optim:\n  optimizer: adamw2\n"), file, 2, "adamw2", "did you mean 'adamw'?");
  check_message(file_error(dir, "dataset:\n  feature_norm: rows\n"), file, 2, "rows", "did you mean 'row'?");
  check_message(file_error(dir, "optim:\n  weight_decay_on: everything\n"), file, 2, "everything",
                "choose one of first, all");
  check_message(file_error(dir, "gnn:\n  act: [relu]\n"), file, 2, "[relu]", "set gnn.act to one of relu, elu, leaky_relu, gelu, identity");
}

TEST_CASE("config error: dataset must be given exactly once") {
  TempDir dir;
  const std::string file = (dir.root() / "bad.yaml").string();
  const std::string both = file_error(dir, "dataset:\n  name: karate\n  path: d.yaml\n");
  check_message(both, file, 3, "dataset", "keep one: remove dataset.name (line 2) or dataset.path (line 3)");
  CHECK(contains(both, "both dataset.path and dataset.name are set"));

  check_message(file_error(dir, "gnn: {dim_inner: 8}\n"), file, 0, "dataset", "add dataset.name=karate");
  const std::string none = override_error({"gnn.dim_inner=8"});
  check_message(none, "command line", 0, "dataset", "dataset.path=path/to/dataset.yaml");
  // Clearing the only dataset with an empty override leaves none.
  check_message(file_error(dir, "dataset.name: karate\n", {"dataset.name="}), file, 0, "dataset",
                "add dataset.name=karate");
}

TEST_CASE("config error: a key set twice in one file") {
  TempDir dir;
  const std::string file = (dir.root() / "bad.yaml").string();
  check_message(file_error(dir, "gnn:\n  dim_inner: 8\ngnn.dim_inner: 16\n"), file, 3, "gnn.dim_inner",
                "it is already set on line 2");
}

TEST_CASE("config error: YAML syntax and file-level problems") {
  TempDir dir;
  const std::string file = (dir.root() / "bad.yaml").string();
  // Syntax errors carry the line and the offending text.
  const std::string msg = file_error(dir, "dataset:\n  name: karate\ngnn: {dim_inner: 8\nseed: 1\n");
  INFO(msg);
  CHECK(msg.rfind(file + ":", 0) == 0);
  CHECK(contains(msg, "invalid YAML"));
  CHECK(contains(msg, "check the indentation, colons, brackets and quotes"));
  check_message(file_error(dir, "gnn:\n  dim_inner: 8\n   act: relu\n"), file, 3, "act: relu",
                "check the indentation");
  check_message(file_error(dir, "dataset: name: karate\n"), file, 1, "dataset: name: karate", "check the indentation");
  check_message(file_error(dir, "seed: 1\ngnn: [1, 2\n"), file, 3, "end of file", "brackets");
  check_message(file_error(dir, "seed: @1\n"), file, 1, "seed: @1", "check the indentation");

  // Not a mapping.
  check_message(file_error(dir, "- gnn.dim_inner: 8\n"), file, 1, "[{gnn.dim_inner: 8}]", "write one 'key: value' per line");
  check_message(file_error(dir, "just words\n"), file, 1, "just words", "write one 'key: value' per line");
  check_message(file_error(dir, "seed: 1\n---\nseed: 2\n"), file, 3, "---", "keep a single document");

  // Missing file, a directory, an unreadable file.
  const std::string missing = (dir.root() / "nope.yaml").string();
  check_message(error_of([&] { load_config(missing, {"dataset.name=karate"}); }), missing, 0, missing,
                "check the path");
  check_message(error_of([&] { load_config(dir.root().string(), {"dataset.name=karate"}); }), dir.root().string(), 0,
                dir.root().string(), "pass a YAML file");
  const std::string locked = dir.write("locked.yaml", "seed: 1\n");
  fs::permissions(locked, fs::perms::none);
  if (!std::ifstream(locked)) {  // root can read anything; then there is nothing to test
    check_message(error_of([&] { load_config(locked, {"dataset.name=karate"}); }), locked, 0, locked,
                  "check its permissions");
  }
  fs::permissions(locked, fs::perms::owner_all);
}

TEST_CASE("config error: overrides name the command line and the whole token") {
  const std::string no_eq = override_error({"dataset.name=karate", "gnn.dim_inner"});
  check_message(no_eq, "command line", 0, "gnn.dim_inner", "write key=value");
  check_message(override_error({"=3"}), "command line", 0, "=3", "write key=value");
  check_message(override_error({"dataset.name=karate", "gnn.dim_iner=3"}), "command line", 0, "gnn.dim_iner=3",
                "did you mean 'gnn.dim_inner'?");
  check_message(override_error({"dataset.name=karate", "optim.lr=0.1"}), "command line", 0, "optim.lr=0.1",
                "did you mean 'optim.base_lr'?");
  check_message(override_error({"dataset.name=karate", "gnn.dim=3"}), "command line", 0, "gnn.dim=3",
                "did you mean 'gnn.dim_inner'?");
  check_message(override_error({"dataset.name=karate", "gnn=3"}), "command line", 0, "gnn=3",
                "write gnn.KEY=value; valid keys in 'gnn': gnn.layer_type");
  check_message(override_error({"dataset.name=karate", "gnn.dropout=1.5"}), "command line", 0, "gnn.dropout=1.5",
                "set gnn.dropout to a number in [0, 1)");
  check_message(override_error({"dataset.name=karate", "gnn.dim_inner=sixteen"}), "command line", 0,
                "gnn.dim_inner=sixteen", "whole number >= 1");
  check_message(override_error({"dataset.name=karate", "gnn.dropout=[1]"}), "command line", 0, "gnn.dropout=[1]",
                "set gnn.dropout to a number");
  check_message(override_error({"dataset.name=karate", "gnn.act=tanh"}), "command line", 0, "gnn.act=tanh",
                "choose one of relu, elu, leaky_relu, gelu, identity");
  check_message(override_error({"dataset.name=karate", "num_runs="}), "command line", 0, "num_runs=",
                "set num_runs to a whole number >= 1");
  check_message(override_error({"dataset.name=karate", "seed=[1"}), "command line", 0, "seed=[1",
                "write key=value with a plain value");
  // Override errors carry no line number.
  const std::string msg = override_error({"dataset.name=karate", "num_threads=-1"});
  CHECK(msg.rfind("command line: ", 0) == 0);
  CHECK(contains(msg, "'num_threads=-1'"));
}

TEST_CASE("config: the shared example configs in apps/configs load, when present") {
  const fs::path configs = fs::path(locus::testing::source_dir()) / "apps" / "configs";
  if (!fs::is_directory(configs)) return;
  for (const auto& entry : fs::directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    CAPTURE(entry.path().string());
    // Every example must at least parse with known keys; the dataset may live in ../shared.
    CHECK_NOTHROW(load_config(entry.path().string(), {"dataset.name=karate"}));
  }
}

TEST_CASE("schema: every key has a type, a documentation line, a default that reads back, and the JSON type") {
  const ExperimentConfig defaults;
  const nlohmann::json j = locus::config_json(defaults);
  for (const locus::ConfigKey& k : locus::config_schema()) {
    CAPTURE(k.name);
    CHECK(!k.doc.empty());
    CHECK(std::set<std::string>{"integer", "number", "boolean", "choice", "text", "list"}.count(k.type) == 1);
    if (k.type == "choice") {
      REQUIRE(k.choices);
      const auto choices = k.choices();
      CHECK(std::find(choices.begin(), choices.end(), k.default_text()) != choices.end());
    }
    if (k.type == "integer" || k.type == "number") CHECK(j[k.name].is_number());
    if (k.type == "boolean") CHECK(j[k.name].is_boolean());
    if (k.type == "choice" || k.type == "text") CHECK(j[k.name].is_string());
    if (k.type == "list") CHECK(j[k.name].is_array());
    // The default, written as an override, reads back to the same text.
    if (!k.default_text().empty() && k.name != "dataset.name") {
      const ExperimentConfig c = load_config("", {"dataset.name=karate", k.name + "=" + k.default_text()});
      CHECK(k.text(c) == k.default_text());
    }
  }
  CHECK(j.size() == locus::config_keys().size());
  // Keys that do not change results are left out of a checkpoint's resume lines.
  const auto resume = locus::resume_config(defaults);
  const std::vector<std::string> not_results{"out_dir", "num_threads", "train.ckpt_period", "train.auto_resume",
                                             "train.memory_limit_mib", "compare.variants", "save_model", "save_model_runs"};
  for (const auto& key : not_results)
    CHECK(std::none_of(resume.begin(), resume.end(), [&](const std::string& l) { return l.rfind(key + "=", 0) == 0; }));
  CHECK(resume.size() == locus::config_keys().size() - not_results.size());
  // Each resume line sets its key back (model files rebuild their config from these lines).
  ExperimentConfig back;
  for (const auto& line : resume) locus::apply_config_line(back, line);
  CHECK(locus::resume_config(back) == resume);
}

TEST_CASE("model names: model_name inverts variant_overrides for every addition") {
  std::vector<std::string> names{"gcn", "gat+pgnn", "gcn+gir:sum", "transformer+LapPE+SPD", "sage+RWSE+AnchorPE+anchor",
                                 "gcn+RWSE+noselect", "gcn+gir+random"};
  // Each addition on a base that takes it (attention-only ones need a transformer).
  for (const auto& a : locus::model_addons()) {
    const std::string& o = a.overrides.front();
    const bool attention = o.rfind("posenc_seq", 0) == 0 || o.rfind("gnn.att_norm", 0) == 0 || o.rfind("posenc_SPD", 0) == 0;
    const bool fixed = a.name == "fixed" || a.name == "random";  // names something only with a source it sets
    const bool fused = a.name == "noselect";  // ... or with a fused branch
    names.push_back((attention ? "transformer+" : fixed ? "gcn+LapPE+" : fused ? "gcn+gir+" : "gcn+") + a.name);
  }
  for (const auto& layer : locus::layer_names()) names.push_back(layer);
  for (const std::string& name : names) {
    CAPTURE(name);
    std::vector<std::string> o{"dataset.name=karate"};
    for (auto& x : locus::variant_overrides(name)) o.push_back(x);
    CHECK(locus::model_name(load_config("", o)) == name);
  }
  // Every addition's name is listed in the error for an unknown one.
  std::string msg;
  try {
    locus::variant_overrides("gcn+LapEP");
  } catch (const InputError& e) {
    msg = e.what();
  }
  for (const auto& a : locus::model_addons()) CHECK_MESSAGE(contains(msg, a.name), a.name);
  CHECK(contains(msg, "did you mean 'LapPE'"));
}

TEST_CASE("YAML rules: configs and dataset files accept the same booleans (core/yaml_input.hpp)") {
  TempDir dir;
  dir.write("d/edges.tsv", "0 1\n1 2\n");
  dir.write("d/labels.tsv", "0 0\n1 1\n2 0\n");
  for (const char* word : {"true", "True", "TRUE", "yes", "Yes", "on", "On", "false", "False", "no", "NO", "off", "Off",
                           "maybe", "1", "0", "y"}) {
    CAPTURE(word);
    const bool valid = locus::yaml_bool(word).has_value();
    bool config_ok = true, dataset_ok = true;
    try {
      load_config("", {"dataset.name=karate", std::string("gnn.pre_norm=") + word});
    } catch (const InputError&) {
      config_ok = false;
    }
    const std::string yaml = dir.write("d/dataset.yaml", std::string("name: tiny\nnum_nodes: 3\ndirected: ") + word +
                                                             "\nedges: {path: edges.tsv}\nlabels: {path: labels.tsv}\n");
    try {
      locus::load_dataset_yaml(yaml);
    } catch (const InputError&) {
      dataset_ok = false;
    }
    CHECK(config_ok == valid);
    CHECK(dataset_ok == valid);
  }
  CHECK(locus::yaml_bool("on") == true);
  CHECK(locus::yaml_bool("OFF") == false);
  CHECK(locus::yaml_int("+12") == 12);
  bool too_large = false;
  CHECK(!locus::yaml_int("99999999999999999999", &too_large));
  CHECK(too_large);
  CHECK(locus::yaml_number("5e-4") == 5e-4);
  CHECK(std::isinf(*locus::yaml_number("1e999")));
}

TEST_CASE("docs: the config table in docs/config.md is the schema's (regenerate: bash scripts/docs.sh)") {
  std::ifstream in(locus::testing::source_dir() + "/docs/config.md");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const std::string begin = "<!-- config-table:begin (generated by bash scripts/docs.sh) -->\n", end = "<!-- config-table:end -->";
  const auto b = doc.find(begin), e = doc.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  CHECK(doc.substr(b + begin.size(), e - b - begin.size()) == locus::config_reference_markdown());
}

TEST_CASE("config: the anchor branch's width and readout") {
  const auto dflt = locus::load_config("", {"dataset.name=karate"});
  CHECK(dflt.gnn.branch_dim == 0);  // the GNN's width
  CHECK(dflt.gnn.anchor_readout == locus::AnchorReadout::Auto);
  const auto cfg = locus::load_config("", {"dataset.name=karate", "gnn.branch_dim=8", "gnn.anchor_readout=mean"});
  CHECK(cfg.gnn.branch_dim == 8);
  CHECK(cfg.gnn.anchor_readout == locus::AnchorReadout::Mean);
  CHECK_THROWS_WITH_AS(locus::load_config("", {"dataset.name=karate", "gnn.anchor_readout=first"}),
                       doctest::Contains("gnn.anchor_readout"), locus::InputError);
  CHECK_THROWS_WITH_AS(locus::load_config("", {"dataset.name=karate", "gnn.branch_dim=-1"}),
                       doctest::Contains("gnn.branch_dim"), locus::InputError);
  CHECK(dflt.gnn.num_anchors == 0);  // pe::anchor_node_count's rule
  CHECK(locus::load_config("", {"dataset.name=karate", "gnn.num_anchors=12"}).gnn.num_anchors == 12);
  CHECK_THROWS_WITH_AS(locus::load_config("", {"dataset.name=karate", "gnn.num_anchors=-3"}),
                       doctest::Contains("gnn.num_anchors must be >= 0"), locus::InputError);
  // gnn.fusion_select: auto | true | false; `+noselect` names the fused branch without it.
  CHECK(dflt.gnn.fusion_select == locus::Toggle::Auto);
  CHECK(locus::load_config("", {"dataset.name=karate", "gnn.fusion_select=true"}).gnn.fusion_select ==
        locus::Toggle::On);
  CHECK_THROWS_WITH_AS(locus::load_config("", {"dataset.name=karate", "gnn.fusion_select=maybe"}),
                       doctest::Contains("gnn.fusion_select"), locus::InputError);
  std::vector<std::string> o{"dataset.name=karate"};
  for (const auto& x : locus::variant_overrides("gcn+gir+noselect")) o.push_back(x);
  const auto noselect = locus::load_config("", o);
  CHECK(noselect.gnn.fusion_select == locus::Toggle::Off);
  CHECK(locus::model_name(noselect) == "gcn+gir+noselect");
  CHECK(locus::model_name(locus::load_config("", {"dataset.name=karate", "gnn.position=gir"})) == "gcn+gir");
}
