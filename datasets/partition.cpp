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
  const Csr sym = g.symmetrise();
  std::vector<idx_t> xadj(static_cast<size_t>(n) + 1, 0), adj;
  adj.reserve(static_cast<size_t>(sym.num_edges()));
  for (int64_t v = 0; v < n; ++v) {
    int32_t last = -1;
    for (int64_t p = sym.indptr[v]; p < sym.indptr[v + 1]; ++p) {  // sorted within a row
      const int32_t s = sym.indices[p];
      if (s != v && s != last) adj.push_back(s);
      last = s;
    }
    if (adj.size() > static_cast<size_t>(std::numeric_limits<idx_t>::max()))
      throw InputError("the graph has more than 2^31 edges: METIS (32-bit) cannot partition it");
    xadj[v + 1] = static_cast<idx_t>(adj.size());
  }
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

void write_partition_folder(const PartitionFolder& p, const PartitionStats& stats, bool overwrite) {
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
    std::string y = "# Written by `locus partition`; train with\n#   mpirun -np " + std::to_string(p.num_parts) +
                    " locus train CONFIG.yaml dataset.partitions=" + target.filename().string() + "\n";
    y += "format: 1\n";
    y += "dataset: \"" + p.dataset + "\"\n";
    y += fmt::format("num_parts: {}\nnum_nodes: {}\nnum_edges: {}\ngraph_checksum: \"{:016x}\"\n", p.num_parts,
                     p.num_nodes, p.num_edges, p.graph_checksum);
    y += "parts: parts.txt\n";
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

PartitionFolder read_partition_folder(const std::string& dir) {
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
                                              "graph_checksum", "parts", "stats"};
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
  const std::string parts_file = (fs::path(dir) / need("parts").Scalar()).string();
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
