// Writes a Dataset as a folder in the shared dataset-YAML schema (dataset.yaml, edges.tsv,
// features.tsv, labels.tsv, train/val/test.txt) that load_dataset_yaml reads back equal, so
// generated graphs can be saved, shared and loaded like any other dataset.
#pragma once
#include <string>

#include "datasets/dataset.hpp"

namespace locus {

// Throws InputError (naming `dir` and the fix `--force`) when `dir` exists and is not an empty
// folder, unless `overwrite`; throws when it is a file. Creates nothing: callers check before
// spending time on a dataset they could not save.
void check_output_dir(const std::string& dir, bool overwrite);

// Writes `ds` into `dir` (created if missing). What load_dataset_yaml(dir + "/dataset.yaml")
// returns equals `ds` in every field but `source` (and num_duplicates_merged /
// num_self_loops_dropped, which describe the file `ds` was read from and are 0 after the round
// trip; num_input_edges becomes the number of edge lines written).
// Files (tab-separated, '#' comments at the top of the edge file only):
// - edges.tsv: one line per undirected pair ("a b", the a->b of each a->b, b->a pair; a self loop
//   once) or per directed edge; a third column with the weight when weighted. Omitted when there
//   are no edges.
// - features.tsv: "node v1 ... vd" for every node when ds.features_dense, else "node feature value"
//   per non-zero; omitted with zero columns. Floats are written in their shortest form that
//   reads back to the same float (std::to_chars), falling back to 17 digits where the loader's
//   parse-as-double-then-round would differ.
// - labels.tsv: "node label" per labelled node (label names when ds.label_names is set).
// - graphs.tsv, for a dataset of many graphs: "node graph" for every node; graph_labels.tsv:
//   "graph label" per labelled graph; graph_targets.tsv: "graph v1 ... vt" per graph.
// - train.txt / val.txt / test.txt: one id per line, in the Dataset's order; empty parts omitted.
//   With many graphs they list graph ids (train_graphs, ...), from which the loader derives a node
//   task's node splits (the labelled nodes of those graphs). Edge labels cannot be written yet.
// With ds.node_names, ids are written as names (`ids: name`); the loader numbers named nodes by
// first appearance, so this needs labels/features/edges to name the nodes in index order (an
// InputError says so otherwise).
// A new or empty `dir` appears whole or not at all: the files are written into a sibling
// staging folder (dir.tmp.PID, removed on error) that is renamed to `dir` at the end. With
// `overwrite` into a non-empty folder each file is replaced atomically (write_file_atomic),
// dataset.yaml last, so a folder without it is an interrupted write; files this writer would have
// written but no longer needs (e.g. an old features.tsv) are removed; other files are left alone.
// The text is formatted in parallel straight into one buffer per file (std::to_chars): tens of
// millions of edges take seconds.
// Throws ShapeError for an inconsistent Dataset (e.g. an undirected edge list whose edges do not
// come in a->b, b->a pairs).
void write_dataset(const Dataset& ds, const std::string& dir, bool overwrite = false);

}  // namespace locus
