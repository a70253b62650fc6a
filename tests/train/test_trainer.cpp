// The training engine as a library: Trainer runs one model epoch by epoch with the selection
// rule, predicts, and continues bit for bit from its state; ModelSelector's two rules and
// patience; run_experiment's callbacks and stop requests.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "core/io.hpp"
#include "datasets/builtin.hpp"
#include "datasets/generators.hpp"
#include "train/experiment.hpp"
#include "train/selection.hpp"
#include "train/trainer.hpp"

using namespace locus;

namespace {
Problem karate() {
  DatasetOptions o;
  o.name = "karate";
  return make_problem(load_dataset(o), o);
}
uint64_t checksum(const Trainer& t) { return t.result().params_checksum; }
}  // namespace

TEST_CASE("Trainer: epochs until max_epoch, the selected epoch's scores, predictions of every node") {
  const Problem p = karate();
  CHECK(p.in_dim == 34);  // one-hot identity features
  CHECK(p.one_hot);
  TrainOptions opt;
  opt.max_epoch = 40;
  Trainer t(p, GnnSpec{}, opt, 3);
  CHECK(t.num_params() == 34 * 16 + 16 + 16 * 2 + 2);
  int epochs = 0;
  double first_loss = 0, last_loss = 0;
  while (!t.finished()) {
    const EpochMetrics& m = t.epoch();
    CHECK(m.epoch == ++epochs);
    CHECK(m.epoch_ms >= 0);
    if (m.epoch == 1) first_loss = m.loss;
    last_loss = m.loss;
  }
  CHECK(epochs == 40);
  CHECK(last_loss < first_loss);
  // Karate has no validation split: the last epoch is the selected one.
  CHECK(t.result().best_epoch == 40);
  CHECK(t.result().test_acc == t.result().history.back().test_acc);
  CHECK(t.result().params_checksum != 0);
  const Mat logp = t.predict();
  REQUIRE(logp.rows() == 34);
  REQUIRE(logp.cols() == 2);
  for (int i = 0; i < 34; ++i) CHECK(std::abs(logp.row(i).array().exp().sum() - 1.0) < 1e-5);
  // The reported test accuracy is the argmax of these predictions over the test rows.
  int correct = 0;
  for (int32_t v : p.data.test) {
    Eigen::Index arg;
    logp.row(v).maxCoeff(&arg);
    correct += arg == p.data.labels[v];
  }
  CHECK(t.result().test_acc == doctest::Approx(double(correct) / double(p.data.test.size())));
}

TEST_CASE("Trainer: a state taken mid-run and restored into a fresh Trainer ends bit-identical") {
  const Problem p = karate();
  TrainOptions opt;
  opt.max_epoch = 30;
  GnnSpec spec;
  spec.dropout = 0.5;  // masks draw from the RNG: restored state must include it
  Trainer whole(p, spec, opt, 11);
  while (!whole.finished()) whole.epoch();
  Trainer first(p, spec, opt, 11);
  for (int e = 0; e < 12; ++e) first.epoch();
  const TrainerState s = first.state();
  CHECK(s.epoch == 12);
  Trainer second(p, spec, opt, 11);
  second.restore(s);
  while (!second.finished()) second.epoch();
  CHECK(checksum(second) == checksum(whole));
  CHECK(second.result().history.size() == 30);
  CHECK(second.result().test_acc == whole.result().test_acc);
  // Another seed gives another model.
  Trainer other(p, spec, opt, 12);
  while (!other.finished()) other.epoch();
  CHECK(checksum(other) != checksum(whole));
}

