// libFuzzer target for the other data-file readers. Byte 0 picks the reader and options, the
// rest is the file:
//   bits 0-2 reader: 0/1 sparse features, 2 dense features (width from the first row),
//            3 dense features with dim 3, 4/5 labels (+ resolve_labels), 6 id list, 7 node table
//   bit 3 ids: name   bits 4-5 delimiter (whitespace, tab, comma, whitespace)
//   bit 6 declared num_nodes (8) / num_classes (2)   bit 7 node table: label column -1 and
//         feature columns 1:-1 (else label column 1, feature columns "2:")
// The id list and, with ids: name, the other readers see nodes 0..7 / n0..n7 defined first.
#include "core/error.hpp"
#include "datasets/readers.hpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace {

// load_dataset_yaml rejects a node set of more than 2^20 nodes with fewer than one entry per 16
// nodes before it allocates O(num_nodes) (datasets/loader.cpp); calls past the readers mimic it.
bool loader_accepts(int64_t num_nodes, size_t entries) {
  return num_nodes <= (int64_t{1} << 20) || num_nodes <= 16 * static_cast<int64_t>(entries);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace locus;
  if (size < 1) return 0;
  const uint8_t o = data[0];
  const int reader = o & 7;
  const IdMode mode = (o & 8) ? IdMode::Name : IdMode::Index;
  TextFormat fmt;
  const Delimiter delims[4] = {Delimiter::Whitespace, Delimiter::Tab, Delimiter::Comma, Delimiter::Whitespace};
  fmt.delimiter = delims[(o >> 4) & 3];
  const bool declared = o & 64;
  const std::string path = fuzz::scratch().write("table", fuzz::as_text(data + 1, size - 1));
  try {
    NodeIdMap ids(mode, declared ? 8 : -1, "dataset.yaml", 3);
    // The id list never defines nodes: give it some to refer to.
    if (reader == 6) {
      const std::string def = fuzz::scratch().write(
          "defs", mode == IdMode::Name ? "n0 0\nn1 1\nn2 0\nn3 1\nn4 0\nn5 1\nn6 0\nn7 1\n" : "0 0\n7 1\n");
      read_labels(def, TextFormat{}, ids, true);
    }
    FeatureEntries feats;
    switch (reader) {
      case 0:
      case 1: feats = read_sparse_features(path, fmt, 5, ids, true); break;
      case 2: feats = read_dense_features(path, fmt, 0, ids, true); break;
      case 3: feats = read_dense_features(path, fmt, 3, ids, true); break;
      case 4:
      case 5: {
        LabelEntries e = read_labels(path, fmt, ids, true);
        if (!loader_accepts(ids.num_nodes(), e.node.size())) break;
        ResolvedLabels r = resolve_labels(e, ids.num_nodes(), declared ? 2 : 0, "dataset.yaml", 7);
        for (int32_t l : r.labels)
          if (l < -1 || l >= r.num_classes) __builtin_trap();
        break;
      }
      case 6: read_id_list(path, fmt, ids); break;
      case 7: {
        NodeTableOptions t;
        t.format = fmt;
        t.where = "nodes in dataset.yaml:4";
        if (o & 128) {
          t.label_column = -1;
          t.feature_columns = parse_column_slice("1:-1");
        } else {
          t.label_column = 1;
          t.feature_columns = parse_column_slice("2:");
        }
        NodeTable nt = read_node_table(path, t, ids);
        feats = std::move(nt.features);
        if (!loader_accepts(ids.num_nodes(), nt.labels.node.size() + feats.value.size())) break;
        if (nt.has_labels && !nt.labels.node.empty())
          resolve_labels(nt.labels, ids.num_nodes(), 0, "dataset.yaml", 0);
        break;
      }
    }
    if (feats.dim > 0 && loader_accepts(ids.num_nodes(), feats.value.size())) {
      SpMat m = build_feature_matrix(feats, ids.num_nodes());
      if (m.rows() != ids.num_nodes() || m.cols() != feats.dim) __builtin_trap();
    }
  } catch (const InputError&) {
  }
  return 0;
}
