#include "core/graph.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "core/error.hpp"

namespace locus {

Csr Csr::from_edges(int64_t num_nodes, std::span<const int32_t> src, std::span<const int32_t> dst,
                    std::span<const float> weights) {
  return from_edges(num_nodes, num_nodes, src, dst, weights);
}

Csr Csr::from_edges(int64_t num_dst, int64_t num_src, std::span<const int32_t> src,
                    std::span<const int32_t> dst, std::span<const float> weights) {
  check(src.size() == dst.size(), "Csr::from_edges: src and dst differ in length");
  check(weights.empty() || weights.size() == src.size(), "Csr::from_edges: one weight per edge");
  const int64_t m = static_cast<int64_t>(src.size());
  Csr g;
  g.num_dst = num_dst;
  g.num_src = num_src;
  g.indptr.assign(num_dst + 1, 0);
  for (int64_t i = 0; i < m; ++i) {
    if (dst[i] < 0 || dst[i] >= num_dst || src[i] < 0 || src[i] >= num_src)  // message built only on failure
      throw ShapeError("Csr::from_edges: edge " + std::to_string(src[i]) + "->" + std::to_string(dst[i]) +
                       " outside the node range");
    ++g.indptr[dst[i] + 1];
  }
  std::partial_sum(g.indptr.begin(), g.indptr.end(), g.indptr.begin());
  // Counting sort by destination (one scatter pass), then each row — short and contiguous — is
  // sorted by source; input positions break ties, so duplicates keep their input order.
  g.indices.resize(m);
  std::vector<int64_t> from(weights.empty() ? 0 : m);
  {
    std::vector<int64_t> fill(g.indptr.begin(), g.indptr.end() - 1);
    for (int64_t i = 0; i < m; ++i) {
      const int64_t p = fill[dst[i]]++;
      g.indices[p] = src[i];
      if (!weights.empty()) from[p] = i;
    }
  }
  const bool parallel = m >= (int64_t(1) << 18);
  if (weights.empty()) {
#pragma omp parallel for schedule(dynamic, 1024) if (parallel)
    for (int64_t d = 0; d < num_dst; ++d) std::sort(g.indices.begin() + g.indptr[d], g.indices.begin() + g.indptr[d + 1]);
  } else {
    g.weights.resize(m);
#pragma omp parallel for schedule(dynamic, 1024) if (parallel)
    for (int64_t d = 0; d < num_dst; ++d) {
      std::vector<std::pair<int32_t, int64_t>> row;
      row.reserve(g.indptr[d + 1] - g.indptr[d]);
      for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) row.emplace_back(g.indices[p], from[p]);
      std::sort(row.begin(), row.end());
      for (size_t k = 0; k < row.size(); ++k) {
        g.indices[g.indptr[d] + k] = row[k].first;
        g.weights[g.indptr[d] + k] = weights[row[k].second];
      }
    }
  }
  return g;
}

namespace {
struct EdgeList {
  std::vector<int32_t> src, dst;
  std::vector<float> w;
};
EdgeList to_edge_list(const Csr& g) {
  EdgeList el;
  el.src.reserve(g.num_edges());
  el.dst.reserve(g.num_edges());
  for (int64_t d = 0; d < g.num_dst; ++d)
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) {
      el.src.push_back(g.indices[p]);
      el.dst.push_back(static_cast<int32_t>(d));
      if (g.has_weights()) el.w.push_back(g.weights[p]);
    }
  return el;
}
bool has_edge(const Csr& g, int64_t d, int32_t s) {
  auto b = g.indices.begin() + g.indptr[d], e = g.indices.begin() + g.indptr[d + 1];
  return std::binary_search(b, e, s);
}
}  // namespace

Csr Csr::symmetrise() const {
  check(num_dst == num_src, "Csr::symmetrise: graph is not square");
  EdgeList el = to_edge_list(*this);
  const int64_t m = num_edges();
  for (int64_t i = 0; i < m; ++i) {
    // Edge s->d; add d->s when row s lacks source d.
    if (!has_edge(*this, el.src[i], el.dst[i])) {
      el.src.push_back(el.dst[i]);
      el.dst.push_back(el.src[i]);
      if (has_weights()) el.w.push_back(el.w[i]);
    }
  }
  return from_edges(num_dst, num_src, el.src, el.dst, el.w);
}

Csr Csr::simple_pattern() const {
  const Csr sym = symmetrise();
  Csr out;
  out.num_dst = out.num_src = sym.num_dst;
  out.indptr.assign(static_cast<size_t>(sym.num_dst) + 1, 0);
  out.indices.reserve(sym.indices.size());
  for (int64_t v = 0; v < sym.num_dst; ++v) {
    int32_t last = -1;
    for (int64_t p = sym.indptr[v]; p < sym.indptr[v + 1]; ++p) {  // sorted within a row
      const int32_t s = sym.indices[p];
      if (s != v && s != last) out.indices.push_back(s);
      last = s;
    }
    out.indptr[v + 1] = static_cast<int64_t>(out.indices.size());
  }
  return out;
}

