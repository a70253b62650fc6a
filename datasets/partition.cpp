#include "datasets/partition.hpp"

#include <fmt/format.h>
#include <metis.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/binary_file.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "core/yaml_input.hpp"
#include "datasets/writer.hpp"

namespace locus {

std::vector<int32_t> metis_partition(const Csr& g, int num_parts, uint64_t seed) {
  const int64_t n = g.num_dst;
  check(g.num_src == n, "metis_partition: the graph must be square");
  if (num_parts < 1) throw InputError(fmt::format("cannot cut a graph into {} parts: use at least 1", num_parts));
  if (num_parts > n)
    throw InputError(fmt::format("cannot cut {} nodes into {} parts: use at most {} parts", n, num_parts, n));
  std::vector<int32_t> part(static_cast<size_t>(n), 0);
  if (num_parts == 1) return part;
  // METIS wants each undirected edge in both rows, no self loops, no repeats.
  const Csr s = g.simple_pattern();
  if (s.indices.size() > static_cast<size_t>(std::numeric_limits<idx_t>::max()))
    throw InputError("the graph has more than 2^31 edges: METIS (32-bit) cannot partition it");
  std::vector<idx_t> xadj(s.indptr.begin(), s.indptr.end()), adj(s.indices.begin(), s.indices.end());
  idx_t nv = static_cast<idx_t>(n), ncon = 1, nparts = num_parts, objval = 0;
  idx_t options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_SEED] = static_cast<idx_t>(seed % 1000003);
  options[METIS_OPTION_NUMBERING] = 0;
  std::vector<idx_t> out(static_cast<size_t>(n), 0);
  const int rc = METIS_PartGraphKway(&nv, &ncon, xadj.data(), adj.empty() ? nullptr : adj.data(), nullptr, nullptr,
                                     nullptr, &nparts, nullptr, nullptr, options, &objval, out.data());
  if (rc != METIS_OK)
    throw std::runtime_error(fmt::format("METIS_PartGraphKway failed ({}) on {} nodes and {} parts",
                                         rc == METIS_ERROR_MEMORY ? "out of memory" : "error", n, num_parts));
  for (int64_t v = 0; v < n; ++v) part[v] = static_cast<int32_t>(out[v]);
  return part;
}

PartitionStats partition_stats(const Csr& g, const std::vector<int32_t>& part, int num_parts) {
  PartitionStats s;
  s.num_parts = num_parts;
  s.num_nodes = g.num_dst;
  s.num_edges = g.num_edges();
  s.parts.resize(static_cast<size_t>(num_parts));
  // Each cut edge s → d puts s in d's part's halo and among s's part's sent rows: count the
  // distinct (part of d, s) pairs.
  std::vector<uint64_t> keys;
  for (int64_t d = 0; d < g.num_dst; ++d) {
    const int32_t pd = part[d];
    s.parts[pd].nodes += 1;
    s.parts[pd].edges += g.indptr[d + 1] - g.indptr[d];
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) {
      const int32_t src = g.indices[p];
      if (part[src] != pd) {
        ++s.cut_edges;
        keys.push_back((static_cast<uint64_t>(pd) << 32) | static_cast<uint32_t>(src));
      }
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::set<std::pair<int32_t, int32_t>> links;
  for (uint64_t k : keys) {
    const auto pd = static_cast<int32_t>(k >> 32);
    const auto src = static_cast<int32_t>(k & 0xffffffffu);
    s.parts[pd].halo += 1;
    s.parts[part[src]].send_rows += 1;
    links.insert({std::min(pd, part[src]), std::max(pd, part[src])});
  }
  for (const auto& [a, b] : links) {
    s.parts[a].peers += 1;
    s.parts[b].peers += 1;
  }
  int64_t largest = 0;
  for (const auto& p : s.parts) largest = std::max(largest, p.nodes);
  s.balance = s.num_nodes > 0 ? static_cast<double>(largest) * num_parts / static_cast<double>(s.num_nodes) : 1.0;
  return s;
}

std::string format_partition_stats(const PartitionStats& s) {
  int64_t halo = 0;
  for (const auto& p : s.parts) halo += p.halo;
  std::string out = fmt::format(
      "{} parts of {} nodes, {} edges: cut edges {} ({:.2f}%), halo rows {} ({:.2f} per owned node), balance {:.3f}\n",
      s.num_parts, s.num_nodes, s.num_edges, s.cut_edges,
      s.num_edges ? 100.0 * static_cast<double>(s.cut_edges) / static_cast<double>(s.num_edges) : 0.0, halo,
      s.num_nodes ? static_cast<double>(halo) / static_cast<double>(s.num_nodes) : 0.0, s.balance);
  out += fmt::format("{:>6} {:>10} {:>12} {:>10} {:>10} {:>6}\n", "part", "nodes", "edges", "halo", "sent rows", "peers");
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const auto& p = s.parts[i];
    out += fmt::format("{:>6} {:>10} {:>12} {:>10} {:>10} {:>6}\n", i, p.nodes, p.edges, p.halo, p.send_rows, p.peers);
  }
  return out;
}

