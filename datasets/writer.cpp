#include "datasets/writer.hpp"

#include <unistd.h>

#include <omp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/error.hpp"
#include "core/io.hpp"
#include "datasets/text_reader.hpp"

namespace fs = std::filesystem;

namespace locus {

namespace {

const char* const kFiles[] = {"edges.tsv",        "features.tsv",      "labels.tsv", "graphs.tsv",
                              "graph_labels.tsv", "graph_targets.tsv", "train.txt",  "val.txt",
                              "test.txt"};

int decimal_len(int64_t v) {
  int n = v < 0 ? 2 : 1;
  uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  while (u >= 10) u /= 10, ++n;
  return n;
}

char* put_int(char* p, int64_t v) { return std::to_chars(p, p + 24, v).ptr; }

// Shortest text of f that reads back as f, at p (at most kMaxFloatText bytes). The loader parses
// a double and rounds it to float; should that double rounding land elsewhere for the float's
// shortest text, the double's shortest text (17 digits at most) is exact.
constexpr int64_t kMaxFloatText = 32;
char* put_float(char* p, float f) {
  auto r = std::to_chars(p, p + kMaxFloatText, f);
  double back = 0;
  std::from_chars(p, r.ptr, back);
  if (static_cast<float>(back) != f) r = std::to_chars(p, p + kMaxFloatText, static_cast<double>(f));
  return r.ptr;
}

// Chunks of at least 16384 lines, 16 per thread at most; small files stay on one thread (a
// parallel region costs more than it saves there, and much more on a busy machine).
int num_chunks(int64_t count) {
  return static_cast<int>(std::clamp<int64_t>(count / 16384, 1, 16 * std::max(1, omp_get_max_threads())));
}

// `count` lines of known length formatted in parallel straight into one string (after `header`):
// len(i) is the exact byte count of line i, put(i, p) writes it at p and returns its end.
template <class Len, class Put>
std::string format_exact(const std::string& header, int64_t count, const Len& len, const Put& put) {
  const int chunks = num_chunks(count);
  std::vector<int64_t> offset(static_cast<size_t>(chunks) + 1, 0);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int c = 0; c < chunks; ++c) {
    int64_t bytes = 0;
    for (int64_t i = count * c / chunks; i < count * (c + 1) / chunks; ++i) bytes += len(i);
    offset[static_cast<size_t>(c) + 1] = bytes;
  }
  for (int c = 0; c < chunks; ++c) offset[static_cast<size_t>(c) + 1] += offset[static_cast<size_t>(c)];
  std::string out;
  out.resize(header.size() + static_cast<size_t>(offset.back()));
  std::memcpy(out.data(), header.data(), header.size());
  char* base = out.data() + header.size();
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int c = 0; c < chunks; ++c) {
    char* p = base + offset[static_cast<size_t>(c)];
    for (int64_t i = count * c / chunks; i < count * (c + 1) / chunks; ++i) p = put(i, p);
  }
  return out;
}