TEST_CASE("ModelSelector: val_acc keeps the first maximum; val_acc_loss needs both; patience counts neither") {
  ModelSelector acc(Selection::ValAcc, 2, true);
  CHECK(acc.observe(0.5, 1.0).keep);
  CHECK(!acc.observe(0.5, 0.5).keep);  // equal is not better: the first maximum stays
  const auto third = acc.observe(0.4, 0.4);
  CHECK(!third.keep);
  CHECK(third.stop);  // two epochs without improvement
  ModelSelector gat(Selection::ValAccLoss, 0, true);
  CHECK(gat.observe(0.5, 1.0).keep);
  CHECK(gat.observe(0.5, 0.9).keep);    // accuracy tied, loss lower: kept
  CHECK(!gat.observe(0.6, 0.95).keep);  // better accuracy, worse loss: improved, not kept
  CHECK(gat.best_val == 0.6);
  CHECK(gat.best_val_loss == 0.9);
  CHECK(gat.since_best == 0);
  CHECK(!gat.observe(0.1, 2.0).stop);  // patience 0: never stops
  ModelSelector none(Selection::ValAcc, 1, false);
  CHECK(none.observe(std::nan(""), 0).keep);  // no validation split: every epoch is kept
  CHECK(!none.observe(std::nan(""), 0).stop);
}

TEST_CASE("run_experiment: callbacks see every epoch and run; a stop request ends at the epoch's end") {
  ExperimentConfig cfg;
  cfg.dataset.name = "karate";
  cfg.train.max_epoch = 20;
  cfg.run.num_runs = 3;
  int epochs = 0, runs = 0, started = 0;
  ExperimentCallbacks cb;
  cb.on_start = [&](const ExperimentInfo& info) {
    ++started;
    CHECK(info.problem->data.name == "karate");
    CHECK(info.spec.in_dim == 34);
  };
  cb.on_epoch = [&](int, const EpochMetrics&) { ++epochs; };
  cb.on_run_end = [&](int, const RunResult& r, bool finished) {
    CHECK(finished);
    CHECK(r.epochs_run == 20);
    ++runs;
  };
  const TrainSummary s = run_experiment(cfg, cb);
  CHECK(started == 1);
  CHECK(epochs == 60);
  CHECK(runs == 3);
  CHECK(s.runs.size() == 3);
  CHECK(s.model == "gcn");
  CHECK(!s.interrupted);
  // The same experiment again: the same checksums (seeded).
  const TrainSummary again = run_experiment(cfg);
  for (size_t r = 0; r < 3; ++r) CHECK(again.runs[r].params_checksum == s.runs[r].params_checksum);

  int polled = 0;
  ExperimentCallbacks stop;
  // Polled after every epoch but a run's last, and once after each run: run 1 polls 20 times,
  // so the 25th poll follows run 2's 5th epoch.
  stop.stop_requested = [&] { return ++polled == 25 ? 15 : 0; };
  const TrainSummary cut = run_experiment(cfg, stop);
  CHECK(cut.interrupted);
  CHECK(cut.stop_signal == 15);
  CHECK(cut.runs.size() == 1);
  CHECK(cut.stopped_at == "run 2 epoch 5");
  CHECK(cut.work_left);
}

TEST_CASE("run_experiment: a key that does not fit the dataset is a ConfigError naming the key") {
  ExperimentConfig cfg;
  cfg.dataset.name = "karate";
  cfg.gnn.posenc.lap = true;
  cfg.gnn.posenc.lap_freqs = 34;
  try {
    run_experiment(cfg);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(e.problem.key == "posenc_LapPE.eigen.max_freqs");
    CHECK(std::string(e.what()).find("at most 33") != std::string::npos);
  }
}