uint64_t graph_checksum(const Csr& g) {
  uint64_t h = fnv1a64(g.indptr.data(), g.indptr.size() * sizeof(int64_t));
  return fnv1a64(g.indices.data(), g.indices.size() * sizeof(int32_t), h);
}

PartData make_part(const Dataset& ds, const Csr& graph, const std::vector<int32_t>& part, int rank, int num_parts,
                   const std::string& dataset) {
  PartData p;
  p.dataset = dataset;
  p.name = ds.name;
  p.rank = rank;
  p.num_parts = num_parts;
  p.num_nodes = ds.num_nodes;
  p.num_edges = graph.num_edges();
  p.num_train = static_cast<int64_t>(ds.train.size());
  p.num_val = static_cast<int64_t>(ds.val.size());
  p.num_test = static_cast<int64_t>(ds.test.size());
  p.num_classes = ds.num_classes;
  p.graph_checksum = graph_checksum(graph);
  p.layout = dist::make_layout(graph, part, rank, num_parts);
  p.graph = dist::extract_rows(graph, p.layout);
  const auto& owned = p.layout.owned;
  std::vector<int32_t> local(static_cast<size_t>(ds.num_nodes), -1);
  std::vector<Eigen::Triplet<float>> t;
  for (size_t i = 0; i < owned.size(); ++i) {
    local[owned[i]] = static_cast<int32_t>(i);
    p.labels.push_back(ds.labels.empty() ? -1 : ds.labels[owned[i]]);
    if (ds.features.cols() > 0)
      for (SpMat::InnerIterator it(ds.features, owned[i]); it; ++it)
        t.emplace_back(static_cast<Eigen::Index>(i), it.col(), it.value());
  }
  if (ds.features.cols() == 0) {
    p.feature_nnz_start.assign(owned.begin(), owned.end());
  } else {
    // Offsets in the compressed matrix (as locus train compresses it): prefix sums of the row
    // lengths, read from the row pointers (and the per-row counts of an uncompressed matrix).
    const SpMat& f = ds.features;
    const int* outer = f.outerIndexPtr();
    const int* counts = f.innerNonZeroPtr();  // null when compressed
    std::vector<int64_t> start(static_cast<size_t>(ds.num_nodes) + 1, 0);
    for (int64_t v = 0; v < ds.num_nodes; ++v) start[v + 1] = start[v] + (counts ? counts[v] : outer[v + 1] - outer[v]);
    for (int32_t v : owned) p.feature_nnz_start.push_back(start[v]);
  }
  p.features.resize(static_cast<Eigen::Index>(owned.size()), ds.features.cols());
  p.features.setFromTriplets(t.begin(), t.end());
  p.features.makeCompressed();
  for (auto [ids, rows] : {std::pair{&ds.train, &p.train}, std::pair{&ds.val, &p.val}, std::pair{&ds.test, &p.test}})
    for (int32_t g : *ids)
      if (local[g] >= 0) rows->push_back(local[g]);
  return p;
}

std::string part_file(const std::string& dir, int rank) {
  return (std::filesystem::path(dir) / ("part-" + std::to_string(rank) + ".bin")).string();
}

namespace {
const BinaryFormat& part_format() {
  static const BinaryFormat f{{'L', 'O', 'C', 'U', 'S', 'P', 'R', 'T'},
                              1,
                              "partition part",
                              "the partition folder holds another program's file; rewrite it with locus partition",
                              "rewrite the partition folder with this version's locus partition",
                              "rewrite the partition folder with locus partition"};
  return f;
}
}  // namespace

