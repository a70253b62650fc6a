// Node classification with Locus as a library: load a dataset YAML, train a GCN with a progress
// callback, report the test accuracy, save the model file, load it back as a deployed program
// would, and write every node's predicted class to a CSV with the dataset's node ids and class names.
//
//   node_classification DATASET.yaml [predictions.csv]   (also writes model.locus)
#include <cstdio>
#include <fstream>
#include <iostream>
#include <locus/core/error.hpp>
#include <locus/core/io.hpp>
#include <locus/train/model.hpp>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: node_classification DATASET.yaml [predictions.csv]\n";
    return 2;
  }
  const std::string out_path = argc == 3 ? argv[2] : "predictions.csv";
  try {
    // The dataset, made ready for a model: features row-normalised, splits from the YAML.
    locus::DatasetOptions data;
    data.path = argv[1];
    data.feature_norm = "row";
    const locus::Dataset loaded = locus::load_dataset(data);
    const locus::Problem problem = locus::make_problem(loaded, data);
    const locus::Dataset& ds = problem.data;
    std::cout << ds.name << ": " << ds.num_nodes << " nodes, " << problem.num_edges << " edges, " << ds.num_classes
              << " classes\n";

    // Kipf & Welling's GCN: 2 layers, 16 hidden, dropout 0.5; Adam, lr 0.01, weight decay 5e-4
    // on the first layer, 200 epochs, the epoch of best validation accuracy kept. (The defaults.)
    locus::ExperimentConfig cfg;
    cfg.dataset = data;
    cfg.gnn.layer_type = "gcn";
    const locus::TrainOptions& options = cfg.train;
    locus::Trainer trainer(problem, cfg.gnn, options, /*seed=*/0);

    const locus::RunResult& run = trainer.fit([&](const locus::EpochMetrics& m) {
      std::fprintf(stderr, "\repoch %3d/%d  loss %.4f  train %.3f  val %.3f", m.epoch, options.max_epoch, m.loss,
                   m.train_acc, m.val_acc);
      return true;  // false would stop here
    });
    std::fprintf(stderr, "\n");
    std::printf("test accuracy %.2f%% at epoch %d", 100 * run.test_acc, run.best_epoch);
    if (problem.num_val > 0) std::printf(" (validation %.2f%%)", 100 * run.val_acc);
    std::printf("\n");

    // The selected epoch's model as a file, loaded back as a program deploying it would.
    locus::Model::from_run(cfg, problem, locus::dataset_fingerprint(loaded), run, 0).save("model.locus");
    const locus::Model model = locus::Model::load("model.locus");
    const locus::Prediction pred = model.predict(loaded);
    std::printf("model.locus: test accuracy %.2f%%\n", 100 * pred.scores.test);

    // Each node's class: the dataset's node ids (names when it has them) and class names.
    std::string csv = "node,predicted,probability,label\n";
    for (int64_t v = 0; v < ds.num_nodes; ++v) {
      Eigen::Index best;
      const double p = pred.output.row(v).maxCoeff(&best);
      const int32_t label = pred.labels[v];
      const std::string id = ds.node_names.empty() ? std::to_string(v) : ds.node_names[v];
      csv += id + "," + model.classes()[best] + "," + std::to_string(p) + "," + (label < 0 ? "" : model.classes()[label]) + "\n";
    }
    locus::write_file_atomic(out_path, csv);  // a whole file or none
    std::printf("predictions: %s\n", out_path.c_str());
  } catch (const locus::InputError& e) {
    std::cerr << "node_classification: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
