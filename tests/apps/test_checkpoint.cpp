// Checkpoints and resume: `locus train` killed with SIGKILL at random epochs and resumed with
// train.auto_resume ends bit-identical to an uninterrupted run; SIGTERM / SIGINT stop at an
// epoch's end with a checkpoint, the results so far and a non-zero status; out_dir is never
// silently overwritten; a checkpoint from another experiment or a damaged one is refused.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "train/checkpoint.hpp"
#include "apps/config.hpp"
#include "core/error.hpp"
#include "tests/testing/paths.hpp"
#include "tests/testing/process.hpp"
#include "tests/testing/temp_dir.hpp"

extern char** environ;

using namespace locus;
namespace fs = std::filesystem;
using testing::TempDir;

namespace {

// Starts `locus ARGS...` with stdout and stderr in `log`; returns its pid.
pid_t spawn_locus(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> all = {testing::locus_binary()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE_MESSAGE(rc == 0, "posix_spawn failed: " << rc);
  return pid;
}

// Exit status, or 128 + signal when the process was killed by one (as a shell reports it).
int wait_status(pid_t pid) {
  int st = 0;
  REQUIRE(waitpid(pid, &st, 0) == pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Epochs finished so far according to the checkpoint (runs × max_epoch + epoch), -1 without one.
long progress(const fs::path& out_dir, int max_epoch) {
  const std::string path = checkpoint_path(out_dir.string());
  std::error_code ec;
  if (!fs::exists(path, ec)) return -1;
  try {
    const TrainCheckpoint ck = load_checkpoint(path);
    return static_cast<long>(ck.run) * max_epoch + ck.current.epoch;
  } catch (const InputError&) {
    return -1;  // never expected: the file is renamed into place whole
  }
}

// Waits until the training in out_dir has passed `epochs` epochs or the process ended.
void wait_for_progress(pid_t pid, const fs::path& out_dir, int max_epoch, long epochs) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (progress(out_dir, max_epoch) < epochs && std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) FAIL("locus ended before epoch " << epochs << " (status " << st << ")");
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

// A run's CSV without the timing column (the only thing allowed to differ).
std::string csv_without_times(const fs::path& p) {
  std::ifstream in(p);
  std::string out, line;
  while (std::getline(in, line)) out += line.substr(0, line.rfind(',')) + "\n";
  return out;
}

// Everything a resumed training must reproduce exactly: per run the seed, selected epoch, its
// metrics and the checksum of the final parameters; and every epoch's metrics (CSVs).
void check_same_results(const fs::path& ref_json, const fs::path& ref_dir, const fs::path& json, const fs::path& dir,
                        int runs) {
  const auto a = read_json(ref_json), b = read_json(json);
  CHECK(b["interrupted"] == false);
  REQUIRE(a["runs"].size() == static_cast<size_t>(runs));
  REQUIRE(b["runs"].size() == static_cast<size_t>(runs));
  for (int r = 0; r < runs; ++r)
    for (const char* key : {"seed", "best_epoch", "epochs_run", "train_acc", "val_acc", "test_acc", "params_checksum"})
      CHECK_MESSAGE(a["runs"][r][key] == b["runs"][r][key], "run " << r << " " << key);
  CHECK(a["test_acc_mean"] == b["test_acc_mean"]);
  for (int r = 0; r < runs; ++r) {
    const std::string name = "run_" + std::to_string(r) + "_seed_" + std::to_string(r) + ".csv";
    CHECK_MESSAGE(csv_without_times(ref_dir / name) == csv_without_times(dir / name), name);
  }
}

const int kEpochs = 120, kRuns = 3;

std::vector<std::string> train_args(const fs::path& out_dir, const fs::path& json, std::vector<std::string> extra) {
  std::vector<std::string> a = {"train",
                                testing::source_dir() + "/apps/configs/karate_gcn.yaml",
                                "num_runs=" + std::to_string(kRuns),
                                "optim.max_epoch=" + std::to_string(kEpochs),
                                "num_threads=2",
                                "train.ckpt_period=1",
                                "out_dir=" + out_dir.string(),
                                "--json",
                                json.string()};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

}  // namespace

TEST_CASE("checkpoint: save and load round-trip every field; damage is refused") {
  TempDir dir;
  TrainCheckpoint ck;
  ck.config = {"a=1", "b=two"};
  ck.num_threads = 2;
  ck.num_nodes = 34;
  ck.num_edges = 156;
  ck.num_features = 34;
  ck.num_params = 610;
  RunResult r;
  r.seed = 7;
  r.best_epoch = 3;
  r.epochs_run = 4;
  r.test_acc = 0.75;
  r.params_checksum = 0x1234;
  r.history = {{1, 0.5, 0.1, 0.2, 0.3, 1.5}, {2, 0.25, 0.4, 0.5, 0.6, 1.25}};
  ck.done = {r};
  ck.epoch_ms = {1.0, 2.0};
  ck.run = 1;
  ck.current.epoch = 2;
  ck.current.run = r;
  ck.current.best_val = 0.5;
  ck.current.best_val_loss = 0.125;
  ck.current.since_best = 1;
  ck.current.rng_state = 0xDEADBEEFull;
  ck.current.params = {1.f, -2.f, 3.5f};
  ck.current.optim.steps = 2;
  ck.current.optim.m = {0.1f, 0.2f, 0.3f};
  ck.current.optim.v = {0.01f, 0.02f, 0.03f};
  const std::string path = dir.path("ck/checkpoint.bin");
  save_checkpoint(path, ck);
  const TrainCheckpoint back = load_checkpoint(path);
  CHECK(back.config == ck.config);
  CHECK(back.num_threads == 2);
  CHECK(back.num_edges == 156);
  CHECK(back.num_params == 610);
  REQUIRE(back.done.size() == 1);
  CHECK(back.done[0].seed == 7);
  CHECK(back.done[0].params_checksum == 0x1234);
  REQUIRE(back.done[0].history.size() == 2);
  CHECK(back.done[0].history[1].val_acc == 0.5);
  CHECK(back.epoch_ms == ck.epoch_ms);
  CHECK(back.run == 1);
  CHECK(back.current.epoch == 2);
  CHECK(back.current.run.seed == 7);
  CHECK(back.current.run.history.size() == 2);
  CHECK(back.current.best_val == 0.5);
  CHECK(back.current.best_val_loss == 0.125);
  CHECK(back.current.since_best == 1);
  CHECK(back.current.rng_state == 0xDEADBEEFull);
  CHECK(back.current.params == ck.current.params);
  CHECK(back.current.optim.steps == 2);
  CHECK(back.current.optim.m == ck.current.optim.m);
  CHECK(back.current.optim.v == ck.current.optim.v);
  CHECK(fs::directory_iterator(dir.path("ck")) != fs::directory_iterator());
  for (const auto& e : fs::directory_iterator(dir.path("ck"))) CHECK(e.path().filename() == "checkpoint.bin");

  // A truncated file and a flipped byte are both reported, naming the file and the fix.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  const std::string expected = path + ": checkpoint is truncated or corrupt: '" + path +
                               "'. delete it (and its out_dir) to start the training over";
  for (const std::string& damaged : {bytes.substr(0, bytes.size() / 2), [&] {
                                       std::string b = bytes;
                                       b[b.size() / 2] ^= 0x40;
                                       return b;
                                     }()}) {
    dir.write("ck/checkpoint.bin", damaged);
    try {
      load_checkpoint(path);
      FAIL("a damaged checkpoint was accepted");
    } catch (const InputError& e) {
      CHECK(std::string(e.what()) == expected);
    }
  }
  dir.write("ck/checkpoint.bin", "hello");
  CHECK_THROWS_WITH_AS(load_checkpoint(path),
                       (path + ": not a Locus checkpoint: '" + path +
                        "'. out_dir holds another program's checkpoint.bin; choose another out_dir")
                           .c_str(),
                       InputError);
}

TEST_CASE("checkpoint: SIGKILL at random epochs, resumed each time, ends bit-identical to an uninterrupted run") {
  TempDir dir;
  const fs::path ref_dir = dir.root() / "ref", ref_json = dir.root() / "ref.json";
  REQUIRE(wait_status(spawn_locus(train_args(ref_dir, ref_json, {}), dir.root() / "ref.log")) == 0);

  const fs::path out = dir.root() / "killed", json = dir.root() / "killed.json", log = dir.root() / "killed.log";
  std::random_device rd;
  const unsigned seed = rd();
  INFO("kill points drawn with seed " << seed);
  std::mt19937 gen(seed);
  const long total = static_cast<long>(kRuns) * kEpochs;
  long at = 0;
  for (int kill = 0; kill < 4; ++kill) {
    // The next kill lands somewhere in the next fifth of the training (any run, any epoch); the
    // last fifth stays ahead, so the process cannot finish between the poll and the kill.
    at = std::uniform_int_distribution<long>(at + 1, (kill + 1) * total / 5 - 1)(gen);
    CAPTURE(at);
    const pid_t pid = spawn_locus(train_args(out, json, {"train.auto_resume=true"}), log);
    wait_for_progress(pid, out, kEpochs, at);
    ::kill(pid, SIGKILL);
    CHECK(wait_status(pid) == 128 + SIGKILL);
    CHECK(!fs::exists(json));  // killed runs write no results
  }
  const pid_t pid = spawn_locus(train_args(out, json, {"train.auto_resume=true"}), log);
  const int status = wait_status(pid);
  std::ifstream lf(log);
  std::stringstream ls;
  ls << lf.rdbuf();
  INFO(ls.str());
  REQUIRE(status == 0);
  CHECK(ls.str().find("resuming ") != std::string::npos);
  check_same_results(ref_json, ref_dir, json, out, kRuns);
}

TEST_CASE("checkpoint: SIGTERM and SIGINT stop at an epoch's end with a checkpoint and the results so far") {
  TempDir dir;
  const fs::path ref_dir = dir.root() / "ref", ref_json = dir.root() / "ref.json";
  // GAT: attention dropout draws from the RNG too.
  const std::vector<std::string> gat = {"gnn.layer_type=gat", "gnn.att_heads=2", "gnn.dim_inner=4"};
  REQUIRE(wait_status(spawn_locus(train_args(ref_dir, ref_json, gat), dir.root() / "ref.log")) == 0);
  for (int sig : {SIGTERM, SIGINT}) {
    CAPTURE(sig);
    const fs::path out = dir.root() / ("stopped" + std::to_string(sig));
    const fs::path json = out.string() + ".json", log = out.string() + ".log";
    std::vector<std::string> args = gat;
    args.push_back("train.ckpt_period=1000");  // only the stop writes the checkpoint mid-run
    pid_t pid = spawn_locus(train_args(out, json, args), log);
    // Wait for the first run's end-of-run checkpoint, then stop it during the second run.
    wait_for_progress(pid, out, kEpochs, kEpochs);
    ::kill(pid, sig);
    REQUIRE(wait_status(pid) == 128 + sig);
    const auto j = read_json(json);
    CHECK(j["interrupted"] == true);
    CHECK(j["num_runs"].get<int>() >= 1);
    const TrainCheckpoint ck = load_checkpoint(checkpoint_path(out.string()));
    CHECK(ck.run >= 1);
    std::ifstream lf(log);
    std::stringstream ls;
    ls << lf.rdbuf();
    CHECK(ls.str().find(sig == SIGTERM ? "SIGTERM received: stopped after run" : "SIGINT received: stopped after run") !=
          std::string::npos);
    // Resumed, it finishes exactly as the uninterrupted run.
    args.push_back("train.auto_resume=true");
    pid = spawn_locus(train_args(out, json, args), log);
    REQUIRE(wait_status(pid) == 0);
    check_same_results(ref_json, ref_dir, json, out, kRuns);
  }
}

TEST_CASE("checkpoint: out_dir is never overwritten; resume refuses another experiment") {
  TempDir dir;
  const fs::path out = dir.root() / "run", json = dir.root() / "r.json";
  auto args = [&](std::vector<std::string> extra) {
    auto a = train_args(out, json, extra);
    a[3] = "optim.max_epoch=5";
    return a;
  };
  REQUIRE(wait_status(spawn_locus(args({}), dir.root() / "1.log")) == 0);
  const auto before = fs::last_write_time(out / "checkpoint.bin");
  fs::remove(json);

  const testing::Cmd again = testing::run_locus(
      "train " + testing::source_dir() + "/apps/configs/karate_gcn.yaml optim.max_epoch=5 out_dir=" + out.string() +
          " --json " + json.string(),
      dir.root() / "2.log");
  CHECK(again.status == 2);
  CHECK(again.output == "locus: error: " + out.string() + ": out_dir already exists and is not empty: '" +
                            out.string() +
                            "'. choose a new out_dir, delete this one, or set train.auto_resume=true to continue the "
                            "training checkpointed there\n");
  CHECK(!fs::exists(json));
  CHECK(fs::last_write_time(out / "checkpoint.bin") == before);

  const testing::Cmd other = testing::run_locus(
      "train " + testing::source_dir() + "/apps/configs/karate_gcn.yaml optim.max_epoch=5 gnn.dim_inner=8 out_dir=" +
          out.string() + " train.auto_resume=true",
      dir.root() / "3.log");
  CHECK(other.status == 2);
  CHECK(other.output.find("the checkpoint belongs to another experiment: it was written with 'gnn.dim_inner=16', now "
                          "'gnn.dim_inner=8'. resume with the original settings, or train into a new out_dir") !=
        std::string::npos);

  // A finished training resumed reports its results again without training.
  const testing::Cmd done = testing::run_locus(
      "train " + testing::source_dir() + "/apps/configs/karate_gcn.yaml num_runs=3 optim.max_epoch=5 num_threads=2 "
      "train.ckpt_period=1 train.auto_resume=true out_dir=" + out.string() + " --json " + json.string(),
      dir.root() / "4.log");
  CHECK_MESSAGE(done.status == 0, done.output);
  CHECK(done.output.find("3 of 3 runs finished") != std::string::npos);
  CHECK(read_json(json)["runs"].size() == 3);
  CHECK(read_json(json)["num_params"] == 594);  // karate GCN: 34·16 + 16 + 16·2 + 2
}