void write_part(const std::string& path, const PartData& p) {
  BinaryWriter w;
  w.str(p.dataset);
  w.str(p.name);
  for (int v : {p.rank, p.num_parts}) w.pod(v);
  for (int64_t v : {p.num_nodes, p.num_edges, p.num_train, p.num_val, p.num_test}) w.pod(v);
  w.pod(p.num_classes);
  w.pod(p.graph_checksum);
  const dist::LocalLayout& l = p.layout;
  w.vec(l.owned);
  w.vec(l.halo);
  w.pod<uint64_t>(l.peers.size());
  for (const auto& peer : l.peers) {
    w.pod(peer.rank);
    w.vec(peer.send_rows);
    w.pod(peer.recv_offset);
    w.pod(peer.recv_count);
  }
  w.pod(p.graph.num_dst);
  w.pod(p.graph.num_src);
  w.vec(p.graph.indptr);
  w.vec(p.graph.indices);
  w.vec(p.graph.weights);
  const SpMat& x = p.features;
  w.pod<int64_t>(x.rows());
  w.pod<int64_t>(x.cols());
  w.vec(std::vector<int>(x.outerIndexPtr(), x.outerIndexPtr() + x.rows() + 1));
  w.vec(std::vector<int>(x.innerIndexPtr(), x.innerIndexPtr() + x.nonZeros()));
  w.vec(std::vector<float>(x.valuePtr(), x.valuePtr() + x.nonZeros()));
  w.vec(p.feature_nnz_start);
  w.vec(p.labels);
  w.vec(p.train);
  w.vec(p.val);
  w.vec(p.test);
  write_binary_file(path, part_format(), w.bytes());
}

PartData read_part(const std::string& path) {
  const std::string bytes = read_binary_file(path, part_format());
  BinaryReader r(path, part_format(), bytes.data(), bytes.size());
  PartData p;
  p.dataset = r.str();
  p.name = r.str();
  p.rank = r.pod<int>();
  p.num_parts = r.pod<int>();
  for (int64_t* v : {&p.num_nodes, &p.num_edges, &p.num_train, &p.num_val, &p.num_test}) *v = r.pod<int64_t>();
  p.num_classes = r.pod<int32_t>();
  p.graph_checksum = r.pod<uint64_t>();
  dist::LocalLayout& l = p.layout;
  l.rank = p.rank;
  l.num_parts = p.num_parts;
  l.num_nodes = p.num_nodes;
  l.owned = r.vec<int32_t>();
  l.halo = r.vec<int32_t>();
  const uint64_t peers = r.count();
  for (uint64_t i = 0; i < peers; ++i) {
    dist::LocalLayout::Peer peer;
    peer.rank = r.pod<int>();
    peer.send_rows = r.vec<int32_t>();
    peer.recv_offset = r.pod<int64_t>();
    peer.recv_count = r.pod<int64_t>();
    l.peers.push_back(std::move(peer));
  }
  Csr& g = p.graph;
  g.num_dst = r.pod<int64_t>();
  g.num_src = r.pod<int64_t>();
  g.indptr = r.vec<int64_t>();
  g.indices = r.vec<int32_t>();
  g.weights = r.vec<float>();
  const auto rows = r.pod<int64_t>(), cols = r.pod<int64_t>();
  const auto outer = r.vec<int>(), inner = r.vec<int>();
  const auto values = r.vec<float>();
  p.feature_nnz_start = r.vec<int64_t>();
  p.labels = r.vec<int32_t>();
  p.train = r.vec<int32_t>();
  p.val = r.vec<int32_t>();
  p.test = r.vec<int32_t>();
  // Every index is checked, so a damaged file cannot make training read out of bounds.
  const int64_t own = l.num_own(), halo = l.num_halo();
  bool ok = r.at_end() && p.num_parts >= 1 && p.rank >= 0 && p.rank < p.num_parts && g.num_dst == own &&
            g.num_src == own + halo && static_cast<int64_t>(g.indptr.size()) == own + 1 && g.indptr.front() == 0 &&
            g.indptr.back() == static_cast<int64_t>(g.indices.size()) &&
            (g.weights.empty() || g.weights.size() == g.indices.size()) && rows == own && cols >= 0 &&
            static_cast<int64_t>(outer.size()) == rows + 1 && outer.front() == 0 &&
            outer.back() == static_cast<int>(inner.size()) && inner.size() == values.size() &&
            static_cast<int64_t>(p.labels.size()) == own &&
            static_cast<int64_t>(p.feature_nnz_start.size()) == own && p.num_classes >= 0;
  for (int64_t i = 0; ok && i < own; ++i) ok = g.indptr[i] <= g.indptr[i + 1] && outer[i] <= outer[i + 1];
  for (int32_t s : g.indices) ok = ok && s >= 0 && s < g.num_src;
  for (int c : inner) ok = ok && c >= 0 && c < cols;
  for (int32_t y : p.labels) ok = ok && y >= -1 && y < p.num_classes;
  for (const auto* rows_of : {&p.train, &p.val, &p.test})
    for (int32_t v : *rows_of) ok = ok && v >= 0 && v < own;
  for (int32_t v : l.owned) ok = ok && v >= 0 && v < p.num_nodes;
  for (int32_t v : l.halo) ok = ok && v >= 0 && v < p.num_nodes;
  for (const auto& peer : l.peers) {
    ok = ok && peer.rank >= 0 && peer.rank < p.num_parts && peer.rank != p.rank && peer.recv_offset >= 0 &&
         peer.recv_count >= 0 && peer.recv_offset + peer.recv_count <= halo;
    for (int32_t v : peer.send_rows) ok = ok && v >= 0 && v < own;
  }
  if (!ok) r.corrupt();
  p.features.resize(rows, cols);
  std::vector<Eigen::Triplet<float>> t;
  t.reserve(values.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int k = outer[i]; k < outer[i + 1]; ++k) t.emplace_back(static_cast<Eigen::Index>(i), inner[k], values[k]);
  p.features.setFromTriplets(t.begin(), t.end());
  p.features.makeCompressed();
  return p;
}

