#include "train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "core/dist/comm.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "core/numeric_guard.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/loss.hpp"
#include "core/rng.hpp"
#include "layers/positional/anchors.hpp"

namespace locus {

GnnSpec spec_for(const Problem& problem, GnnSpec spec) {
  spec.in_dim = problem.in_dim;
  spec.embeddings = problem.pair_task();
  spec.batched = problem.batched();
  spec.raw_output = problem.graph_task();  // node representations for the readout
  spec.out_dim = problem.pair_task() || problem.graph_task() ? spec.hidden : problem.data.num_classes;
  if (problem.batched() && !problem.graph_index->complete && (spec.posenc.anchor || spec.posenc.indication)) {
    // Every graph needs the same anchor columns: c = ⌊log₂ n⌋ of the largest graph unless set.
    int64_t largest = 1;
    for (int64_t g = 0; g < problem.graph_index->num_graphs(); ++g) largest = std::max(largest, problem.graph_index->num_nodes(g));
    for (auto [on, c] : {std::pair{spec.posenc.anchor, &spec.posenc.anchor_sizes}, {spec.posenc.indication, &spec.posenc.indication_sizes}})
      if (on && *c == 0) *c = pe::anchor_set_sizes(largest);
  }
  if (problem.share) {
    spec.partition = problem.share->layout;
    spec.comm = problem.share->comm;
    spec.partition_rows = problem.share->rows;
  } else if (problem.order_rows) {
    spec.partition_rows = problem.order_rows;
  }
  return spec;
}

Trainer::Trainer(const Problem& problem, const GnnSpec& spec, const TrainOptions& options, uint64_t seed, int run_number)
    : problem_(problem),
      options_(options),
      run_number_(run_number),
      task_(problem, seed, options.metric, options.class_weights),
      rng_(seed),
      optimizer_(options.optim),
      selector_(options.select, options.patience, problem.has_val(), task_.metric_info().higher_is_better) {
  GnnSpec s = spec_for(problem, spec);
  s.posenc_seed = splitmix64(seed ^ 0xA11C0A11C0ull);  // fixes the evaluation anchor sets
  if (problem.batched()) {
    // Built on an empty batch (a Csr, or a Dense of sentences); every step sets its batch's
    // topology (GnnClassifier::set_graph).
    const GraphBatch empty = make_batch(problem.data, *problem.graph_index, {});
    model_ = empty.complete ? std::make_unique<GnnClassifier<float>>(store_, rng_, s, empty.sentences)
                            : std::make_unique<GnnClassifier<float>>(store_, rng_, s, empty.graph);
    if (problem.graph_task())
      readout_ = std::make_unique<GraphReadout<float>>(store_, rng_, "readout", s.hidden, problem.graph_outputs(), s.readout);
    encodings_ = graph_encodings(problem.data, *problem.graph_index, resolve_posenc(s), s.posenc_seed);
    in_train_.assign(static_cast<size_t>(problem.data.num_nodes), 0);
    for (const int32_t v : problem.data.train) in_train_[static_cast<size_t>(v)] = 1;
  } else if (options.batch_size > 0) {
    throw InputError("train.batch_size is for datasets of many graphs and sentences; " + problem.data.name +
                     " is one graph and trains full-batch (leave train.batch_size at 0)");
  } else {
    model_ = std::make_unique<GnnClassifier<float>>(store_, rng_, s, task_.graph());
  }
  run_.seed = seed;
}

int64_t Trainer::batch_size() const {
  // Unset: 128 graphs per step, or every sentence in one step (sentences train full-batch, as the
  // one graph of a node task does).
  if (options_.batch_size > 0) return options_.batch_size;
  return problem_.graph_index->complete ? std::max<int64_t>(1, problem_.graph_index->num_graphs()) : 128;
}

Features<float> Trainer::batch_input(const GraphBatch& b) const {
  const std::vector<int64_t> rows(b.nodes.begin(), b.nodes.end());
  pe::BatchRows pos;
  for (auto [from, to] : {std::pair{&encodings_.lap, &pos.lap}, {&encodings_.rwse, &pos.rwse}, {&encodings_.anchor, &pos.anchor}})
    if (from->size()) *to = (*from)(rows, Eigen::all);
  pos.offset = b.offset;
  pos.graphs = b.graphs;
  model_->set_graph(b.topology(), std::move(pos));
  Features<float> in;
  if (problem_.x_sparse)
    in.sparse = std::make_shared<const SpMat>(gather_feature_rows(*problem_.x_sparse, b.nodes));
  else
    in.var = tape_.constant(Mat(problem_.x_dense(rows, Eigen::all)));
  return in;
}

Var Trainer::batch_forward(const GraphBatch& b, bool training, uint64_t key) const {
  const Var out = model_->forward(tape_, batch_input(b), training, key);
  if (!readout_) return out;
  const auto scope = tape_.scope("readout");
  const Var head = readout_->forward(tape_, out, b.graph_of, b.num_graphs());
  // Classification: log-probabilities [b, classes]; regression: the predicted targets [b, targets] as they are.
  return problem_.data.task == Task::GraphRegression ? head : ops::log_softmax(tape_, head);
}

double Trainer::step(Var loss, int epoch, dist::Comm* comm) {
  // Numeric faults (core/numeric_guard.hpp) stop training naming the epoch, op and layer.
  check_loss(tape_, loss, store_, epoch, run_number_);
  tape_.backward(loss);
  if (comm) comm->sum(store_.grads().data(), store_.size(), options_.deterministic_sum);
  check_gradients(tape_, loss, store_, epoch, run_number_);
  if (options_.clip_grad_norm > 0) clip_grad_norm(store_, options_.clip_grad_norm);
  optimizer_.step(store_);
  check_parameters(tape_, store_, epoch, run_number_);
  return tape_.value(loss)(0, 0);
}

double Trainer::train_batches(int epoch) {
  const Dataset& ds = problem_.data;
  const bool graphs = problem_.graph_task(), regression = ds.task == Task::GraphRegression;
  // Each epoch's order from the run's seed and the epoch alone (a resumed run draws the same).
  // Sentences in one step: every sentence, in order (val and test tokens carry no loss; the batch
  // is the whole dataset's Dense, as a node task's one graph).
  std::vector<std::vector<int32_t>> order;
  if (problem_.graph_index->complete && batch_size() >= problem_.graph_index->num_graphs()) {
    order.emplace_back(static_cast<size_t>(problem_.graph_index->num_graphs()));
    std::iota(order[0].begin(), order[0].end(), 0);
  } else {
    order = batch_order(problem_.train_graphs, batch_size(), splitmix64(run_.seed ^ (0xBA7C4ull + static_cast<uint64_t>(epoch))));
  }
  double sum = 0;
  int64_t steps = 0;
  for (const std::vector<int32_t>& ids : order) {
    const GraphBatch b = make_batch(ds, *problem_.graph_index, ids);
    // The labelled rows of the batch: its graphs (graph task; every graph has regression targets) or
    // its training nodes.
    std::vector<int32_t> labels, rows;
    if (regression) {
      rows.assign(b.graphs.begin(), b.graphs.end());
    } else if (graphs) {
      for (size_t k = 0; k < b.graphs.size(); ++k) {
        labels.push_back(ds.graph_labels[static_cast<size_t>(b.graphs[k])]);
        if (labels.back() >= 0) rows.push_back(static_cast<int32_t>(k));
      }
    } else {
      for (size_t i = 0; i < b.nodes.size(); ++i) {
        labels.push_back(ds.labels[static_cast<size_t>(b.nodes[i])]);
        if (in_train_[static_cast<size_t>(b.nodes[i])]) rows.push_back(static_cast<int32_t>(i));
      }
    }
    if (rows.empty()) continue;
    tape_.clear();
    store_.zero_grad();
    const Var out = batch_forward(b, true, rng_.next_key());
    Var loss;
    {
      const auto scope = tape_.scope("loss");
      loss = regression ? task_.regression_loss(tape_, out, b.graphs) : task_.class_loss(tape_, out, labels, rows);
    }
    sum += step(loss, epoch, nullptr);
    ++steps;
  }
  return steps ? sum / static_cast<double>(steps) : 0.0;
}

const EpochMetrics& Trainer::epoch() {
  using Clock = std::chrono::steady_clock;
  check(!finished_, "Trainer::epoch: the run is finished");
  const int epoch = ++epoch_;
  dist::Comm* comm = problem_.share ? problem_.share->comm : nullptr;
  task_.before_epoch(epoch);
  // Training step: forward, loss, backward, optimiser update (timed); many graphs: a step per mini-batch.
  const auto t0 = Clock::now();
  double loss_value = 0;
  if (problem_.batched()) {
    loss_value = train_batches(epoch);
  } else {
    tape_.clear();
    store_.zero_grad();
    if (comm) comm->bytes_sent = 0, comm->wait_ms = 0;
    const uint64_t key = rng_.next_key();
    Var loss;
    if (model_->selects_position()) {
      // gnn.fusion_select / posenc_select: the sum of the position and the plain path's losses (same
      // dropout masks). The paths share no parameter (GnnClassifier's plain_), so each trains as it
      // would alone; the mean would halve each one's data gradient against its unchanged weight decay
      // (L2 in the gradient, Adam): position alone, GCN + LapPE on the 40-block SBM, 5 seeds, 70.2 %
      // with the mean against 77.1 % with the sum when the paths still shared the GNN's weights.
      const Features<float> in = problem_.input(tape_);
      const Var on = model_->forward(tape_, in, true, key, PositionUse::On);
      const Var off = model_->forward(tape_, in, true, key, PositionUse::Off);
      const auto scope = tape_.scope("loss");
      loss = ops::add(tape_, task_.loss(tape_, on), task_.loss(tape_, off));
    } else {
      const Var out = model_->forward(tape_, problem_.input(tape_), true, key);
      const auto scope = tape_.scope("loss");
      loss = task_.loss(tape_, out);
    }
    loss_value = step(loss, epoch, comm);
  }
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (comm) {  // the slowest rank's epoch; the global loss; traffic of all ranks
    comm_bytes_ = static_cast<double>(comm->sum(comm->bytes_sent));
    comm_wait_ms_ = comm->max(comm->wait_ms);
    ms = comm->max(ms);
    loss_value = comm->sum(loss_value);
  }

  // Evaluation (not timed): dropout off. With gnn.fusion_select, both paths; the gate takes the one
  // with the higher validation metric (training metric without a val split), the plain one on ties.
  Mat eval;
  SplitScores sc;
  if (model_->selects_position()) {
    Mat on = output(PositionUse::On), off = output(PositionUse::Off);
    const SplitScores s_on = task_.scores(on), s_off = task_.scores(off);
    const MetricInfo& m = task_.metric_info();
    const bool keep_branch = problem_.has_val() ? m.better(s_on.val, s_off.val) : m.better(s_on.train, s_off.train);
    model_->set_position_used(keep_branch);
    eval = keep_branch ? std::move(on) : std::move(off);
    sc = keep_branch ? s_on : s_off;
  } else {
    eval = output();
    sc = task_.scores(eval);
  }
  run_.history.push_back(EpochMetrics{epoch, loss_value, sc.train, sc.val, sc.test, ms});
  run_.epochs_run = epoch;
  // Model selection (train.select); the last epoch is kept when there is no val split. The
  // validation loss is computed (a collective under partitioned training) only when the rule reads it.
  const bool plateau = options_.lr_schedule == LrSchedule::Plateau;
  const bool needs_loss = problem_.has_val() && (options_.select == Selection::ValAccLoss || plateau);
  const double val_loss = needs_loss ? task_.val_loss(eval) : 0.0;
  const ModelSelector::Verdict v = selector_.observe(sc.val, val_loss);
  if (v.keep) {
    run_.best_epoch = epoch;
    run_.train_acc = sc.train;
    run_.val_acc = sc.val;
    run_.test_acc = sc.test;
    run_.position_used = model_->position_used();
    run_.params.assign(store_.values().begin(), store_.values().end());
  }
  if (plateau) {
    // ReduceLROnPlateau (train/config.hpp): the validation loss, or the training loss without a val split.
    const double watched = problem_.has_val() ? val_loss : loss_value;
    if (watched < lr_best_loss_ * (1 - 1e-4)) {
      lr_best_loss_ = watched;
      lr_bad_epochs_ = 0;
    } else if (++lr_bad_epochs_ > options_.lr_patience) {
      optimizer_.set_lr(optimizer_.options().lr * options_.lr_factor);
      lr_bad_epochs_ = 0;
    }
  }
  finished_ = v.stop || epoch >= options_.max_epoch || lr_exhausted();
  if (finished_) run_.params_checksum = fnv1a64(store_.values().data(), store_.values().size() * sizeof(float));
  return run_.history.back();
}

const RunResult& Trainer::fit(const std::function<bool(const EpochMetrics&)>& on_epoch) {
  while (!finished_)
    if (on_epoch && !on_epoch(epoch())) break;
    else if (!on_epoch) epoch();
  return run_;
}

Mat Trainer::probabilities() const {
  if (problem_.pair_task())
    throw InputError("Trainer::probabilities: a pair task's model outputs embeddings (predict()), not class probabilities");
  if (problem_.data.task == Task::GraphRegression)
    throw InputError("Trainer::probabilities: a graph regression model outputs its targets (predict()), not class probabilities");
  return predict().array().exp().matrix();
}

Mat Trainer::dataset_rows(Mat rows) const {
  if (problem_.order.empty()) return rows;
  Mat out(rows.rows(), rows.cols());
  for (size_t r = 0; r < problem_.order.size(); ++r) out.row(problem_.order[r]) = rows.row(static_cast<Eigen::Index>(r));
  return out;
}

SplitScores Trainer::scores(const Mat& predicted) const {
  if (problem_.order.empty()) return task_.scores(predicted);
  Mat rows(predicted.rows(), predicted.cols());
  for (size_t r = 0; r < problem_.order.size(); ++r) rows.row(static_cast<Eigen::Index>(r)) = predicted.row(problem_.order[r]);
  return task_.scores(rows);
}

Mat Trainer::embeddings() const {
  if (problem_.batched())
    return batched_rows(false, [&](const GraphBatch& b) { return model_->embed(tape_, batch_input(b)); });
  tape_.clear();
  const Tape<float>::NoGrad no_grad(tape_);
  return dataset_rows(tape_.value(model_->embed(tape_, problem_.input(tape_))));
}

SplitScores Trainer::evaluate() const { return task_.scores(output()); }

Mat Trainer::predict(PositionUse use) const { return dataset_rows(output(use)); }

Mat Trainer::output(PositionUse use) const {
  if (problem_.batched())
    return batched_rows(problem_.graph_task(), [&](const GraphBatch& b) { return batch_forward(b, false, 0); });
  tape_.clear();
  const Tape<float>::NoGrad no_grad(tape_);  // inference: no closures, transient values freed
  return tape_.value(model_->forward(tape_, problem_.input(tape_), false, 0, use));
}

Mat Trainer::batched_rows(bool per_graph, const std::function<Var(const GraphBatch&)>& run) const {
  // Every graph, in batches of batch_size in graph order; rows put back at their nodes / graphs.
  const Dataset& ds = problem_.data;
  const int64_t graphs = problem_.graph_index->num_graphs();
  Mat out;
  for (int64_t first = 0; first < graphs; first += batch_size()) {
    std::vector<int32_t> ids(static_cast<size_t>(std::min(batch_size(), graphs - first)));
    std::iota(ids.begin(), ids.end(), static_cast<int32_t>(first));
    const GraphBatch b = make_batch(ds, *problem_.graph_index, ids);
    tape_.clear();
    const Tape<float>::NoGrad no_grad(tape_);
    const Mat rows = tape_.value(run(b));
    if (out.size() == 0) out.resize(per_graph ? graphs : ds.num_nodes, rows.cols());
    const std::vector<int32_t>& at = per_graph ? b.graphs : b.nodes;
    for (size_t i = 0; i < at.size(); ++i) out.row(at[i]) = rows.row(static_cast<Eigen::Index>(i));
  }
  return out;
}

void Trainer::set_parameters(const std::vector<float>& params) {
  if (static_cast<int64_t>(params.size()) != store_.size())
    throw InputError("the model has " + std::to_string(store_.size()) + " parameters, the values given " +
                     std::to_string(params.size()) + ": they come from another model or another input width");
  std::copy(params.begin(), params.end(), store_.values().begin());
}

bool Trainer::lr_exhausted() const {
  return options_.lr_schedule == LrSchedule::Plateau && optimizer_.options().lr < options_.lr_min;
}

TrainerState Trainer::state() const {
  TrainerState s;
  s.epoch = epoch_;
  s.run = run_;
  s.best_val = selector_.best_val;
  s.best_val_loss = selector_.best_val_loss;
  s.since_best = selector_.since_best;
  s.lr = optimizer_.options().lr;
  s.lr_best_loss = lr_best_loss_;
  s.lr_bad_epochs = lr_bad_epochs_;
  s.rng_state = rng_.state();
  s.params.assign(store_.values().begin(), store_.values().end());
  s.optim = optimizer_.state();
  return s;
}

void Trainer::restore(const TrainerState& s) {
  // The model was built from the same seed (graph caches, anchor sets); it takes the saved
  // parameters, optimiser and RNG state.
  check(static_cast<int64_t>(s.params.size()) == store_.size(), "checkpoint: parameter count differs from the model's");
  std::copy(s.params.begin(), s.params.end(), store_.values().begin());
  optimizer_.set_state(s.optim);
  rng_.set_state(s.rng_state);
  selector_.best_val = s.best_val;
  selector_.best_val_loss = s.best_val_loss;
  selector_.since_best = s.since_best;
  if (s.lr > 0) optimizer_.set_lr(s.lr);
  lr_best_loss_ = s.lr_best_loss;
  lr_bad_epochs_ = s.lr_bad_epochs;
  run_ = s.run;
  epoch_ = s.epoch;
  finished_ = epoch_ >= options_.max_epoch || lr_exhausted();
}

}  // namespace locus