// Lines whose length is only known once formatted (floats): each chunk is formatted in parallel
// into its own growing buffer, then the chunks are copied into one string. max_len(i) bounds the
// length of line i; put(i, p) writes it at p and returns its end.
template <class MaxLen, class Put>
std::string format_chunked(const std::string& header, int64_t count, const MaxLen& max_len, const Put& put) {
  struct Buffer {
    std::unique_ptr<char[]> data;
    size_t size = 0, cap = 0;
  };
  const int chunks = num_chunks(count);
  std::vector<Buffer> parts(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(dynamic, 1) if (chunks > 1)
  for (int c = 0; c < chunks; ++c) {
    Buffer& b = parts[static_cast<size_t>(c)];
    for (int64_t i = count * c / chunks; i < count * (c + 1) / chunks; ++i) {
      const auto need = static_cast<size_t>(max_len(i));
      if (b.size + need > b.cap) {
        const size_t cap = std::max(2 * b.cap, b.size + need + (size_t{1} << 16));
        std::unique_ptr<char[]> grown(new char[cap]);
        if (b.size) std::memcpy(grown.get(), b.data.get(), b.size);
        b.data = std::move(grown), b.cap = cap;
      }
      b.size = static_cast<size_t>(put(i, b.data.get() + b.size) - b.data.get());
    }
  }
  std::vector<size_t> offset(static_cast<size_t>(chunks) + 1, header.size());
  for (int c = 0; c < chunks; ++c)
    offset[static_cast<size_t>(c) + 1] = offset[static_cast<size_t>(c)] + parts[static_cast<size_t>(c)].size;
  std::string out;
  out.resize(offset.back());
  std::memcpy(out.data(), header.data(), header.size());
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int c = 0; c < chunks; ++c) {
    Buffer& b = parts[static_cast<size_t>(c)];
    if (b.size) std::memcpy(out.data() + offset[static_cast<size_t>(c)], b.data.get(), b.size);
    b.data.reset();
  }
  return out;
}

// A token the loader reads back as itself: non-empty, no blanks or line breaks, not a comment.
bool plain_token(const std::string& s) {
  return !s.empty() && s.front() != '#' && s.find_first_of(" \t\r\n") == std::string::npos;
}

[[noreturn]] void cannot(const std::string& dir, const std::string& problem, const std::string& token,
                         const std::string& fix) {
  throw_input_error(dir, 0, "cannot write the dataset: " + problem, token, fix);
}

}  // namespace

void check_output_dir(const std::string& dir, bool overwrite) {
  std::error_code ec;
  const fs::path p(dir);
  if (!fs::exists(p, ec)) return;
  if (!fs::is_directory(p, ec))
    throw_input_error("", 0, "the output path exists and is not a folder", dir, "choose another --out folder");
  if (overwrite) return;
  if (!fs::is_empty(p, ec) || ec)
    throw_input_error("", 0, "the output folder is not empty", dir,
                      "choose a new or empty --out folder, or add --force to overwrite the dataset files in it");
}