void write_partition_folder(const PartitionFolder& p, const PartitionStats& stats, const Dataset* ds,
                            const Csr* graph, bool overwrite) {
  namespace fs = std::filesystem;
  check_output_dir(p.dir, overwrite);
  check(static_cast<int64_t>(p.part.size()) == p.num_nodes, "write_partition_folder: one part per node");
  const fs::path target(p.dir);
  const fs::path stage(target.string() + ".tmp." + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(stage, ec);
  try {
    std::string parts;
    parts.reserve(p.part.size() * 3);
    char buf[16];
    for (int32_t v : p.part) {
      const auto r = std::to_chars(buf, buf + sizeof buf, v);
      parts.append(buf, r.ptr);
      parts += '\n';
    }
    write_file_atomic((stage / "parts.txt").string(), parts);
    if (ds && graph)
      for (int k = 0; k < p.num_parts; ++k)
        write_part(part_file(stage.string(), k), make_part(*ds, *graph, p.part, k, p.num_parts, p.dataset));
    std::string y = "# Written by `locus partition`; train with\n#   mpirun -np " + std::to_string(p.num_parts) +
                    " locus train CONFIG.yaml dataset.partitions=" +
                    fs::absolute(target).lexically_normal().string() + "\n";
    y += "format: 1\n";
    y += "dataset: \"" + p.dataset + "\"\n";
    y += fmt::format("num_parts: {}\nnum_nodes: {}\nnum_edges: {}\ngraph_checksum: \"{:016x}\"\n", p.num_parts,
                     p.num_nodes, p.num_edges, p.graph_checksum);
    y += "parts: parts.txt\n";
    y += fmt::format("part_files: {}  # part-K.bin per part (what rank K reads)\n", ds && graph ? "true" : "false");
    y += fmt::format("stats:  # for reading; not checked\n  cut_edges: {}\n  balance: {:.4f}\n  parts:\n", stats.cut_edges,
                     stats.balance);
    for (const auto& s : stats.parts)
      y += fmt::format("    - {{nodes: {}, edges: {}, halo: {}, send_rows: {}, peers: {}}}\n", s.nodes, s.edges, s.halo,
                       s.send_rows, s.peers);
    write_file_atomic((stage / "partition.yaml").string(), y);
    if (fs::exists(target, ec)) fs::remove_all(target, ec);  // empty, or overwrite asked for
    fs::rename(stage, target, ec);
    if (ec) throw_input_error(p.dir, 0, "cannot move the partition folder into place: " + ec.message(), p.dir,
                              "check the permissions of its parent folder");
  } catch (...) {
    fs::remove_all(stage, ec);
    throw;
  }
}

PartitionFolder read_partition_meta(const std::string& dir) {
  namespace fs = std::filesystem;
  PartitionFolder p;
  p.dir = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw_input_error(dir, 0, fs::exists(dir, ec) ? "dataset.partitions is not a folder:" : "no such partition folder:",
                      dir, "write one with: locus partition DATASET.yaml --parts P --out " + dir);
  const std::string meta = (fs::path(dir) / "partition.yaml").string();
  std::ifstream in(meta, std::ios::binary);
  if (!in)
    throw_input_error(meta, 0, "the partition folder has no partition.yaml:", dir,
                      "write it with: locus partition DATASET.yaml --parts P --out " + dir);
  const YAML::Node y = parse_yaml_capped(read_yaml_text(in, meta), meta, {}).front();
  if (!y.IsMap()) throw_input_error(meta, 0, "partition.yaml must be a mapping of keys", "", "rewrite it with locus partition");
  static const std::vector<std::string> known{"format", "dataset", "num_parts", "num_nodes", "num_edges",
                                              "graph_checksum", "parts", "part_files", "stats"};
  for (const auto& kv : y) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      const std::string near = nearest(key, known);
      throw_input_error(meta, kv.first.Mark().line + 1, "unknown key", key,
                        near.empty() ? "remove it" : "did you mean '" + near + "'?");
    }
  }
  auto need = [&](const char* key) {
    const YAML::Node v = y[key];
    if (!v || !v.IsScalar()) throw_input_error(meta, 0, "missing key", key, "rewrite the folder with locus partition");
    return v;
  };
  auto as_int = [&](const char* key, int64_t lo) {
    const YAML::Node v = need(key);
    int64_t out = 0;
    const std::string text = v.Scalar();
    const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size() || out < lo)
      throw_input_error(meta, v.Mark().line + 1, fmt::format("{} must be an integer of at least {}, got", key, lo), text,
                        "rewrite the folder with locus partition");
    return out;
  };
  if (as_int("format", 1) != 1)
    throw_input_error(meta, y["format"].Mark().line + 1, "unknown partition format", y["format"].Scalar(),
                      "this Locus reads format 1; rewrite the folder with this version's locus partition");
  p.dataset = need("dataset").Scalar();
  const int64_t parts = as_int("num_parts", 1);
  if (parts > 1 << 20) throw_input_error(meta, y["num_parts"].Mark().line + 1, "num_parts is too large:", y["num_parts"].Scalar(), "use at most 1048576 parts");
  p.num_parts = static_cast<int>(parts);
  p.num_nodes = as_int("num_nodes", 1);
  p.num_edges = as_int("num_edges", 0);
  {
    const YAML::Node v = need("graph_checksum");
    const std::string text = v.Scalar();
    const auto r = std::from_chars(text.data(), text.data() + text.size(), p.graph_checksum, 16);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size() || text.size() != 16)
      throw_input_error(meta, v.Mark().line + 1, "graph_checksum must be 16 hexadecimal digits, got", text,
                        "rewrite the folder with locus partition");
  }
  p.parts_file = (fs::path(dir) / need("parts").Scalar()).string();
  if (const YAML::Node v = y["part_files"]) {
    if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false"))
      throw_input_error(meta, v.Mark().line + 1, "part_files must be true or false, got", v.IsScalar() ? v.Scalar() : "",
                        "rewrite the folder with locus partition");
    p.part_files = v.Scalar() == "true";
  }
  return p;
}