TEST_CASE("Trainer: fit stops when the callback says so; probabilities, embeddings and evaluate") {
  const Problem p = karate();
  TrainOptions opt;
  opt.max_epoch = 50;
  Trainer t(p, GnnSpec{}, opt, 5);
  int seen = 0;
  const RunResult& r = t.fit([&](const EpochMetrics& m) {
    ++seen;
    return m.epoch < 7;  // early stop after epoch 7
  });
  CHECK(seen == 7);
  CHECK(r.epochs_run == 7);
  CHECK(!t.finished());
  const Mat prob = t.probabilities();
  REQUIRE(prob.rows() == 34);
  for (int i = 0; i < 34; ++i) CHECK(prob.row(i).sum() == doctest::Approx(1.0).epsilon(1e-5));
  // The embeddings are the last layer's input: the hidden layer after its ReLU [34, 16].
  const Mat h = t.embeddings();
  CHECK(h.rows() == 34);
  CHECK(h.cols() == 16);
  CHECK(h.minCoeff() >= 0);
  // evaluate() scores the current parameters: after epoch 7 they are the history's last ones.
  const SplitScores now = t.evaluate();
  CHECK(now.test == r.history.back().test_acc);
  CHECK(now.train == r.history.back().train_acc);
  t.fit();  // continues to max_epoch without a callback
  CHECK(t.finished());
  CHECK(t.result().epochs_run == 50);
}

TEST_CASE("Trainer: embeddings of the other structures (transformer head input, gir alone, one-layer stack)") {
  const Problem p = karate();
  TrainOptions opt;
  opt.max_epoch = 1;
  GnnSpec tr;
  tr.layer_type = "transformer";
  tr.hidden = 8;
  tr.att_heads = 2;
  CHECK(Trainer(p, tr, opt, 1).embeddings().cols() == 8);
  GnnSpec gir;
  gir.layer_type = "gir";
  gir.hidden = 6;
  CHECK(Trainer(p, gir, opt, 1).embeddings().cols() == 6);
  GnnSpec one;
  one.layers = 1;  // the last layer's input is the (one-hot) input itself
  const Mat x = Trainer(p, one, opt, 1).embeddings();
  CHECK(x.cols() == 34);
  CHECK(x.isIdentity());
  GnnSpec fused;
  fused.position = "gir";
  fused.fusion = "concat";  // the last layer reads [h ‖ Z]
  // Node classification anchors at fixed single nodes (gnn.anchors=auto): Z_pos, one column per
  // anchor, all 34 nodes of this small graph (pe::anchor_node_count); resampled sets give the
  // order-free Z, hidden wide.
  CHECK(Trainer(p, fused, opt, 1).embeddings().cols() == 16 + 34);
  fused.anchors = AnchorKind::Sets;
  fused.anchor_resample = Toggle::On;
  CHECK(Trainer(p, fused, opt, 1).embeddings().cols() == 16 + 16);
}

TEST_CASE("Trainer: gnn.fusion_select trains both paths and each epoch keeps the one validation prefers") {
  // Four communities, one constant feature: labels follow position only, so the fused path wins.
  SbmParams g;
  g.block_sizes = {30, 30, 30, 30};
  g.p_in = 0.3, g.p_out = 0.01, g.seed = 5;
  DatasetOptions o;
  o.features = "constant";
  const Problem p = make_problem(generate_sbm(g), o);
  REQUIRE(p.in_dim == 1);
  TrainOptions opt;
  opt.max_epoch = 60;
  GnnSpec spec;
  spec.position = "gir";
  spec.anchors = AnchorKind::Nodes;  // fixed anchors: the classifier reads one column per anchor
  spec.fusion = "input";
  spec.fusion_select = Toggle::On;
  Trainer t(p, spec, opt, 2);
  // The plain path is a GCN of its own: step for step, bit for bit, the plain GCN of the same seed.
  GnnSpec gcn;
  Trainer alone(p, gcn, opt, 2);
  int kept = 0;
  while (!t.finished()) {
    const EpochMetrics& m = t.epoch();
    REQUIRE(!alone.finished());
    const EpochMetrics& a = alone.epoch();
    const Mat off_path = t.predict(PositionUse::Off), plain = alone.predict();
    REQUIRE(off_path.rows() == plain.rows());
    CHECK((off_path.array() == plain.array()).all());
    CHECK(m.loss >= a.loss);  // the sum of both paths' losses (the fused one may round away)
    // The epoch's scores are those of the path the gate now takes, the one of higher validation
    // accuracy (the plain one on ties).
    const SplitScores on = t.task().scores(t.predict(PositionUse::On));
    const SplitScores off = t.task().scores(t.predict(PositionUse::Off));
    CHECK(t.position_used() == (on.val > off.val));
    CHECK(m.val_acc == (t.position_used() ? on.val : off.val));
    CHECK(m.test_acc == (t.position_used() ? on.test : off.test));
    CHECK(t.evaluate().val == m.val_acc);  // predict() follows the gate
    kept += t.position_used();
  }
  CHECK(kept > 40);
  CHECK(t.result().position_used);
  CHECK(t.result().test_acc > 0.8);
  // The plain path alone is a GCN on one constant column: it cannot tell communities apart.
  CHECK(t.task().scores(t.predict(PositionUse::Off)).test < 0.5);
  // Restoring a state restores the gate with the parameters.
  Trainer u(p, spec, opt, 2);
  TrainerState s = t.state();
  u.restore(s);
  CHECK(u.position_used() == t.position_used());
  // Without selection, one path is trained: the plain path's loss is not in the objective.
  GnnSpec plain_spec = spec;
  plain_spec.fusion_select = Toggle::Off;
  Trainer w(p, plain_spec, opt, 2);
  CHECK(w.num_params() + 1 + alone.num_params() == t.num_params());  // the gate and the plain GCN
  CHECK(w.position_used());
}