void write_dataset(const Dataset& ds, const std::string& dir, bool overwrite) {
  check_output_dir(dir, overwrite);
  const int64_t n = ds.num_nodes;
  const auto E = static_cast<int64_t>(ds.src.size());
  const bool named = !ds.node_names.empty();
  const bool weighted = !ds.weight.empty();
  const int64_t dims = ds.features.cols();

  // ---- Consistency (programming errors: the Dataset breaks dataset.hpp's rules).
  check(!ds.name.empty(), "write_dataset: the dataset has no name");
  check(n >= 1, "write_dataset: the dataset has no nodes");
  check(ds.dst.size() == ds.src.size(), "write_dataset: src and dst differ in length");
  check(!weighted || static_cast<int64_t>(ds.weight.size()) == E, "write_dataset: weight is not one per edge");
  check(!named || static_cast<int64_t>(ds.node_names.size()) == n, "write_dataset: node_names is not one per node");
  check(ds.features.rows() == n, "write_dataset: features do not have one row per node");
  check(ds.labels.empty() || static_cast<int64_t>(ds.labels.size()) == n, "write_dataset: labels not one per node");
  // (Messages are built only on failure: these loops run over tens of millions of entries.)
  for (int64_t e = 0; e < E; ++e) {
    const int32_t a = ds.src[static_cast<size_t>(e)], b = ds.dst[static_cast<size_t>(e)];
    if (a < 0 || a >= n || b < 0 || b >= n)
      check(false, "write_dataset: edge " + std::to_string(e) + " has a node id outside 0..num_nodes-1");
  }
  for (int32_t l : ds.labels)
    if (l < -1 || l >= ds.num_classes)
      check(false, "write_dataset: label " + std::to_string(l) + " outside -1..num_classes-1");
  for (const auto* part : {&ds.train, &ds.val, &ds.test})
    for (int32_t v : *part)
      if (v < 0 || v >= n) check(false, "write_dataset: split id " + std::to_string(v) + " out of range");
  const bool graphs = ds.has_graphs();
  if (graphs) {
    check(static_cast<int64_t>(ds.graph_of.size()) == n, "write_dataset: graph_of is not one per node");
    for (int32_t g : ds.graph_of)
      if (g < 0 || g >= ds.num_graphs) check(false, "write_dataset: graph id " + std::to_string(g) + " out of range");
    check(ds.graph_labels.empty() || static_cast<int64_t>(ds.graph_labels.size()) == ds.num_graphs,
          "write_dataset: graph_labels is not one per graph");
    check(static_cast<int64_t>(ds.graph_targets.size()) == ds.num_graphs * ds.num_targets,
          "write_dataset: graph_targets is not num_targets per graph");
    for (int32_t l : ds.graph_labels)
      if (l < -1 || l >= ds.num_graph_classes) check(false, "write_dataset: graph label " + std::to_string(l) + " out of range");
    for (const auto* part : {&ds.train_graphs, &ds.val_graphs, &ds.test_graphs})
      for (int32_t g : *part)
        if (g < 0 || g >= ds.num_graphs) check(false, "write_dataset: split graph " + std::to_string(g) + " out of range");
    for (float v : ds.graph_targets)
      if (!std::isfinite(v))
        cannot(dir, "a graph target is not finite", std::to_string(v), "the loader rejects NaN and Inf; fix the targets first");
  }
  if (!ds.edge_labels.empty())
    cannot(dir, "the dataset has edge labels, which the dataset YAML cannot hold yet", ds.name,
           "drop the edge labels first, or keep the data in its TU folder");
  for (size_t i = 0; i < ds.weight.size(); ++i)
    if (!std::isfinite(ds.weight[i]))
      cannot(dir, "edge weight " + std::to_string(i) + " is not finite", std::to_string(ds.weight[i]),
             "the loader rejects NaN and Inf; fix the weights first");
  for (Eigen::Index i = 0; i < ds.features.nonZeros(); ++i)
    if (!std::isfinite(ds.features.valuePtr()[i]))
      cannot(dir, "a feature value is not finite", std::to_string(ds.features.valuePtr()[i]),
             "the loader rejects NaN and Inf; clean the features first");

  // ---- Edge lines: undirected edges are a->b, b->a pairs (or a self loop once), one line each.
  std::vector<int64_t> line_edge;  // edge index of each line, when not simply 2*line (or line)
  int64_t lines = E;
  if (!ds.directed && E > 0) {
    bool simple = E % 2 == 0;
    if (simple) {
      int64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(+ : bad) if (E >= (1 << 16))
      for (int64_t i = 0; i < E / 2; ++i) {
        const auto a = static_cast<size_t>(2 * i);
        bad += !(ds.src[a] != ds.dst[a] && ds.src[a + 1] == ds.dst[a] && ds.dst[a + 1] == ds.src[a] &&
                 (!weighted || ds.weight[a] == ds.weight[a + 1]));
      }
      simple = bad == 0;
    }
    if (simple) {
      lines = E / 2;
    } else {
      for (int64_t e = 0; e < E;) {
        const auto a = static_cast<size_t>(e);
        line_edge.push_back(e);
        if (ds.src[a] == ds.dst[a]) {
          ++e;
          continue;
        }
        if (!(e + 1 < E && ds.src[a + 1] == ds.dst[a] && ds.dst[a + 1] == ds.src[a] &&
              (!weighted || ds.weight[a] == ds.weight[a + 1])))
          check(false, "write_dataset: undirected edge " + std::to_string(e) + " (" + std::to_string(ds.src[a]) + "->" +
                           std::to_string(ds.dst[a]) +
                           ") is not followed by its reverse with the same weight, as dataset.hpp requires");
        e += 2;
      }
      lines = static_cast<int64_t>(line_edge.size());
    }
  }
  auto edge_of_line = [&](int64_t i) -> size_t {
    if (!line_edge.empty()) return static_cast<size_t>(line_edge[static_cast<size_t>(i)]);
    return static_cast<size_t>(ds.directed ? i : 2 * i);
  };

  // ---- Node ids and label tokens.
  if (named) {
    for (int64_t v = 0; v < n; ++v)
      if (!plain_token(ds.node_names[static_cast<size_t>(v)]))
        cannot(dir, "node name is empty, holds a blank or starts with '#':", ds.node_names[static_cast<size_t>(v)],
               "rename the node");
  }
  // Class names must read back as the same classes: plain tokens, sorted and distinct, not all numbers.
  auto check_class_names = [&](const std::vector<std::string>& names, int64_t classes, const std::string& what) {
    if (names.empty()) return;
    check(static_cast<int64_t>(names.size()) == classes, "write_dataset: " + what + " names are not one per class");
    bool all_int = true;
    for (size_t c = 0; c < names.size(); ++c) {
      if (!plain_token(names[c]))
        cannot(dir, what + " name is empty, holds a blank or starts with '#':", names[c], "rename the class");
      if (c > 0 && !(names[c - 1] < names[c]))
        cannot(dir, what + " names are not sorted and distinct (the loader numbers names in sorted order):", names[c],
               "sort the class names");
      all_int = all_int && parse_int(names[c]).has_value();
    }
    if (all_int)
      cannot(dir, "every " + what + " name is a number, so the loader would read them as class numbers:", names.front(),
             "clear the " + what + " names and use the class numbers");
  };
  check_class_names(ds.label_names, ds.num_classes, "label");
  check_class_names(ds.graph_label_names, ds.num_graph_classes, "graph label");
  auto id_len = [&](int32_t v) -> int64_t {
    return named ? static_cast<int64_t>(ds.node_names[static_cast<size_t>(v)].size()) : decimal_len(v);
  };
  auto put_id = [&](int32_t v, char* p) -> char* {
    if (!named) return put_int(p, v);
    const std::string& s = ds.node_names[static_cast<size_t>(v)];
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
  };
  auto append_id = [&](std::string& s, int32_t v) {
    char buf[24];
    if (named)
      s += ds.node_names[static_cast<size_t>(v)];
    else
      s.append(buf, put_int(buf, v));
  };

  // Labelled nodes and feature rows, in node order.
  std::vector<int32_t> labelled;
  for (int64_t v = 0; v < static_cast<int64_t>(ds.labels.size()); ++v)
    if (ds.labels[static_cast<size_t>(v)] >= 0) labelled.push_back(static_cast<int32_t>(v));
  auto row_has_nonzero = [&](int64_t v) {
    for (SpMat::InnerIterator it(ds.features, v); it; ++it)
      if (it.value() != 0.0f) return true;
    return false;
  };

  // With names, the loader numbers nodes by first appearance: labels, then features, then edges.
  if (named) {
    std::vector<char> seen(static_cast<size_t>(n), 0);
    int64_t next = 0;
    bool in_order = true;
    auto visit = [&](int32_t v) {
      if (seen[static_cast<size_t>(v)]) return;
      in_order = in_order && v == next;
      seen[static_cast<size_t>(v)] = 1;
      ++next;
    };
    for (int32_t v : labelled) visit(v);
    if (dims > 0)
      for (int64_t v = 0; v < n; ++v)
        if (ds.features_dense || row_has_nonzero(v)) visit(static_cast<int32_t>(v));
    for (int64_t i = 0; i < lines && in_order; ++i) {
      visit(ds.src[edge_of_line(i)]);
      visit(ds.dst[edge_of_line(i)]);
    }
    if (!in_order || next != n)
      cannot(dir,
             "with ids: name the loader numbers nodes in order of first appearance, and this dataset's "
             "labels, features and edges do not name its nodes in index order:",
             ds.name, "renumber the nodes so that they first appear in order, or clear node_names to write indices");
  }

  // A new (or empty) folder is written whole into a sibling staging folder renamed into place at
  // the end, so no reader ever sees part of a dataset and an error or a kill leaves nothing
  // under `dir`. --force into a non-empty folder replaces the files one by one, dataset.yaml last.
  std::error_code ec;
  fs::path target = fs::path(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "out/" names the folder "out"
  const bool staged = !fs::exists(target, ec) || fs::is_empty(target, ec);
  const fs::path root =
      staged ? fs::path(target.string() + ".tmp." + std::to_string(::getpid())) : target;
  fs::create_directories(root, ec);
  if (ec)
    throw_input_error("", 0, "cannot create the output folder", dir,
                      "check the path and its permissions (" + ec.message() + ")");
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code e;
      if (!dir.empty()) fs::remove_all(dir, e);
    }
  } cleanup{staged ? root : fs::path()};
  auto path = [&](const char* f) { return (root / f).string(); };
  // An interrupted overwrite must not leave the old dataset.yaml pointing at new files.
  if (overwrite) fs::remove(root / "dataset.yaml", ec);
  std::vector<std::string> written;

  // ---- edges.tsv
  if (lines > 0) {
    const std::string header = "# " + std::to_string(lines) + (ds.directed ? " directed" : " undirected") +
                               " edges, one per line: src dst" + (weighted ? " weight" : "") + "\n";
    std::string text;
    if (!weighted) {
      text = format_exact(
          header, lines,
          [&](int64_t i) {
            const size_t e = edge_of_line(i);
            return id_len(ds.src[e]) + id_len(ds.dst[e]) + 2;
          },
          [&](int64_t i, char* p) {
            const size_t e = edge_of_line(i);
            p = put_id(ds.src[e], p);
            *p++ = '\t';
            p = put_id(ds.dst[e], p);
            *p++ = '\n';
            return p;
          });
    } else {
      text = format_chunked(
          header, lines,
          [&](int64_t i) {
            const size_t e = edge_of_line(i);
            return id_len(ds.src[e]) + id_len(ds.dst[e]) + 3 + kMaxFloatText;
          },
          [&](int64_t i, char* p) {
            const size_t e = edge_of_line(i);
            p = put_id(ds.src[e], p);
            *p++ = '\t';
            p = put_id(ds.dst[e], p);
            *p++ = '\t';
            p = put_float(p, ds.weight[e]);
            *p++ = '\n';
            return p;
          });
    }
    write_file_atomic(path("edges.tsv"), text);
    written.push_back("edges.tsv");
  }

  // ---- features.tsv
  if (dims > 0) {
    std::string text;
    if (ds.features_dense) {
      text = format_chunked(
          "", n, [&](int64_t v) { return id_len(static_cast<int32_t>(v)) + 1 + dims * (1 + kMaxFloatText); },
          [&](int64_t v, char* p) {
            p = put_id(static_cast<int32_t>(v), p);
            SpMat::InnerIterator it(ds.features, v);
            for (int64_t j = 0; j < dims; ++j) {
              *p++ = '\t';
              if (it && it.col() == j) {
                p = put_float(p, it.value());
                ++it;
              } else {
                *p++ = '0';
              }
            }
            *p++ = '\n';
            return p;
          });
    } else {
      text = format_chunked(
          "", n,
          [&](int64_t v) {
            return (ds.features.outerIndexPtr()[v + 1] - ds.features.outerIndexPtr()[v]) *
                   (id_len(static_cast<int32_t>(v)) + 14 + kMaxFloatText);
          },
          [&](int64_t v, char* p) {
            for (SpMat::InnerIterator it(ds.features, v); it; ++it) {
              if (it.value() == 0.0f) continue;  // the loader does not store zeros
              p = put_id(static_cast<int32_t>(v), p);
              *p++ = '\t';
              p = put_int(p, it.col());
              *p++ = '\t';
              p = put_float(p, it.value());
              *p++ = '\n';
            }
            return p;
          });
    }
    // All-zero sparse features: one explicit zero keeps the file non-empty and the width known.
    if (text.empty()) {
      append_id(text, 0);
      text += "\t0\t0\n";
    }
    write_file_atomic(path("features.tsv"), text);
    written.push_back("features.tsv");
  }

  // ---- labels.tsv
  if (!labelled.empty()) {
    const bool names = !ds.label_names.empty();
    auto label_len = [&](int32_t l) -> int64_t {
      return names ? static_cast<int64_t>(ds.label_names[static_cast<size_t>(l)].size()) : decimal_len(l);
    };
    const std::string text = format_exact(
        "", static_cast<int64_t>(labelled.size()),
        [&](int64_t i) {
          const int32_t v = labelled[static_cast<size_t>(i)];
          return id_len(v) + label_len(ds.labels[static_cast<size_t>(v)]) + 2;
        },
        [&](int64_t i, char* p) {
          const int32_t v = labelled[static_cast<size_t>(i)];
          const int32_t l = ds.labels[static_cast<size_t>(v)];
          p = put_id(v, p);
          *p++ = '\t';
          if (names) {
            const std::string& s = ds.label_names[static_cast<size_t>(l)];
            std::memcpy(p, s.data(), s.size());
            p += s.size();
          } else {
            p = put_int(p, l);
          }
          *p++ = '\n';
          return p;
        });
    write_file_atomic(path("labels.tsv"), text);
    written.push_back("labels.tsv");
  }

  // ---- graphs.tsv ("node graph"), graph_labels.tsv ("graph label"), graph_targets.tsv ("graph v1 ... vt")
  if (graphs) {
    write_file_atomic(path("graphs.tsv"),
                      format_exact(
                          "", n, [&](int64_t v) { return id_len(static_cast<int32_t>(v)) + decimal_len(ds.graph_of[static_cast<size_t>(v)]) + 2; },
                          [&](int64_t v, char* p) {
                            p = put_id(static_cast<int32_t>(v), p);
                            *p++ = '\t';
                            p = put_int(p, ds.graph_of[static_cast<size_t>(v)]);
                            *p++ = '\n';
                            return p;
                          }));
    written.push_back("graphs.tsv");
    std::string text;
    for (int64_t g = 0; g < static_cast<int64_t>(ds.graph_labels.size()); ++g) {
      const int32_t l = ds.graph_labels[static_cast<size_t>(g)];
      if (l < 0) continue;
      text += std::to_string(g) + '\t' +
              (ds.graph_label_names.empty() ? std::to_string(l) : ds.graph_label_names[static_cast<size_t>(l)]) + '\n';
    }
    if (!text.empty()) {
      write_file_atomic(path("graph_labels.tsv"), text);
      written.push_back("graph_labels.tsv");
    }
    if (ds.num_targets > 0) {
      const int64_t t = ds.num_targets;
      write_file_atomic(path("graph_targets.tsv"),
                        format_chunked(
                            "", ds.num_graphs, [&](int64_t g) { return decimal_len(g) + t * (1 + kMaxFloatText) + 1; },
                            [&](int64_t g, char* p) {
                              p = put_int(p, g);
                              for (int64_t j = 0; j < t; ++j) {
                                *p++ = '\t';
                                p = put_float(p, ds.graph_targets[static_cast<size_t>(g * t + j)]);
                              }
                              *p++ = '\n';
                              return p;
                            }));
      written.push_back("graph_targets.tsv");
    }
  }

  // ---- train.txt, val.txt, test.txt: node ids, or graph ids for a dataset of many graphs
  const std::pair<const char*, const std::vector<int32_t>*> parts[] = {
      {"train.txt", graphs ? &ds.train_graphs : &ds.train},
      {"val.txt", graphs ? &ds.val_graphs : &ds.val},
      {"test.txt", graphs ? &ds.test_graphs : &ds.test}};
  auto part_len = [&](int32_t v) -> int64_t { return graphs ? decimal_len(v) : id_len(v); };
  for (const auto& part : parts) {
    const char* file = part.first;
    const std::vector<int32_t>* ids = part.second;  // a plain variable: lambdas capture it (clang 14)
    if (ids->empty()) continue;
    const std::string text = format_exact(
        "", static_cast<int64_t>(ids->size()), [&](int64_t i) { return part_len((*ids)[static_cast<size_t>(i)]) + 1; },
        [&](int64_t i, char* p) {
          p = graphs ? put_int(p, (*ids)[static_cast<size_t>(i)]) : put_id((*ids)[static_cast<size_t>(i)], p);
          *p++ = '\n';
          return p;
        });
    write_file_atomic(path(file), text);
    written.push_back(file);
  }

  if (overwrite)
    for (const char* f : kFiles)
      if (std::find(written.begin(), written.end(), f) == written.end()) fs::remove(root / f, ec);

  // ---- dataset.yaml, last.
  auto has = [&](const char* f) { return std::find(written.begin(), written.end(), f) != written.end(); };
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << ds.name;
  y << YAML::Key << "task" << YAML::Value << task_name(ds.task);
  y << YAML::Key << "directed" << YAML::Value << ds.directed;
  if (named) y << YAML::Key << "ids" << YAML::Value << "name";
  y << YAML::Key << "num_nodes" << YAML::Value << n;
  if (has("edges.tsv")) {
    y << YAML::Key << "edges" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "path" << YAML::Value << "edges.tsv";
    if (weighted) y << YAML::Key << "weighted" << YAML::Value << true;
    y << YAML::EndMap;
  }
  if (has("features.tsv")) {
    y << YAML::Key << "features" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "path" << YAML::Value << "features.tsv";
    y << YAML::Key << "format" << YAML::Value << (ds.features_dense ? "dense" : "sparse");
    y << YAML::Key << "dim" << YAML::Value << dims;
    y << YAML::EndMap;
  }
  if (has("labels.tsv")) {
    y << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "path" << YAML::Value << "labels.tsv";
    y << YAML::Key << "num_classes" << YAML::Value << ds.num_classes;
    y << YAML::EndMap;
  }
  if (graphs) {
    y << YAML::Key << "graphs" << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "path" << YAML::Value << "graphs.tsv";
    if (has("graph_labels.tsv")) {
      y << YAML::Key << "labels" << YAML::Value << "graph_labels.tsv";
      y << YAML::Key << "num_classes" << YAML::Value << ds.num_graph_classes;
    }
    if (has("graph_targets.tsv")) y << YAML::Key << "targets" << YAML::Value << "graph_targets.tsv";
    y << YAML::EndMap;
  }
  if (has("train.txt") || has("val.txt") || has("test.txt")) {
    y << YAML::Key << "split" << YAML::Value << YAML::BeginMap;
    for (const auto& part : parts) {
      const char* file = part.first;
      if (!has(file)) continue;
      const std::string key(file, std::strlen(file) - 4);
      y << YAML::Key << key << YAML::Value << file;
    }
    y << YAML::EndMap;
  }
  y << YAML::EndMap;
  check(y.good(), "write_dataset: YAML emitter error: " + y.GetLastError());
  write_file_atomic(path("dataset.yaml"),
                    "# Written by Locus (datasets/writer.cpp); schema: datasets/README.md of the "
                    "shared data.\n" +
                        std::string(y.c_str()) + "\n");
  if (staged) {
    if (fs::exists(target, ec)) fs::remove(target, ec);  // empty: rename(2) cannot replace a folder
    fs::rename(root, target, ec);
    if (ec)
      throw_input_error("", 0, "cannot move the written dataset into place at", dir,
                        "check the path and its permissions (" + ec.message() + ")");
    cleanup.dir.clear();
  }
}

}  // namespace locus