PartitionFolder read_partition_folder(const std::string& dir) {
  PartitionFolder p = read_partition_meta(dir);
  const std::string& parts_file = p.parts_file;
  std::ifstream pin(parts_file, std::ios::binary);
  if (!pin) throw_input_error(parts_file, 0, "cannot read the parts file", parts_file, "rewrite the folder with locus partition");
  p.part.reserve(static_cast<size_t>(std::min<int64_t>(p.num_nodes, int64_t(1) << 31)));
  std::string line;
  long lineno = 0;
  while (std::getline(pin, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    int32_t v = -1;
    const auto r = std::from_chars(line.data(), line.data() + line.size(), v);
    if (r.ec != std::errc() || r.ptr != line.data() + line.size() || v < 0 || v >= p.num_parts)
      throw_input_error(parts_file, lineno, fmt::format("each line must hold a part in [0, {}), got", p.num_parts), line,
                        "rewrite the folder with locus partition");
    if (static_cast<int64_t>(p.part.size()) >= p.num_nodes)
      throw_input_error(parts_file, lineno, fmt::format("more lines than the {} nodes of partition.yaml:", p.num_nodes),
                        line, "rewrite the folder with locus partition");
    p.part.push_back(v);
  }
  if (static_cast<int64_t>(p.part.size()) != p.num_nodes)
    throw_input_error(parts_file, lineno, fmt::format("{} lines for the {} nodes of partition.yaml", p.part.size(), p.num_nodes),
                      parts_file, "the file is truncated: rewrite the folder with locus partition");
  return p;
}

}  // namespace locus