TEST_CASE("Trainer: optim.lr_schedule=plateau follows ReduceLROnPlateau on the val loss, stops below lr_min, resumes") {
  // An SBM with a validation split; a high rate and no patience make the rate fall within the run.
  SbmParams g;
  g.block_sizes = {30, 30, 30};
  g.p_in = 0.3, g.p_out = 0.05, g.seed = 7;
  const Problem p = make_problem(generate_sbm(g), DatasetOptions{});
  REQUIRE(p.has_val());
  TrainOptions opt;
  opt.max_epoch = 200;
  opt.optim.lr = 0.05;
  opt.lr_schedule = LrSchedule::Plateau;
  opt.lr_factor = 0.25;
  opt.lr_patience = 1;
  opt.lr_min = 1e-3;
  Trainer t(p, GnnSpec{}, opt, 4);
  const TaskObjective task(p, 4);
  // The rule written out: improvement below best · (1 − 1e-4); more than lr_patience epochs
  // without one multiply the rate by lr_factor.
  double lr = 0.05, best = std::numeric_limits<double>::infinity();
  int bad = 0, drops = 0;
  TrainerState mid;
  while (!t.finished()) {
    t.epoch();
    const double loss = task.val_loss(t.predict());
    if (loss < best * (1 - 1e-4)) {
      best = loss;
      bad = 0;
    } else if (++bad > 1) {
      lr *= 0.25;
      bad = 0;
      ++drops;
    }
    const TrainerState s = t.state();
    CHECK(s.lr == doctest::Approx(lr).epsilon(1e-12));
    if (drops == 1 && mid.epoch == 0) mid = s;
  }
  // 0.05 · 0.25³ = 7.8e-4 < 1e-3: the third drop ends the run well before max_epoch.
  CHECK(drops == 3);
  CHECK(t.state().lr < 1e-3);
  CHECK(t.result().epochs_run < 200);
  // A run restored after the first drop continues with the dropped rate and ends the same.
  REQUIRE(mid.epoch > 0);
  Trainer resumed(p, GnnSpec{}, opt, 4);
  resumed.restore(mid);
  while (!resumed.finished()) resumed.epoch();
  CHECK(resumed.result().epochs_run == t.result().epochs_run);
  CHECK(checksum(resumed) == checksum(t));
  // Without the schedule the rate stays 0.05 and every epoch runs.
  opt.lr_schedule = LrSchedule::None;
  opt.max_epoch = 20;
  Trainer flat(p, GnnSpec{}, opt, 4);
  while (!flat.finished()) flat.epoch();
  CHECK(flat.result().epochs_run == 20);
  CHECK(flat.state().lr == 0.05);
}
