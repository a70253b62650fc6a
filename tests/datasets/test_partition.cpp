// METIS partitions and the partition folder: a cut of karate along its two factions, statistics
// equal to a brute-force count, a folder that reads back equal, and clear errors for damaged ones.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "datasets/builtin.hpp"
#include "datasets/partition.hpp"
#include "tests/testing/temp_dir.hpp"

using namespace locus;
using locus::testing::TempDir;

namespace {
Csr karate_graph() {
  const Dataset ds = builtin_dataset("karate");
  return Csr::from_edges(ds.num_nodes, ds.src, ds.dst, ds.weight);
}

std::string read_error(const std::string& dir) {
  try {
    read_partition_folder(dir);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

void write_folder(const TempDir& t, const std::string& yaml, const std::string& parts) {
  t.write("p/partition.yaml", yaml);
  t.write("p/parts.txt", parts);
}

const char* kYaml =
    "format: 1\ndataset: \"karate\"\nnum_parts: 2\nnum_nodes: 3\nnum_edges: 4\n"
    "graph_checksum: \"00000000000000ff\"\nparts: parts.txt\n";
}  // namespace

TEST_CASE("METIS cuts karate into two balanced parts with a small cut") {
  const Csr g = karate_graph();
  const auto part = metis_partition(g, 2);
  REQUIRE(part.size() == 34);
  const PartitionStats s = partition_stats(g, part, 2);
  CHECK(s.parts[0].nodes + s.parts[1].nodes == 34);
  CHECK(s.balance <= 1.06);  // METIS's default imbalance tolerance is 3% (rounded to whole nodes)
  // The factions split karate with 10 undirected edges (20 directed); METIS finds a cut as good.
  CHECK(s.cut_edges <= 24);
  CHECK(s.cut_edges % 2 == 0);  // an undirected graph cuts both directions
  // Same seed, same cut; one part puts everything in part 0.
  CHECK(metis_partition(g, 2) == part);
  CHECK(metis_partition(g, 1) == std::vector<int32_t>(34, 0));
  CHECK_THROWS_AS(metis_partition(g, 35), InputError);
}

TEST_CASE("partition statistics equal a brute-force count") {
  const Csr g = karate_graph();
  std::vector<int32_t> part(34);
  for (int v = 0; v < 34; ++v) part[v] = v % 3;
  const PartitionStats s = partition_stats(g, part, 3);
  int64_t cut = 0;
  std::vector<std::set<int32_t>> halo(3), sent(3);
  std::set<std::pair<int, int>> links;
  for (int32_t d = 0; d < 34; ++d)
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) {
      const int32_t src = g.indices[p];
      if (part[src] == part[d]) continue;
      ++cut;
      halo[part[d]].insert(src);
      sent[part[src]].insert(src * 3 + part[d]);  // (row, receiving part)
      links.insert({std::min(part[src], part[d]), std::max(part[src], part[d])});
    }
  CHECK(s.cut_edges == cut);
  CHECK(s.num_edges == 156);
  for (int q = 0; q < 3; ++q) {
    CHECK(s.parts[q].halo == static_cast<int64_t>(halo[q].size()));
    CHECK(s.parts[q].send_rows == static_cast<int64_t>(sent[q].size()));
    int peers = 0;
    for (const auto& [a, b] : links) peers += a == q || b == q;
    CHECK(s.parts[q].peers == peers);
  }
  CHECK(s.parts[0].nodes == 12);
  CHECK(s.balance == doctest::Approx(12.0 * 3 / 34));
  CHECK(format_partition_stats(s).find("cut edges " + std::to_string(cut)) != std::string::npos);
}

TEST_CASE("a partition folder reads back equal") {
  TempDir t;
  const Csr g = karate_graph();
  PartitionFolder p;
  p.dir = t.path("karate.part2");
  p.dataset = "karate";
  p.num_parts = 2;
  p.num_nodes = 34;
  p.num_edges = g.num_edges();
  p.graph_checksum = graph_checksum(g);
  p.part = metis_partition(g, 2);
  write_partition_folder(p, partition_stats(g, p.part, 2));
  const PartitionFolder q = read_partition_folder(p.dir);
  CHECK(q.dataset == "karate");
  CHECK(q.num_parts == 2);
  CHECK(q.num_nodes == 34);
  CHECK(q.num_edges == 156);
  CHECK(q.graph_checksum == p.graph_checksum);
  CHECK(q.part == p.part);
  // No staging folder is left, and an existing folder is never written over without asking.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(t.dir())) ++entries;
  CHECK(entries == 1);
  CHECK_THROWS_AS(write_partition_folder(p, partition_stats(g, p.part, 2)), InputError);
  write_partition_folder(p, partition_stats(g, p.part, 2), nullptr, nullptr, true);
  CHECK(read_partition_folder(p.dir).part == p.part);
  // Another graph has another checksum.
  Csr other = g;
  other.indices[0] = other.indices[0] == 1 ? 2 : 1;
  CHECK(graph_checksum(other) != graph_checksum(g));
}

TEST_CASE("damaged partition folders name the file, line and fix") {
  TempDir t;
  CHECK(read_error(t.path("none")).find("no such partition folder") != std::string::npos);
  CHECK(read_error(t.path("none")).find("locus partition DATASET.yaml --parts P --out") != std::string::npos);
  t.write("empty/x", "");
  CHECK(read_error(t.path("empty")).find("has no partition.yaml") != std::string::npos);

  write_folder(t, kYaml, "0\n1\n0\n");
  CHECK(read_error(t.path("p")) == "no error");
  write_folder(t, kYaml, "0\n2\n0\n");
  CHECK(read_error(t.path("p")).find("parts.txt:2: each line must hold a part in [0, 2), got '2'") != std::string::npos);
  write_folder(t, kYaml, "0\nx\n0\n");
  CHECK(read_error(t.path("p")).find("parts.txt:2:") != std::string::npos);
  write_folder(t, kYaml, "0\n1\n");
  CHECK(read_error(t.path("p")).find("2 lines for the 3 nodes") != std::string::npos);
  write_folder(t, kYaml, "0\n1\n0\n1\n");
  CHECK(read_error(t.path("p")).find("parts.txt:4: more lines than the 3 nodes") != std::string::npos);
  write_folder(t, std::string(kYaml) + "num_part: 3\n", "0\n1\n0\n");
  CHECK(read_error(t.path("p")).find("partition.yaml:8: unknown key 'num_part'. did you mean 'num_parts'?") !=
        std::string::npos);
  write_folder(t, "format: 2\n", "0\n");
  CHECK(read_error(t.path("p")).find("unknown partition format '2'") != std::string::npos);
  std::string y = kYaml;
  y.replace(y.find("num_parts: 2"), 12, "num_parts: two");
  write_folder(t, y, "0\n");
  CHECK(read_error(t.path("p")).find("partition.yaml:3: num_parts must be an integer of at least 1, got 'two'") !=
        std::string::npos);
  y = kYaml;
  y.replace(y.find("\"00000000000000ff\""), 18, "xyz");
  write_folder(t, y, "0\n");
  CHECK(read_error(t.path("p")).find("graph_checksum must be 16 hexadecimal digits") != std::string::npos);
}
