// A layer type written outside Locus, registered at start-up, then named in a YAML config and
// trained by the library's experiment runner like a built-in one.
//
//   custom_layer CONFIG.yaml [key=value ...]      (cora.yaml beside this file)
#include <cstdio>
#include <iostream>
#include <locus/apps/config.hpp>
#include <locus/layers/registry.hpp>
#include <locus/train/experiment.hpp>

namespace {

// MeanRes: the node and the mean of its in-neighbours through one map,
//   h'_v = (h_v + mean_{u→v} h_u) W + b.
// (h + mean h) W = h W + mean(h W): the map runs first, so a sparse input stays sparse.
template <class T>
class MeanRes {
 public:
  MeanRes(locus::ParamStore<T>& store, locus::Rng& rng, const std::string& name, int64_t in, int64_t out, bool decay)
      : lin_(store, rng, name, in, out, /*bias=*/true, decay) {}
  locus::Var forward(locus::Tape<T>& t, const locus::Csr& g, const locus::Features<T>& x) const {
    const locus::Var hw = lin_.transform(t, x);  // [n, out]
    const locus::Var mean = locus::ops::gspmm(t, locus::GraphRef(g), hw, locus::ops::Reduce::Mean);
    return lin_.add_bias(t, locus::ops::add(t, hw, mean));
  }

 private:
  locus::Linear<T> lin_;
};

locus::LayerDescriptor meanres_layer() {
  locus::LayerDescriptor d;
  d.name = "meanres";
  d.summary = "node plus the mean of its in-neighbours, one map (examples/custom_layer)";
  d.formula = "h'_v = (h_v + mean_{u→v} h_u) W + b";
  d.distributed = true;  // reads in-neighbours only
  d.graph = locus::graph_as_loaded;  // runs on the graph as loaded (no self loops, no normalisation)
  d.graph_memory = locus::graph_as_loaded_memory;
  locus::set_simple_factory<MeanRes>(d);  // constructor (store, rng, name, in, out, decay)
  d.memory = [](const locus::MemoryShape& s, double in, double out, bool) {
    locus::LayerMemory m;
    m.params = in * out + out;
    m.activations = s.n * out * 8;  // transform, mean, sum, bias, activation, dropout (values and gradients)
    return m;
  };
  return d;
}

// Registered before main: the program's configs can name it from here on.
const bool registered = locus::register_layer(meanres_layer());

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: custom_layer CONFIG.yaml [key=value ...]\n";
    return 2;
  }
  try {
    const locus::ExperimentConfig cfg = locus::load_config(argv[1], std::vector<std::string>(argv + 2, argv + argc));
    locus::ExperimentCallbacks progress;
    progress.on_run_end = [&](int run, const locus::RunResult& r, bool) {
      std::printf("run %d (seed %llu): best epoch %d, val %.2f%%, test %.2f%%\n", run + 1,
                  static_cast<unsigned long long>(r.seed), r.best_epoch, 100 * r.val_acc, 100 * r.test_acc);
    };
    const locus::TrainSummary s = locus::run_experiment(cfg, progress);
    std::printf("%s (%s) on %s: test accuracy %.2f%% ± %.2f over %zu runs, %.2f ms per epoch, %lld parameters\n",
                s.model.c_str(), locus::layer_descriptor(cfg.gnn.layer_type).formula.c_str(), s.dataset.c_str(),
                100 * s.test_acc_mean, 100 * s.test_acc_std, s.runs.size(), s.epoch_ms_median,
                static_cast<long long>(s.num_params));
  } catch (const locus::InputError& e) {
    std::cerr << "custom_layer: " << e.what() << "\n";
    return 2;
  }
  return registered ? 0 : 1;
}
