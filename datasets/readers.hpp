// Readers for the files a dataset YAML points to: edge lists, features (sparse or dense),
// labels, node-id lists (splits) and node tables. Each checks its rows and reports bad input
// as InputError with file:line, the token and the fix. Node ids go through one NodeIdMap.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tensor.hpp"
#include "datasets/text_reader.hpp"

namespace locus {

enum class IdMode { Index, Name };

// Turns id tokens into node indices 0..N-1.
// Index mode: the token is the index; N is num_nodes if declared, else 1 + the largest id seen in a
// defining file. Name mode: new tokens get the next index, in order of first appearance.
// A file that does not define nodes (split files; everything but the node table when there is
// one) may only use ids already in the node set.
class NodeIdMap {
 public:
  // declared_num_nodes < 0: not declared. `yaml_file`/`yaml_line` locate `ids:`/`num_nodes:` for hints.
  NodeIdMap(IdMode mode, int64_t declared_num_nodes, std::string yaml_file, long num_nodes_line);

  int32_t resolve(const LineReader& r, std::string_view token, bool define);
  int64_t num_nodes() const;
  IdMode mode() const { return mode_; }
  bool declared() const { return declared_ >= 0; }
  const std::vector<std::string>& names() const { return names_; }  // name mode only
  std::vector<std::string> take_names() { return std::move(names_); }
  // Says, in error hints, which files may introduce nodes (e.g. "the node table").
  void set_defining_files(std::string what) { defining_ = std::move(what); }

 private:
  [[noreturn]] void unknown_name(const LineReader& r, std::string_view token) const;

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  IdMode mode_;
  int64_t declared_;
  int64_t seen_ = 0;  // index mode: 1 + largest id seen in a defining file
  std::string yaml_file_;
  long num_nodes_line_;
  std::string defining_ = "the labels, features or edges files";
  std::vector<std::string> names_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> index_of_;
};

enum class DuplicatePolicy { Merge, Error };
enum class SelfLoopPolicy { Keep, Drop, Error };

struct EdgeOptions {
  TextFormat format;
  bool directed = false;
  bool weighted = false;
  DuplicatePolicy duplicates = DuplicatePolicy::Merge;
  SelfLoopPolicy self_loops = SelfLoopPolicy::Keep;
};

// Directed, expanded edges in file order: an undirected line "a b" gives a->b then b->a, a self
// loop once. A merged duplicate keeps the weight of its first line.
struct EdgeList {
  std::vector<int32_t> src, dst;
  std::vector<float> weight;  // empty unless weighted
  int64_t num_input_edges = 0;
  int64_t num_duplicates_merged = 0;
  int64_t num_self_loops_dropped = 0;
};
EdgeList read_edges(const std::string& path, const EdgeOptions& opt, NodeIdMap& ids, bool define);

// Feature non-zeros, assembled into a matrix once the node count is final.
struct FeatureEntries {
  std::vector<int32_t> row, col;
  std::vector<float> value;
  int64_t dim = 0;
};
SpMat build_feature_matrix(const FeatureEntries& f, int64_t num_nodes);

// "node feature value" per non-zero; 0 <= feature < dim. Explicit zeros are not stored.
FeatureEntries read_sparse_features(const std::string& path, const TextFormat& fmt, int64_t dim,
                                    NodeIdMap& ids, bool define);
// "node v1 ... vd"; dim <= 0 takes the width of the first row. Nodes without a row get zeros.
FeatureEntries read_dense_features(const std::string& path, const TextFormat& fmt, int64_t dim,
                                   NodeIdMap& ids, bool define);

// Raw labels: one (node, token) per labelled node, with the line for later errors.
struct LabelEntries {
  std::string path;
  std::vector<int32_t> node;
  std::vector<std::string> token;
  std::vector<long> line;
};
// "node label" per line; a node labelled twice is an error.
LabelEntries read_labels(const std::string& path, const TextFormat& fmt, NodeIdMap& ids, bool define);

// Final labels: integer labels when every token is an integer (must be 0..C-1), otherwise every
// token is a class name and classes are numbered in sorted (byte) order. declared_classes <= 0:
// not declared (C = 1 + the largest label, or the number of names). Unlabelled nodes get -1.
struct ResolvedLabels {
  std::vector<int32_t> labels;
  int32_t num_classes = 0;
  std::vector<std::string> names;
};
ResolvedLabels resolve_labels(const LabelEntries& e, int64_t num_nodes, int64_t declared_classes,
                              const std::string& yaml_file, long num_classes_line);

// One id per line; an id listed twice is an error. Never defines nodes.
struct IdList {
  std::string path;
  std::vector<int32_t> ids;
  std::vector<long> line;
};
IdList read_id_list(const std::string& path, const TextFormat& fmt, NodeIdMap& ids);

// A Python-style [start:stop) column slice; negative values count from the end.
struct ColumnSlice {
  std::optional<int64_t> start, stop;
};
std::optional<ColumnSlice> parse_column_slice(std::string_view text);

struct NodeTableOptions {
  TextFormat format;
  int64_t id_column = 0;
  std::optional<int64_t> label_column;
  std::optional<ColumnSlice> feature_columns;
  std::optional<int64_t> graph_column;  // datasets of many graphs: the graph id of each node
  std::string where;  // e.g. "nodes in dataset.yaml:12", named in column errors
};
struct NodeTable {
  LabelEntries labels;      // empty unless label_column is set
  LabelEntries graphs;      // (node, graph id token); empty unless graph_column is set
  FeatureEntries features;  // dim 0 unless feature_columns is set
  bool has_labels = false, has_features = false;
};
// Every row has the same width; the id, label, graph and feature columns must not overlap.
NodeTable read_node_table(const std::string& path, const NodeTableOptions& opt, NodeIdMap& ids);

}  // namespace locus