Csr Csr::add_self_loops(float w) const {
  check(num_src >= num_dst, "Csr::add_self_loops: fewer sources than destinations");
  // Rows stay sorted: the loop goes in before the first source larger than the row's node.
  // The result carries weights when this graph does or when w != 1.
  const bool weighted = has_weights() || w != 1.0f;
  Csr g;
  g.num_dst = num_dst;
  g.num_src = num_src;
  g.indptr.assign(num_dst + 1, 0);
  for (int64_t d = 0; d < num_dst; ++d)
    g.indptr[d + 1] = g.indptr[d] + (indptr[d + 1] - indptr[d]) + (has_edge(*this, d, static_cast<int32_t>(d)) ? 0 : 1);
  g.indices.resize(g.indptr[num_dst]);
  if (weighted) g.weights.resize(g.indptr[num_dst]);
  const bool parallel = num_edges() >= (int64_t(1) << 18);
#pragma omp parallel for schedule(dynamic, 1024) if (parallel)
  for (int64_t d = 0; d < num_dst; ++d) {
    int64_t q = g.indptr[d];
    const bool missing = g.indptr[d + 1] - g.indptr[d] > indptr[d + 1] - indptr[d];
    bool placed = !missing;
    for (int64_t p = indptr[d]; p <= indptr[d + 1]; ++p) {
      if (!placed && (p == indptr[d + 1] || indices[p] > d)) {
        g.indices[q] = static_cast<int32_t>(d);
        if (weighted) g.weights[q] = w;
        ++q;
        placed = true;
      }
      if (p == indptr[d + 1]) break;
      g.indices[q] = indices[p];
      if (weighted) g.weights[q] = weight(p);
      ++q;
    }
  }
  return g;
}

Csr Csr::remove_self_loops() const {
  EdgeList el = to_edge_list(*this), out;
  for (size_t i = 0; i < el.src.size(); ++i)
    if (el.src[i] != el.dst[i]) {
      out.src.push_back(el.src[i]);
      out.dst.push_back(el.dst[i]);
      if (has_weights()) out.w.push_back(el.w[i]);
    }
  return from_edges(num_dst, num_src, out.src, out.dst, out.w);
}

std::vector<float> Csr::in_degrees() const {
  std::vector<float> deg(num_dst);
  for (int64_t d = 0; d < num_dst; ++d) deg[d] = static_cast<float>(indptr[d + 1] - indptr[d]);
  return deg;
}

std::vector<float> Csr::out_degrees() const {
  std::vector<float> deg(num_src, 0.0f);
  for (int32_t s : indices) deg[s] += 1.0f;
  return deg;
}

Csr Csr::reverse() const {
  Csr r;
  r.num_dst = num_src;
  r.num_src = num_dst;
  r.indptr.assign(num_src + 1, 0);
  for (int32_t s : indices) ++r.indptr[s + 1];
  std::partial_sum(r.indptr.begin(), r.indptr.end(), r.indptr.begin());
  const int64_t m = num_edges();
  r.indices.resize(m);
  r.perm.resize(m);
  if (has_weights()) r.weights.resize(m);
  std::vector<int64_t> fill(r.indptr.begin(), r.indptr.end() - 1);
  // Walking destinations in increasing order keeps each reversed row sorted by source.
  for (int64_t d = 0; d < num_dst; ++d)
    for (int64_t p = indptr[d]; p < indptr[d + 1]; ++p) {
      int64_t q = fill[indices[p]]++;
      r.indices[q] = static_cast<int32_t>(d);
      r.perm[q] = p;
      if (has_weights()) r.weights[q] = weights[p];
    }
  return r;
}

const Csr& Csr::reversed() const {
  if (!reversed_) reversed_ = std::make_shared<const Csr>(reverse());
  return *reversed_;
}

void Csr::set_reversed(Csr r) {
  check(r.num_dst == num_src && r.num_src == num_dst && r.num_edges() == num_edges() &&
            static_cast<int64_t>(r.indptr.size()) == num_src + 1 && (r.perm.empty() || static_cast<int64_t>(r.perm.size()) == num_edges()) &&
            r.weights.size() == weights.size(),
        "Csr::set_reversed: the graph given is not shaped as this graph's transpose");
  reversed_ = std::make_shared<const Csr>(std::move(r));
}

Dense Dense::complete(int64_t n, bool causal) {
  Dense g;
  g.offsets = {0, n};
  g.causal = causal;
  return g;
}

Dense Dense::blocks(std::span<const int64_t> lengths, bool causal) {
  Dense g;
  g.causal = causal;
  for (int64_t len : lengths) {
    check(len >= 0, "Dense::blocks: negative block length");
    g.offsets.push_back(g.offsets.back() + len);
  }
  return g;
}

int64_t Dense::edge_offset(int64_t b) const {
  int64_t e = 0;
  for (int64_t i = 0; i < b; ++i) e += block_len(i) * block_len(i);
  return e;
}

int64_t Dense::num_edge_slots() const { return edge_offset(num_blocks()); }

Csr Dense::to_csr() const {
  std::vector<int32_t> src, dst;
  for (int64_t b = 0; b < num_blocks(); ++b)
    for (int64_t d = offsets[b]; d < offsets[b + 1]; ++d)
      for (int64_t s = offsets[b]; s < offsets[b + 1]; ++s)
        if (!causal || s <= d) {
          src.push_back(static_cast<int32_t>(s));
          dst.push_back(static_cast<int32_t>(d));
        }
  return Csr::from_edges(num_nodes(), src, dst);
}

}  // namespace locus
