// The bad-input catalogue: end-to-end `locus train` runs on malformed datasets and configs.
// Each case writes its files into a fresh folder, runs the built program and checks the exit
// status, the exact "locus: error: ..." line(s) and that nothing was written (no JSON report, no
// out_dir, no stray temporary file: the folder lists the same before and after).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "datasets/builtin.hpp"
#include "layers/registry.hpp"
#include "tests/testing/paths.hpp"
#include "tests/testing/process.hpp"
#include "tests/testing/temp_dir.hpp"

namespace fs = std::filesystem;
using locus::testing::Cmd;
using locus::testing::run_locus;
using locus::testing::TempDir;

namespace {

// The built-in dataset names as the errors list them ("karate, grid, ...").
std::string builtin_list() {
  std::string out;
  for (const auto& n : locus::builtin_dataset_names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The folder one case writes into.
struct Dir {
  fs::path root;
  std::string path(const std::string& name) const { return (root / name).string(); }
  void write(const std::string& name, const std::string& content) const {
    fs::create_directories((root / name).parent_path());
    std::ofstream(root / name, std::ios::binary) << content;
  }
  void write_gz(const std::string& name, const std::string& content) const {
    // TempDir::write_gz writes under its own root: compress in a scratch folder, then copy.
    TempDir scratch;
    fs::copy_file(scratch.write_gz("f.gz", content), root / name, fs::copy_options::overwrite_existing);
  }
  void mkdir(const std::string& name) const { fs::create_directories(root / name); }
};

// A valid 4-node dataset: 3 undirected edges, 2 classes, train {0, 1}, test {2, 3}.
const std::string kYaml =
    "name: tiny\n"           // 1
    "edges:\n"               // 2
    "  path: edges.tsv\n"    // 3
    "labels:\n"              // 4
    "  path: labels.tsv\n"   // 5
    "split:\n"               // 6
    "  train: train.txt\n"   // 7
    "  test: test.txt\n";    // 8

// The experiment config: the dataset above, one tiny epoch.
const std::string kConfig =
    "dataset:\n"               // 1
    "  path: dataset.yaml\n"   // 2
    "optim:\n"                 // 3
    "  max_epoch: 1\n"         // 4
    "gnn:\n"                   // 5
    "  dim_inner: 4\n"         // 6
    "num_threads: 1\n";        // 7

void base(const Dir& d, const std::string& yaml_extra = "", const std::string& config_extra = "") {
  d.write("config.yaml", kConfig + config_extra);
  d.write("dataset.yaml", kYaml + yaml_extra);
  d.write("edges.tsv", "0 1\n1 2\n2 3\n");
  d.write("labels.tsv", "0 0\n1 1\n2 0\n3 1\n");
  d.write("train.txt", "0\n1\n");
  d.write("test.txt", "2\n3\n");
}

// The config above on 4 graphs of 2 nodes with one regression target each; train graphs {0, 1}, test {2, 3}.
void regression(const Dir& d, const std::string& config_extra = "") {
  d.write("config.yaml", kConfig + config_extra);
  d.write("dataset.yaml", "name: reg\ntask: graph_regression\nedges:\n  path: edges.tsv\ngraphs:\n  path: graphs.tsv\n"
                          "  targets: targets.tsv\nsplit:\n  train: train.txt\n  test: test.txt\n");
  d.write("edges.tsv", "0 1\n2 3\n4 5\n6 7\n");
  d.write("graphs.tsv", "0 0\n1 0\n2 1\n3 1\n4 2\n5 2\n6 3\n7 3\n");
  d.write("targets.tsv", "0 0.5\n1 1.5\n2 -1\n3 2\n");
  d.write("train.txt", "0\n1\n");
  d.write("test.txt", "2\n3\n");
}

// A config only (built-in dataset given by an override).
void config_only(const Dir& d, const std::string& text = "optim:\n  max_epoch: 1\nnum_threads: 1\n") {
  d.write("config.yaml", text);
}

// 8 nodes, 2 classes, train 0..3, test 4..7. Undirected: components {0,1,2}, {4,5} and isolated
// 3, 6, 7. Directed: a chain 0->1->2->3 and 4->5->6 (nodes 0, 4 and 7 have no in-edges).
void odd_graph(const Dir& d, bool directed) {
  d.write("config.yaml", kConfig);
  d.write("dataset.yaml", std::string("name: odd\nnum_nodes: 8\ndirected: ") + (directed ? "true" : "false") +
                              "\nedges:\n  path: edges.tsv\nlabels:\n  path: labels.tsv\nsplit:\n  train: "
                              "train.txt\n  test: test.txt\n");
  d.write("edges.tsv", directed ? "0 1\n1 2\n2 3\n4 5\n5 6\n" : "0 1\n1 2\n4 5\n");
  d.write("labels.tsv", "0 0\n1 1\n2 0\n3 1\n4 0\n5 1\n6 0\n7 1\n");
  d.write("train.txt", "0\n1\n2\n3\n");
  d.write("test.txt", "4\n5\n6\n7\n");
}

// The tiny dataset (optionally with 2 dense features) and a model trained on it: {T}/m.locus.
// `extra`: overrides of that training (e.g. a pair task on karate).
void trained(const Dir& d, bool features = false, const std::string& extra = "") {
  base(d, features ? "features:\n  path: x.tsv\n  format: dense\n" : "");
  if (features) d.write("x.tsv", "0 1 0\n1 0 1\n2 1 0\n3 0 1\n");
  TempDir scratch;
  const Cmd r = run_locus("train " + d.path("config.yaml") + " save_model=" + d.path("m.locus") + " " + extra,
                          scratch.root() / "log.txt");
  if (r.status != 0) throw std::runtime_error("training the catalogue's model failed:\n" + r.output);
}
// The graph regression dataset and a model trained on it: {T}/m.locus.
void trained_regression(const Dir& d) {
  regression(d);
  TempDir scratch;
  const Cmd r = run_locus("train " + d.path("config.yaml") + " save_model=" + d.path("m.locus"), scratch.root() / "log.txt");
  if (r.status != 0) throw std::runtime_error("training the catalogue's graph model failed:\n" + r.output);
}
std::string model_bytes(const Dir& d) {
  std::ifstream in(d.path("m.locus"), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Case {
  const char* name;
  std::function<void(const Dir&)> setup;
  std::string args;                 // overrides; {T} is the case's folder
  std::vector<std::string> error;   // the expected "locus: error: " lines, {T} substituted
  int status = 2;                   // InputError
  std::string config = "{T}/config.yaml";
  // Another subcommand's whole argument list (e.g. "predict {T}/m.locus ..."), run instead of
  // `locus train CONFIG ARGS`; its status-0 cases must write {T}/p.csv.
  std::string command = "";
};

// The registry's layer lists, as the messages word them (a list in the message is derived, not copied).
std::string registered_types() {
  std::string out;
  for (const auto& name : locus::layer_names()) out += (out.empty() ? "" : ", ") + name;
  return out;
}
std::string distributed_types() {
  std::vector<std::string> names;
  for (const auto& d : locus::layer_registry())
    if (d.distributed) names.push_back(d.name);
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return out;
}

std::string subst(std::string s, const std::string& t) {
  for (size_t p; (p = s.find("{T}")) != std::string::npos;) s.replace(p, 3, t);
  for (size_t p; (p = s.find("{CWD}")) != std::string::npos;) s.replace(p, 5, fs::current_path().string());
  return s;
}

// Every path under `root` with its content ("/" for a folder): catches new, removed and changed files.
std::map<std::string, std::string> listing(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string content = "/";
    if (e.is_regular_file()) {
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      content = ss.str();
    }
    out[fs::relative(e.path(), root).string()] = content;
  }
  return out;
}

std::vector<std::string> error_lines(const std::string& output) {
  std::vector<std::string> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("locus: error: ", 0) == 0) out.push_back(line);
  return out;
}

std::string join(const std::map<std::string, std::string>& files) {
  std::string out;
  for (const auto& [name, content] : files) out += name + " (" + std::to_string(content.size()) + " bytes) ";
  return out;
}

void run_case(const Case& c) {
  INFO("case: ", std::string(c.name));
  TempDir tmp;
  const Dir d{tmp.root() / "case"};
  fs::create_directories(d.root);
  const std::string t = d.root.string();
  c.setup(d);
  const auto before = listing(d.root);
  const std::string cmd = !c.command.empty()
                              ? subst(c.command, t)
                              : "train " + subst(c.config, t) + (c.args.empty() ? "" : " " + subst(c.args, t)) +
                                    " --json " + t + "/out/r.json out_dir=" + t + "/out/run";
  const Cmd r = run_locus(cmd, tmp.root() / "log.txt");
  INFO("command: locus ", cmd);
  INFO("output:\n", r.output);
  CHECK(r.status == c.status);
  std::vector<std::string> want;
  for (const auto& e : c.error) want.push_back("locus: error: " + subst(e, t));
  const std::vector<std::string> got = error_lines(r.output);
  std::string diff;
  for (const auto& w : want) diff += "\nwant: " + w;
  for (const auto& g : got) diff += "\ngot:  " + g;
  CHECK_MESSAGE(got == want, "error lines differ:", diff);
  CHECK(r.output.find("Sanitizer") == std::string::npos);
  CHECK(r.output.find("runtime error:") == std::string::npos);
  if (c.status == 0) {
    CHECK(fs::exists(d.root / (c.command.empty() ? "out/r.json" : "p.csv")));
    return;
  }
  if (!before.count("out/r.json")) CHECK_FALSE(fs::exists(d.root / "out" / "r.json"));
  if (!before.count("out/run")) CHECK_FALSE(fs::exists(d.root / "out" / "run"));
  const auto after = listing(d.root);
  CHECK_MESSAGE(after == before, "files before: ", join(before), "\nfiles after: ", join(after));
}

const std::string kNotFound = "paths are relative to the YAML's folder {T}; fix the path";

std::vector<Case> cases() {
  return {
      // ---------------------------------------------------------------- files: missing, wrong kind
      {"config file missing", [](const Dir&) {}, "",
       {"{T}/nope.yaml: no such config file '{T}/nope.yaml'. check the path (relative paths start from {CWD})"},
       2, "{T}/nope.yaml"},
      {"config path is a directory", [](const Dir& d) { d.mkdir("cfg"); }, "",
       {"{T}/cfg: config path is a directory '{T}/cfg'. pass a YAML file, e.g. {T}/cfg/config.yaml"}, 2,
       "{T}/cfg"},
      {"dataset.path: missing file (config)",
       [](const Dir& d) { base(d); d.write("config.yaml", "dataset:\n  path: nothere/dataset.yaml\noptim:\n  max_epoch: 1\n"); },
       "",
       {"{T}/nothere/dataset.yaml: dataset YAML not found '{T}/nothere/dataset.yaml'. check the path to the dataset.yaml"}},
      {"dataset.path: missing file (override)", [](const Dir& d) { base(d); }, "dataset.path={T}/none/dataset.yaml",
       {"{T}/none/dataset.yaml: dataset YAML not found '{T}/none/dataset.yaml'. check the path to the dataset.yaml"}},
      {"dataset.path is a directory",
       [](const Dir& d) {
         base(d);
         d.write("ds/dataset.yaml", kYaml);
       },
       "dataset.path={T}/ds",
       {"{T}/ds: is a directory, not a dataset YAML file '{T}/ds'. did you mean {T}/ds/dataset.yaml?"}},
      {"dataset YAML is empty", [](const Dir& d) { base(d); d.write("dataset.yaml", ""); }, "",
       {"{T}/dataset.yaml: the dataset YAML is empty. add at least 'name:' and 'edges:' (see datasets/README.md)"}},
      {"dataset YAML is comments only", [](const Dir& d) { base(d); d.write("dataset.yaml", "# a dataset\n\n# nothing\n"); }, "",
       {"{T}/dataset.yaml: the dataset YAML is empty. add at least 'name:' and 'edges:' (see datasets/README.md)"}},
      {"edges file missing", [](const Dir& d) { base(d); d.write("dataset.yaml", "name: tiny\nedges:\n  path: edgs.tsv\nlabels:\n  path: labels.tsv\n"); }, "",
       {"{T}/dataset.yaml:3: edges.path: file not found '{T}/edgs.tsv'. " + kNotFound}},
      {"labels path is a directory",
       [](const Dir& d) {
         base(d);
         d.mkdir("lab");
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv\nlabels:\n  path: lab\n");
       },
       "", {"{T}/dataset.yaml:5: labels.path is a directory, not a file '{T}/lab'. name the file inside it"}},
      {"split file missing", [](const Dir& d) { base(d); fs::remove(d.root / "test.txt"); }, "",
       {"{T}/dataset.yaml:8: split.test: file not found '{T}/test.txt'. " + kNotFound}},
      {"edges file empty", [](const Dir& d) { base(d); d.write("edges.tsv", ""); }, "",
       {"{T}/edges.tsv: the file is empty. add lines 'src dst' or check edges.path"}},
      {"edges file comments only (CRLF)", [](const Dir& d) { base(d); d.write("edges.tsv", "# src dst\r\n\r\n# none\r\n"); }, "",
       {"{T}/edges.tsv: the file has only comments or blank lines (3 lines). add lines 'src dst' or check edges.path"}},
      {"labels row with three fields", [](const Dir& d) { base(d); d.write("labels.tsv", "0 0\n1 1 1\n"); }, "",
       {"{T}/labels.tsv:2: expected 2 fields (node label) but found 3 in line '1 1 1'. fix the line; fields are "
        "separated by whitespace (set delimiter: whitespace | tab | comma in the YAML)"}},
      {"labels file only a BOM", [](const Dir& d) { base(d); d.write("labels.tsv", "\xEF\xBB\xBF"); }, "",
       {"{T}/labels.tsv: the file has only comments or blank lines (1 lines). add lines 'node label' or check labels.path"}},

      // ---------------------------------------------------------------- gzip
      {"truncated gzip (trailer cut off)",
       [](const Dir& d) {
         base(d);
         d.write_gz("edges.tsv.gz", "0 1\n1 2\n2 3\n");
         fs::resize_file(d.root / "edges.tsv.gz", fs::file_size(d.root / "edges.tsv.gz") - 8);
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv.gz\nlabels:\n  path: labels.tsv\n"
                                 "split:\n  train: train.txt\n");
       },
       "",
       // The line after the last complete one: where the data stops.
       {"{T}/edges.tsv.gz:4: truncated gzip file (unexpected end of the compressed data) '{T}/edges.tsv.gz'. "
        "the file was cut off; re-create or re-download it"}},
      {"gzip cut inside its header",
       [](const Dir& d) {
         base(d);
         d.write_gz("edges.tsv.gz", "0 1\n1 2\n2 3\n");
         fs::resize_file(d.root / "edges.tsv.gz", 5);
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv.gz\nlabels:\n  path: labels.tsv\n"
                                 "split:\n  train: train.txt\n");
       },
       "",
       {"{T}/edges.tsv.gz:1: truncated gzip file (unexpected end of the compressed data) '{T}/edges.tsv.gz'. "
        "the file was cut off; re-create or re-download it"}},
            {".gz that is not gzip (binary)",
       [](const Dir& d) {
         base(d);
         d.write("edges.tsv.gz", std::string("PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00", 12) + "\x01\x02\xff\xfe\n");
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv.gz\nlabels:\n  path: labels.tsv\n"
                                 "split:\n  train: train.txt\n");
       },
       "",
       {"{T}/edges.tsv.gz: not a gzip file (the name ends in .gz but the data does not start with the gzip "
        "signature) '{T}/edges.tsv.gz'. re-compress it with gzip, or drop the .gz from its name"}},

      // ---------------------------------------------------------------- the dataset YAML
      {"unknown top-level key, did-you-mean", [](const Dir& d) { base(d, "directd: true\n"); }, "",
       {"{T}/dataset.yaml:9: unknown key 'directd'. did you mean 'directed'? valid keys: name, format, tu_prefix, "
        "task, directed, ids, num_nodes, edges, features, labels, nodes, graphs, split"}},
      {"BOM and CRLF in the YAML keep line numbers",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "\xEF\xBB\xBFname: tiny\r\nedges:\r\n  path: edges.tsv\r\n  weigthed: true\r\nlabels:\r\n  path: labels.tsv\r\n");
       },
       "",
       {"{T}/dataset.yaml:4: unknown key in edges 'weigthed'. did you mean 'weighted'? valid keys in edges: path, "
        "weighted, delimiter, comment, duplicates, self_loops"}},
      {"YAML syntax error", [](const Dir& d) { base(d); d.write("dataset.yaml", "name: tiny\nedges: {path: edges.tsv\nlabels: x\n"); }, "",
       {"{T}/dataset.yaml:3: invalid YAML (end of map flow not found) 'labels: x'. check the indentation, colons and "
        "quotes on that line; see datasets/README.md"}},
      {"num_nodes not a number", [](const Dir& d) { base(d, "num_nodes: many\n"); }, "",
       {"{T}/dataset.yaml:9: expected a whole number for num_nodes 'many'. write 'num_nodes: 2708 (the number of nodes)'"}},
      {"features.dim zero", [](const Dir& d) {
         base(d, "features:\n  path: features.tsv\n  dim: 0\n");
         d.write("features.tsv", "0 0 1\n");
       }, "",
       {"{T}/dataset.yaml:11: features.dim must be between 1 and 2147483647, not '0'. write 'dim: 1433 (the number of features)'"}},
      {"labels missing for node classification",
       [](const Dir& d) { base(d); d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv\n"); }, "",
       {"{T}/dataset.yaml: node_classification needs labels; missing required key 'labels'. add 'labels:' with 'path: "
        "labels.tsv' (or nodes.label_column), or set task: link_prediction"}},
      {"empty graph", [](const Dir& d) { base(d); d.write("dataset.yaml", "name: nothing\ntask: link_prediction\n"); }, "",
       {"{T}/dataset.yaml: the dataset has no nodes (empty graph) 'nothing'. add edges, labels, features or a node "
        "table, or set num_nodes"}},

      {"dataset key given twice", [](const Dir& d) { base(d, "name: again\n"); }, "",
       {"{T}/dataset.yaml:9: key given twice 'name'. keep only one 'name:'"}},
      {"dataset YAML is a list", [](const Dir& d) { base(d); d.write("dataset.yaml", "- name: tiny\n- edges: x\n"); }, "",
       {"{T}/dataset.yaml:1: the dataset YAML must be a mapping of keys, not '(a list)'. start with lines such as "
        "'name: mygraph' (see datasets/README.md)"}},
      {"self loop with self_loops: error",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv\n  self_loops: error\nlabels:\n  path: labels.tsv\n"
                                 "split:\n  train: train.txt\n");
         d.write("edges.tsv", "0 1\n2 2\n");
       },
       "",
       {"{T}/edges.tsv:2: self loop '2 2'. remove the line or set edges.self_loops: drop (or keep)"}},
      // ---------------------------------------------------------------- delimiters, rows
      {"mixed delimiters (tab file with a space line)",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv\n  delimiter: tab\nlabels:\n  path: labels.tsv\n"
                                 "split:\n  train: train.txt\n");
         d.write("edges.tsv", "0\t1\n1 2\n");
       },
       "",
       {"{T}/edges.tsv:2: expected 2 fields (src dst) but found 1 in line '1 2'. fix the line; fields are separated "
        "by tab (set delimiter: whitespace | tab | comma in the YAML)"}},
      {"comma file with a trailing comma",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv\n  delimiter: comma\nlabels:\n  path: labels.tsv\n"
                                 "split:\n  train: train.txt\n");
         d.write("edges.tsv", "0,1\r\n1,2,\r\n");
       },
       "",
       {"{T}/edges.tsv:2: empty field 3 in line '1,2,'. remove the extra or trailing comma delimiter, or fill in the "
        "missing value"}},
      {"ragged edge row", [](const Dir& d) { base(d); d.write("edges.tsv", "0 1\n1\n2 3\n"); }, "",
       {"{T}/edges.tsv:2: expected 2 fields (src dst) but found 1 in line '1'. fix the line; fields are separated by "
        "whitespace (set delimiter: whitespace | tab | comma in the YAML)"}},
      {"ragged dense feature rows",
       [](const Dir& d) {
         base(d, "features:\n  path: features.tsv\n  format: dense\n");
         d.write("features.tsv", "0 1 0 1\n1 0 1\n");
       },
       "",
       {"{T}/features.tsv:2: wrong number of values in dense feature row: expected 3 after the node id but found 2 "
        "in '1 0 1'. each row must have as many values as the first row (3); fix the row"}},
      {"feature row wider than features.dim",
       [](const Dir& d) {
         base(d, "features:\n  path: features.tsv\n  format: dense\n  dim: 2\n");
         d.write("features.tsv", "0 1 0\n1 0 1 1\n");
       },
       "",
       {"{T}/features.tsv:2: wrong number of values in dense feature row: expected 2 after the node id but found 3 "
        "in '1 0 1 1'. each row is 'node' then features.dim (2) values; fix the row or features.dim"}},
      {"sparse feature index beyond features.dim",
       [](const Dir& d) {
         base(d, "features:\n  path: features.tsv\n  dim: 3\n");
         d.write("features.tsv", "0 0 1\n1 3 1\n");
       },
       "",
       {"{T}/features.tsv:2: feature index out of range '3'. features.dim is 3, so feature indices are 0..2; fix the "
        "index or raise features.dim"}},

      // ---------------------------------------------------------------- node ids
      {"non-numeric id (CRLF, BOM)", [](const Dir& d) { base(d); d.write("edges.tsv", "\xEF\xBB\xBF" "0 1\r\n1 x7\r\n"); }, "",
       {"{T}/edges.tsv:2: node id is not an integer 'x7'. with ids: index every node id is an integer 0..N-1; for "
        "named nodes set ids: name in {T}/dataset.yaml"}},
      {"negative id", [](const Dir& d) { base(d); d.write("edges.tsv", "0 1\n1 -2\n"); }, "",
       {"{T}/edges.tsv:2: negative node id '-2'. node ids start at 0 (with ids: index)"}},
      {"huge id (beyond 32 bits)", [](const Dir& d) { base(d); d.write("edges.tsv", "0 1\n1 3000000000\n"); }, "",
       {"{T}/edges.tsv:2: node id too large '3000000000'. ids must be below 2147483647 (32-bit); renumber the nodes "
        "or set ids: name in {T}/dataset.yaml"}},
      {"huge id (beyond 64 bits)", [](const Dir& d) { base(d); d.write("edges.tsv", "0 1\n1 99999999999999999999\n"); }, "",
       {"{T}/edges.tsv:2: node id too large '99999999999999999999'. ids must be below 2147483647 (32-bit); renumber "
        "the nodes or set ids: name in {T}/dataset.yaml"}},
      {"num_nodes smaller than the largest id", [](const Dir& d) { base(d, "num_nodes: 3\n"); }, "",
       {"{T}/labels.tsv:4: node id out of range '3'. num_nodes is 3 ({T}/dataset.yaml:9), so ids must be 0..2; fix "
        "the id or raise num_nodes"}},
      {"edge to an id missing from the node set (ids: name)",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "name: tiny\nids: name\nnodes:\n  path: table.tsv\n  label_column: 1\nedges:\n  path: edges.tsv\n");
         d.write("table.tsv", "alice 0\nbob 1\ncarol 0\n");
         d.write("edges.tsv", "alice bob\nbob carrol\n");
       },
       "",
       {"{T}/edges.tsv:2: unknown node id (not in the node set) 'carrol'. did you mean 'carol'? with ids: name every "
        "node must first appear in the node table {T}/table.tsv; add it there or fix the id"}},
      {"test id not in the node set", [](const Dir& d) { base(d); d.write("test.txt", "2\n9\n"); }, "",
       {"{T}/test.txt:2: node id is not in the node set '9'. the largest id in the labels, features or edges files is "
        "3; add the node there or set num_nodes in {T}/dataset.yaml"}},

      // ---------------------------------------------------------------- values
      {"NaN feature value",
       [](const Dir& d) {
         base(d, "features:\n  path: features.tsv\n  dim: 2\n");
         d.write("features.tsv", "0 0 1\n1 1 nan\n");
       },
       "",
       {"{T}/features.tsv:2: feature value is not finite (NaN, Inf or beyond float range) 'nan'. replace it with a "
        "finite number"}},
      {"Inf edge weight",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv\n  weighted: true\nlabels:\n  path: labels.tsv\n"
                                 "split:\n  train: train.txt\n");
         d.write("edges.tsv", "0 1 1\n1 2 -inf\n");
       },
       "",
       {"{T}/edges.tsv:2: edge weight is not finite (NaN, Inf or beyond float range) '-inf'. replace it with a finite "
        "number"}},
      {"dense value beyond float range",
       [](const Dir& d) {
         base(d, "features:\n  path: features.tsv\n  format: dense\n");
         d.write("features.tsv", "0 1 1e39\n");
       },
       "",
       {"{T}/features.tsv:1: feature value is not finite (NaN, Inf or beyond float range) '1e39'. replace it with a "
        "finite number"}},
      {"label out of range",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv\nlabels:\n  path: labels.tsv\n  num_classes: 2\n");
         d.write("labels.tsv", "0 0\n1 1\n2 2\n");
       },
       "",
       {"{T}/labels.tsv:3: label out of range '2'. labels.num_classes is 2 ({T}/dataset.yaml:6), so labels are 0..1; "
        "fix the label or raise num_classes"}},
      {"negative label", [](const Dir& d) { base(d); d.write("labels.tsv", "0 0\n1 -1\n"); }, "",
       {"{T}/labels.tsv:2: negative label '-1'. integer labels are class numbers 0..C-1 (leave a node out of the "
        "file to keep it unlabelled)"}},
      // The schema (../shared/datasets/README.md) reads labels as integers 0..C-1 when every token is
      // one, otherwise every token is a class name ("0", "1", "cat": 3 classes in sorted order).
      {"accepted: class names mixed with integer-looking names",
       [](const Dir& d) { base(d); d.write("labels.tsv", "0 0\n1 1\n2 cat\n3 1\n"); }, "", {}, 0},

      // ---------------------------------------------------------------- splits
      {"split id listed twice in one split", [](const Dir& d) { base(d); d.write("train.txt", "0\n1\n0\n"); }, "",
       {"{T}/train.txt:3: node listed twice, first on line 1: '0'. list each node once"}},
      {"split id in two splits", [](const Dir& d) { base(d); d.write("test.txt", "1\n2\n"); }, "",
       {"{T}/test.txt:1: node is in both the train split ({T}/train.txt:2) and the test split: '1'. remove it from "
        "one of the two files"}},
      {"unlabeled split node", [](const Dir& d) { base(d); d.write("labels.tsv", "0 0\n1 1\n2 0\n"); }, "",
       {"{T}/test.txt:2: split node has no label '3'. label it in {T}/labels.tsv or remove it from the test split"}},
      {"random split fractions above 1",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv\nlabels:\n  path: labels.tsv\n"
                                 "split:\n  random: {train: 0.7, val: 0.2, test: 0.2}\n");
       },
       "",
       {"{T}/dataset.yaml:7: split.random fractions add up to more than 1: '1.1'. make train + val + test at most 1"}},
      {"per_class split larger than a class",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv\nlabels:\n  path: labels.tsv\n"
                                 "split:\n  per_class: {train: 3}\n");
       },
       "",
       {"{T}/dataset.yaml:7: class 0 has only 2 labelled nodes, fewer than split.per_class.train '3'. lower "
        "per_class.train or label more nodes"}},
      {"no training nodes",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv\nlabels:\n  path: labels.tsv\nsplit:\n  test: test.txt\n");
       },
       "",
       {"{T}/dataset.yaml: the split has no training nodes: 'tiny'. Give split.train ids"}},
      {"duplicate edge with duplicates: error",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "name: tiny\nedges:\n  path: edges.tsv\n  duplicates: error\nlabels:\n  path: labels.tsv\n"
                                 "split:\n  train: train.txt\n");
         d.write("edges.tsv", "0 1\n1 2\n1 0\n");
       },
       "",
       {"{T}/edges.tsv:3: duplicate edge (as an undirected pair), first on line 1: '1 0'. remove the repeated line or "
        "set edges.duplicates: merge"}},

      // ---------------------------------------------------------------- the experiment config
      {"config: unknown key with nearest suggestion", [](const Dir& d) { base(d, "", "train:\n  patiense: 3\n"); }, "",
       {"{T}/config.yaml:9: unknown key 'train.patiense'. did you mean 'train.patience'?"}},
      {"override: unknown key with nearest suggestion", [](const Dir& d) { base(d); }, "gnn.dim_iner=8",
       {"command line: unknown key 'gnn.dim_iner' in 'gnn.dim_iner=8'. did you mean 'gnn.dim_inner'?"}},
      {"config: wrong type (gnn.dim_inner: abc)",
       [](const Dir& d) { base(d); d.write("config.yaml", "dataset:\n  path: dataset.yaml\ngnn:\n  dim_inner: abc\n"); }, "",
       {"{T}/config.yaml:4: gnn.dim_inner must be a whole number, got 'abc'. set gnn.dim_inner to a whole number >= 1, "
        "e.g. 16"}},
      {"config: a list where a number belongs", [](const Dir& d) { base(d, "", "seed: [1, 2]\n"); }, "",
       {"{T}/config.yaml:8: seed must be a whole number, got '[1, 2]'. set seed to a whole number >= 0, e.g. 0"}},
      {"override: gnn.dropout=1.5", [](const Dir& d) { base(d); }, "gnn.dropout=1.5",
       {"command line: gnn.dropout must be in [0, 1), got 'gnn.dropout=1.5'. set gnn.dropout to a number in [0, 1), "
        "e.g. 0.5"}},
      {"override: gnn.dropout=nan", [](const Dir& d) { base(d); }, "gnn.dropout=nan",
       {"command line: gnn.dropout must be a finite number, got 'gnn.dropout=nan'. set gnn.dropout to a number in [0, 1), "
        "e.g. 0.5"}},
      {"override: optim.max_epoch=0", [](const Dir& d) { base(d); }, "optim.max_epoch=0",
       {"command line: optim.max_epoch must be >= 1, got 'optim.max_epoch=0'. set optim.max_epoch to a whole number "
        ">= 1, e.g. 200"}},
      {"override: num_runs=-1", [](const Dir& d) { base(d); }, "num_runs=-1",
       {"command line: num_runs must be >= 1, got 'num_runs=-1'. set num_runs to a whole number >= 1, e.g. 1"}},
      {"override: seed beyond 64 bits", [](const Dir& d) { base(d); }, "seed=99999999999999999999999",
       {"command line: seed is too large (at most 18446744073709551615), got 'seed=99999999999999999999999'. set seed "
        "to a whole number >= 0, e.g. 0"}},
      {"override: value is not valid YAML", [](const Dir& d) { base(d); }, "gnn.act=[relu",
       {"command line: value is not valid YAML (end of sequence flow not found) in 'gnn.act=[relu'. write key=value "
        "with a plain value, e.g. gnn.act=..."}},
      {"config is a scalar", [](const Dir& d) { d.write("config.yaml", "just some text\n"); }, "",
       {"{T}/config.yaml:1: a config must be a mapping of keys, got 'just some text'. write one 'key: value' per "
        "line, e.g. gnn.dim_inner: 16"}},
      {"config section is not a mapping", [](const Dir& d) { base(d, "", "posenc_SPD: 5\n"); }, "",
       {"{T}/config.yaml:8: section 'posenc_SPD' must be a mapping of keys, got '5'. write 'posenc_SPD:' then "
        "indented keys: enable, max_dist"}},
      {"override without '='", [](const Dir& d) { base(d); }, "gnn.dim_inner",
       {"command line: override without '=' 'gnn.dim_inner'. write key=value, e.g. gnn.dim_inner=32"}},
      {"override: a section, not a key", [](const Dir& d) { base(d); }, "posenc_SPD=4",
       {"command line: 'posenc_SPD' is a section, not a key, in 'posenc_SPD=4'. write posenc_SPD.KEY=value; valid "
        "keys in 'posenc_SPD': posenc_SPD.enable, posenc_SPD.max_dist"}},
      {"override: mistyped choice", [](const Dir& d) { base(d); }, "gnn.layer_type=gcnn",
       {"command line: gnn.layer_type must be one of " + registered_types() + ", got 'gnn.layer_type=gcnn'. did you mean "
        "'gcn'? (allowed: " + registered_types() + ")"}},
      {"config: key set twice", [](const Dir& d) { base(d, "", "gnn.dim_inner: 8\n"); }, "",
       {"{T}/config.yaml:8: key set twice 'gnn.dim_inner'. it is already set on line 6; keep one of them"}},
      {"config: two YAML documents", [](const Dir& d) { base(d, "", "---\nseed: 1\n"); }, "",
       {"{T}/config.yaml:9: more than one YAML document ('---') '---'. keep a single document per config file"}},
      {"config: YAML syntax error", [](const Dir& d) { base(d); d.write("config.yaml", "dataset:\n  path: [dataset.yaml\noptim:\n"); }, "",
       {"{T}/config.yaml:3: invalid YAML (end of sequence flow not found) at 'optim:'. check the indentation, colons, "
        "brackets and quotes on this line and the one above"}},
      {"both dataset.path and dataset.name", [](const Dir& d) { base(d, "", "dataset.name: karate\n"); }, "",
       {"{T}/config.yaml:8: both dataset.path and dataset.name are set in section 'dataset'. keep one: remove "
        "dataset.name (line 8) or dataset.path (line 2), or override one, e.g. dataset.name=karate"}},
      {"no dataset", [](const Dir& d) { config_only(d); }, "",
       {"{T}/config.yaml: no dataset given: neither dataset.name nor dataset.path is set in section 'dataset'. add "
        "dataset.name=karate (a built-in) or dataset.path=path/to/dataset.yaml, on the command line or in the "
        "config's dataset section"}},
      {"gir_hops below layers_mp", [](const Dir& d) { base(d, "", "gnn.layers_mp: 3\ngnn.gir_hops: 2\n"); }, "",
       {"{T}/config.yaml:9: gnn.gir_hops is below gnn.layers_mp (3): '2'. GIR propagates at least one hop per layer: "
        "set gnn.gir_hops to 0 (= layers_mp), -1 (until every node is reached) or a value >= gnn.layers_mp"}},
      {"num_anchors with anchor sets", [](const Dir& d) { base(d, "", "gnn.layer_type: gir\ngnn.num_anchors: 20\n"); }, "",
       {"{T}/config.yaml:9: gnn.num_anchors counts single-node anchors, but this branch uses P-GNN's anchor sets "
        "(⌊log₂ n⌋², gnn.anchors=auto): '20'. set gnn.anchors=nodes, or gnn.num_anchors=0"}},
      {"unknown built-in dataset name", [](const Dir& d) { config_only(d); }, "dataset.name=karat",
       {"command line: unknown built-in dataset 'dataset.name=karat'. did you mean 'karate'? available: " + builtin_list() +
        " (or give the path of a dataset.yaml as dataset.path)"}},

      // ---------------------------------------------------------------- model / dataset combinations
      {"LapPE k >= n on karate", [](const Dir& d) { config_only(d); },
       "dataset.name=karate posenc_LapPE.enable=true posenc_LapPE.eigen.max_freqs=34",
       {"command line: posenc_LapPE.eigen.max_freqs must be below the number of nodes of karate (34), got "
        "'posenc_LapPE.eigen.max_freqs=34'. set posenc_LapPE.eigen.max_freqs to at most 33"}},
      {"LapPE k >= n set in the config file",
       [](const Dir& d) { base(d, "", "posenc_LapPE:\n  enable: true\n  eigen:\n    max_freqs: 4\n"); }, "",
       {"{T}/config.yaml:11: posenc_LapPE.eigen.max_freqs must be below the number of nodes of tiny (4), got '4'. "
        "set posenc_LapPE.eigen.max_freqs to at most 3"}},
      {"gnn.layers_mp absurdly large", [](const Dir& d) { config_only(d); }, "dataset.name=karate gnn.layers_mp=100000",
       {"command line: gnn.layers_mp is too large (at most 1000), got 'gnn.layers_mp=100000'. set gnn.layers_mp to a "
        "whole number >= 1 and <= 1000, e.g. 2"}},
      {"memory estimate above the limit", [](const Dir& d) { config_only(d); },
       "dataset.name=karate train.memory_limit_mib=1",
       {"estimated peak memory 32 MiB (runtime and allocator slack (32 MiB + 5%): 32 MiB) exceeds the limit 1 MiB "
        "(train.memory_limit_mib; default: the available memory). Alternatives: train.memory_limit_mib=<MiB> to set "
        "the limit explicitly (e.g. when swap is acceptable)."}},
      // ---------------------------------------------------------------- partitioned training
      {"partition folder missing", [](const Dir& d) { config_only(d); }, "dataset.name=karate dataset.partitions={T}/nope",
       {"{T}/nope: no such partition folder: '{T}/nope'. write one with: locus partition DATASET.yaml --parts P --out "
        "{T}/nope"}},
      {"partition for 2 ranks on one process",
       [](const Dir& d) {
         config_only(d);
         d.write("p/partition.yaml", "format: 1\ndataset: karate\nnum_parts: 2\nnum_nodes: 34\nnum_edges: 156\n"
                                     "graph_checksum: \"eeff6bd2bce9f7a1\"\nparts: parts.txt\n");
         std::string parts;
         for (int v = 0; v < 34; ++v) parts += v < 17 ? "0\n" : "1\n";
         d.write("p/parts.txt", parts);
       },
       "dataset.name=karate dataset.partitions={T}/p",
       {"{T}/p/partition.yaml: the partition has 2 parts, but the number of MPI ranks is '1'. launch with mpirun -np 2 "
        "(or partition again with --parts 1)"}},
      {"partition part file of another program",
       [](const Dir& d) {
         config_only(d);
         d.write("p/partition.yaml", "format: 1\ndataset: karate\nnum_parts: 1\nnum_nodes: 34\nnum_edges: 156\n"
                                     "graph_checksum: \"eeff6bd2bce9f7a1\"\nparts: parts.txt\n");
         d.write("p/part-0.bin", "not a part file\n");
       },
       "dataset.name=karate dataset.partitions={T}/p",
       {"{T}/p/part-0.bin: not a Locus partition part: '{T}/p/part-0.bin'. the partition folder holds another "
        "program's file; rewrite it with locus partition"}},
      {"partition of another dataset",
       [](const Dir& d) {
         config_only(d);
         d.write("p/partition.yaml", "format: 1\ndataset: grid\nnum_parts: 1\nnum_nodes: 400\nnum_edges: 1520\n"
                                     "graph_checksum: \"eeff6bd2bce9f7a1\"\nparts: parts.txt\n");
       },
       "dataset.name=karate dataset.partitions={T}/p",
       {"{T}/p/partition.yaml: the partition was cut from another dataset (grid), the config trains 'karate'. "
        "partition this dataset: locus partition karate --parts 1"}},
      {"partitioned transformer", [](const Dir& d) { config_only(d); },
       "dataset.name=karate gnn.layer_type=transformer dataset.partitions={T}/p",
       {"command line: partitioned training (dataset.partitions) supports " + distributed_types() + ", got "
        "'gnn.layer_type=transformer'. use one of those, or train on one process (drop dataset.partitions)"}},
      {"pair task on a sentences dataset", [](const Dir& d) { config_only(d); },
       "dataset.name=seq_probe dataset.task=link_prediction",
       {"built-in:seq_probe: pair tasks need an edge-list graph, not sentences: 'seq_probe'. use a graph dataset or "
        "dataset.task=node_classification"}},
      {"sequence PE on a graph", [](const Dir& d) { config_only(d); },
       "dataset.name=karate posenc_seq.kind=sinusoidal",
       {"command line: posenc_seq.kind sinusoidal needs sentences (a built-in seq_* dataset), got "
        "'posenc_seq.kind=sinusoidal'. on graphs use posenc_LapPE, posenc_RWSE, posenc_Anchor or posenc_SPD"}},
      {"attention-only sequence PE without a transformer", [](const Dir& d) { config_only(d); },
       "dataset.name=seq_probe posenc_seq.kind=rope gnn.layer_type=gat",
       {"command line: posenc_seq.kind rope acts inside attention: it needs gnn.layer_type transformer (now gat), got "
        "'posenc_seq.kind=rope'. set gnn.layer_type=transformer, or an appended encoding (sinusoidal, learned, "
        "fourier, cape)"}},
      {"SPD bias without a transformer", [](const Dir& d) { config_only(d); }, "dataset.name=karate posenc_SPD.enable=true",
       {"command line: posenc_SPD is an attention bias: it needs gnn.layer_type transformer (now gcn), got "
        "'posenc_SPD.enable=true'. set gnn.layer_type=transformer or posenc_SPD.enable=false"}},
      {"val_acc_loss on a pair task", [](const Dir& d) { config_only(d); },
       "dataset.name=karate dataset.task=link_prediction train.select=val_acc_loss",
       {"command line: train.select val_acc_loss is for node classification, got 'train.select=val_acc_loss'. pair "
        "tasks select the best validation AUC (train.select val_acc)"}},
      {"class-weighted accuracy on a pair task", [](const Dir& d) { config_only(d); },
       "dataset.name=karate dataset.task=link_prediction train.metric=wacc",
       {"command line: pair tasks score ROC AUC with an unweighted loss; train.metric is for classification, got "
        "'train.metric=wacc'. drop train.metric (or set train.metric=acc, the default)"}},
      {"train.metric on graph regression", [](const Dir& d) { regression(d); }, "train.metric=wacc",
       {"command line: graph_regression scores MAE with the L1 loss; train.metric is for classification, got "
        "'train.metric=wacc'. drop train.metric (or set train.metric=acc, the default)"}},
      {"train.class_weights on graph regression, in the config file",
       [](const Dir& d) { regression(d, "train:\n  class_weights: complement\n"); }, "",
       {"{T}/config.yaml:9: graph_regression scores MAE with the L1 loss; train.class_weights is for classification, "
        "got 'complement'. drop train.class_weights (or set train.class_weights=none)"}},
      {"val_acc_loss on graph regression", [](const Dir& d) { regression(d); }, "train.select=val_acc_loss",
       {"command line: train.select val_acc_loss is for node classification, got 'train.select=val_acc_loss'. "
        "graph_regression selects the lowest validation MAE (train.select val_acc)"}},
      {"link prediction without edges to hold out",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "name: tiny\ntask: link_prediction\nnum_nodes: 3\nedges:\n  path: edges.tsv\n");
         d.write("edges.tsv", "0 0\n");
       },
       "",
       {"{T}/dataset.yaml: link prediction needs edges to hold out, but there are none (self loops aside) in dataset "
        "'tiny'. add edges to the dataset's edge list, or choose dataset.task=node_classification"}},

      // ---------------------------------------------------------------- outputs
      {"out folder is a regular file",
       [](const Dir& d) {
         config_only(d);
         d.write("out", "not a folder\n");
       },
       "dataset.name=karate",
       {"{T}/out/run: out_dir cannot be created: a file stands where a folder should be: '{T}/out'. choose another "
        "out_dir"}},
      {"--json target is a directory",
       [](const Dir& d) {
         config_only(d);
         d.mkdir("out/r.json");
       },
       "dataset.name=karate",
       {"{T}/out/r.json: --json names a folder, not a file '{T}/out/r.json'. give a file path, e.g. "
        "{T}/out/r.json/results.json"}},
      {"existing out_dir is never overwritten",
       [](const Dir& d) {
         config_only(d);
         d.write("out/run/run_0_seed_0.csv", "epoch,loss\n1,0.5\n");
       },
       "dataset.name=karate",
       {"{T}/out/run: out_dir already exists and is not empty: '{T}/out/run'. choose a new out_dir or delete this "
        "one (Locus never overwrites earlier results)"}},

      // ---------------------------------------------------------------- locus predict
      {"predict: model file missing", [](const Dir& d) { base(d); }, "",
       {"{T}/nope.locus: cannot read the model file '{T}/nope.locus'. check that it exists and its permissions"}, 2, "",
       "predict {T}/nope.locus {T}/dataset.yaml --out {T}/p.csv"},
      {"predict: a YAML file given as the model", [](const Dir& d) { base(d); }, "",
       {"{T}/dataset.yaml: not a Locus model file: '{T}/dataset.yaml'. give a file written by `locus train "
        "save_model=PATH`"}, 2, "", "predict {T}/dataset.yaml {T}/dataset.yaml --out {T}/p.csv"},
      {"predict: empty model file", [](const Dir& d) { base(d); d.write("m.locus", ""); }, "",
       {"{T}/m.locus: not a Locus model file: '{T}/m.locus'. give a file written by `locus train save_model=PATH`"}, 2,
       "", "predict {T}/m.locus {T}/dataset.yaml --out {T}/p.csv"},
      {"predict: truncated model file",
       [](const Dir& d) { trained(d); d.write("m.locus", model_bytes(d).substr(0, 60)); }, "",
       {"{T}/m.locus: model file is truncated or corrupt: '{T}/m.locus'. train the model again (save_model=PATH) "
        "to write a whole file"}, 2, "", "predict {T}/m.locus {T}/dataset.yaml --out {T}/p.csv"},
      {"predict: a flipped byte in the model file",
       [](const Dir& d) {
         trained(d);
         std::string b = model_bytes(d);
         b[b.size() - 20] ^= 0x01;
         d.write("m.locus", b);
       }, "",
       {"{T}/m.locus: model file is truncated or corrupt: '{T}/m.locus'. train the model again (save_model=PATH) "
        "to write a whole file"}, 2, "", "predict {T}/m.locus {T}/dataset.yaml --out {T}/p.csv"},
      {"predict: model file of a newer format",
       [](const Dir& d) {
         trained(d);
         std::string b = model_bytes(d);
         b[8] = 7;
         d.write("m.locus", b);
       }, "",
       {"{T}/m.locus: model file format version 7 (this Locus reads 2): '{T}/m.locus'. predict with the Locus version "
        "that wrote it, or train the model again with this one"}, 2, "",
       "predict {T}/m.locus {T}/dataset.yaml --out {T}/p.csv"},
      {"predict: a graph model on one graph", [](const Dir& d) { trained_regression(d); }, "",
       {"built-in:karate: the model predicts per graph (graph_regression), but the dataset is one graph: 'karate'. "
        "give a dataset of many graphs (a graphs: section or a TU folder)"}, 2, "",
       "predict {T}/m.locus karate --out {T}/p.csv"},
      {"predict: node options with a graph model", [](const Dir& d) { trained_regression(d); d.write("n.txt", "0\n"); }, "",
       {"{T}/m.locus: predict: the model predicts per graph (graph_regression); node options do not apply: '--nodes'. "
        "drop it; --split chooses the graphs to write"}, 2, "",
       "predict {T}/m.locus {T}/dataset.yaml --nodes {T}/n.txt --out {T}/p.csv"},
      {"predict: dataset missing", [](const Dir& d) { trained(d); }, "",
       {"{T}/nope.yaml: predict: no such dataset file or built-in dataset: '{T}/nope.yaml'. give the path of a "
        "dataset.yaml or one of " + builtin_list()}, 2, "", "predict {T}/m.locus {T}/nope.yaml --out {T}/p.csv"},
      {"predict: malformed dataset", [](const Dir& d) { trained(d); d.write("dataset.yaml", kYaml + "colour: red\n"); },
       "", {"{T}/dataset.yaml:9: unknown key 'colour'. valid keys: name, format, tu_prefix, task, directed, ids, "
        "num_nodes, edges, features, labels, nodes, graphs, split"}, 2, "", "predict {T}/m.locus {T}/dataset.yaml --out {T}/p.csv"},
      {"predict: one-hot model on another graph", [](const Dir& d) { trained(d); }, "",
       {"built-in:karate: the dataset has no features (one-hot node ids, 34 columns), but the model reads one-hot "
        "node ids of 4 nodes (a dataset without features): 'karate'. a model trained without features labels only "
        "the graph it was trained on"}, 2, "", "predict {T}/m.locus karate --out {T}/p.csv"},
      {"predict: feature width differs",
       [](const Dir& d) {
         trained(d, true);
         d.write("x.tsv", "0 1 0 1\n1 0 1 1\n2 1 0 1\n3 0 1 1\n");
       }, "", {"{T}/dataset.yaml: the dataset has 3 feature columns, but the model reads 2 feature columns: 'tiny'. give "
        "nodes the training dataset's feature columns, in its order"}, 2, "", "predict {T}/m.locus {T}/dataset.yaml --out {T}/p.csv"},
      {"predict: dataset without features for a feature model",
       [](const Dir& d) {
         trained(d, true);
         base(d);
       }, "", {"{T}/dataset.yaml: the dataset has no features (one-hot node ids, 4 columns), but the model reads 2 "
        "feature columns: 'tiny'. give nodes the training dataset's feature columns, in its order"}, 2, "", "predict {T}/m.locus {T}/dataset.yaml --out {T}/p.csv"},
      {"predict: --nodes id out of range",
       [](const Dir& d) { trained(d); d.write("nodes.txt", "1\n# a comment\n9\n"); }, "",
       {"{T}/nodes.txt:3: node id not in the dataset tiny: '9'. ids are node indices 0..3"}, 2, "", "predict {T}/m.locus {T}/dataset.yaml --nodes {T}/nodes.txt --out {T}/p.csv"},
      {"predict: --nodes id not a number",
       [](const Dir& d) { trained(d); d.write("nodes.txt", "1\nann\n"); }, "",
       {"{T}/nodes.txt:2: node id not in the dataset tiny: 'ann'. ids are node indices 0..3"}, 2, "", "predict {T}/m.locus {T}/dataset.yaml --nodes {T}/nodes.txt --out {T}/p.csv"},
      {"predict: --nodes file missing", [](const Dir& d) { trained(d); }, "",
       {"{T}/nodes.txt: predict: cannot read the --nodes file '{T}/nodes.txt'. check that it exists and its "
        "permissions"}, 2, "", "predict {T}/m.locus {T}/dataset.yaml --nodes {T}/nodes.txt --out {T}/p.csv"},
      {"predict: --out extension unknown", [](const Dir& d) { trained(d); }, "",
       {"{T}/p.txt: predict: --out must end in .csv, .tsv or .jsonl, got '.txt'. name the file e.g. predictions.csv"}, 2, "", "predict {T}/m.locus {T}/dataset.yaml --out {T}/p.txt"},
      {"predict: --out under a file", [](const Dir& d) { trained(d); d.write("f", "x"); }, "",
       {"{T}/f/p.csv: --out file cannot be created: a file stands where a folder should be: '{T}/f'. choose "
        "another --out file"}, 2, "", "predict {T}/m.locus {T}/dataset.yaml --out {T}/f/p.csv"},
      {"predict: --out is a folder", [](const Dir& d) { trained(d); d.mkdir("o.csv"); }, "",
       {"{T}/o.csv: predict: --out names a folder, not a file: '{T}/o.csv'. give a file path, e.g. "
        "{T}/o.csv/predictions.csv"}, 2, "", "predict {T}/m.locus {T}/dataset.yaml --out {T}/o.csv"},
      {"predict: --embeddings extension unknown", [](const Dir& d) { trained(d); }, "",
       {"{T}/e.csv: predict: --embeddings must end in .tsv or .npy, got '.csv'. name the file e.g. embeddings.npy"}, 2,
       "", "predict {T}/m.locus {T}/dataset.yaml --embeddings {T}/e.csv"},
      {"predict: a pair model given --out without --pairs or --top-k",
       [](const Dir& d) { trained(d, false, "dataset.name=karate dataset.task=link_prediction"); }, "",
       {"{T}/m.locus: predict: the model scores node pairs (link_prediction); --out writes what --pairs or --top-k "
        "ask for, and neither is given: '{T}/p.csv'. add --pairs FILE or --top-k K, or drop --out to print the pair "
        "metrics"}, 2, "", "predict {T}/m.locus karate --out {T}/p.csv"},
      {"predict: --top-k with a node-classification model", [](const Dir& d) { trained(d); }, "",
       {"{T}/m.locus: predict: --pairs and --top-k need a pair model (link_prediction or pair_classification); this "
        "one is node_classification: '--top-k'. drop them, or give a model trained with dataset.task=link_prediction"}, 2, "",
       "predict {T}/m.locus {T}/dataset.yaml --top-k 3 --out {T}/p.csv"},
      {"predict: --pairs line with one id",
       [](const Dir& d) {
         trained(d, false, "dataset.name=karate dataset.task=link_prediction");
         d.write("pairs.txt", "0 5\n7\n");
       }, "",
       {"{T}/pairs.txt:2: predict: expected two node ids per line, got 1: '7'. write one pair per line, e.g. 12 345"}, 2,
       "", "predict {T}/m.locus karate --pairs {T}/pairs.txt --out {T}/p.csv"},
      {"predict: --pairs id not in the dataset",
       [](const Dir& d) {
         trained(d, false, "dataset.name=karate dataset.task=link_prediction");
         d.write("pairs.txt", "0 5\n1 34\n");
       }, "",
       {"{T}/pairs.txt:2: node id not in the dataset karate: '34'. ids are node indices 0..33"}, 2, "",
       "predict {T}/m.locus karate --pairs {T}/pairs.txt --out {T}/p.csv"},
      {"accepted: predict --top-k of a link model",
       [](const Dir& d) { trained(d, false, "dataset.name=karate dataset.task=link_prediction"); }, "", {}, 0, "",
       "predict {T}/m.locus karate --top-k 3 --out {T}/p.csv"},
      {"accepted: predict with labels the model does not know",
       [](const Dir& d) {
         trained(d);
         d.write("labels.tsv", "0 0\n1 1\n2 0\n3 2\n");
       }, "", {}, 0, "", "predict {T}/m.locus {T}/dataset.yaml --out {T}/p.csv"},

      // ---------------------------------------------------------------- accepted: odd but valid graphs
      // Status 0: these must train (no crash, no NaN loss, no sanitizer report) and write the report.
      {"accepted: disconnected graph with isolated nodes, LapPE", [](const Dir& d) { odd_graph(d, false); },
       "posenc_LapPE.enable=true posenc_LapPE.eigen.max_freqs=3", {}, 0},
      {"accepted: disconnected graph, RWSE and anchors", [](const Dir& d) { odd_graph(d, false); },
       "posenc_RWSE.enable=true posenc_Anchor.enable=true", {}, 0},
      {"accepted: disconnected graph, GIR layers", [](const Dir& d) { odd_graph(d, false); }, "gnn.layer_type=gir", {},
       0},
      {"accepted: disconnected graph, P-GNN branch", [](const Dir& d) { odd_graph(d, false); }, "gnn.position=pgnn", {},
       0},
      {"accepted: zero in-degree nodes, SAGE", [](const Dir& d) { odd_graph(d, true); }, "gnn.layer_type=sage", {},
       0},
      {"accepted: zero in-degree nodes, GAT", [](const Dir& d) { odd_graph(d, true); },
       "gnn.layer_type=gat gnn.att_heads=2", {}, 0},
      {"accepted: zero in-degree nodes, GIN", [](const Dir& d) { odd_graph(d, true); }, "gnn.layer_type=gin", {},
       0},
      {"accepted: zero in-degree nodes, GIR mean", [](const Dir& d) { odd_graph(d, true); },
       "gnn.position=gir gnn.gir_aggregate=mean", {}, 0},
      {"accepted: zero in-degree nodes, transformer", [](const Dir& d) { odd_graph(d, true); },
       "gnn.layer_type=transformer gnn.att_heads=2", {}, 0},
      {"accepted: graph regression on 4 graphs (MAE)", [](const Dir& d) { regression(d); }, "gnn.layer_type=gin", {}, 0},
      {"accepted: BOM, CRLF, comments and plain text under a .gz name",
       [](const Dir& d) {
         base(d);
         d.write("dataset.yaml", "\xEF\xBB\xBFname: tiny\r\nedges:\r\n  path: edges.tsv.gz\r\nlabels:\r\n  path: "
                                 "labels.tsv\r\nsplit:\r\n  train: train.txt\r\n  test: test.txt\r\n");
         d.write("edges.tsv.gz", "\xEF\xBB\xBF# src dst\r\n0 1\r\n\r\n1 2\r\n2 3");
         d.write("labels.tsv", "\xEF\xBB\xBF" "0 0\r\n1 1\r\n2 0\r\n3 1\r\n");
       },
       "", {}, 0},
  };
}

}  // namespace

TEST_SUITE("bad input catalogue") {
  TEST_CASE("bad input catalogue: every case has a unique name; at least 45 are errors") {
    std::set<std::string> names;
    int errors = 0;
    for (const auto& c : cases()) {
      CHECK_MESSAGE(names.insert(c.name).second, "duplicate case name: ", c.name);
      errors += c.status != 0;
    }
    CHECK(errors >= 45);
  }

  TEST_CASE("bad input catalogue: malformed input fails with the exact error and writes nothing") {
    for (const auto& c : cases()) run_case(c);
  }
}
