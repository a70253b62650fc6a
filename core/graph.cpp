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
    check(dst[i] >= 0 && dst[i] < num_dst && src[i] >= 0 && src[i] < num_src,
          "Csr::from_edges: edge " + std::to_string(src[i]) + "->" + std::to_string(dst[i]) +
              " outside the node range");
    ++g.indptr[dst[i] + 1];
  }
  std::partial_sum(g.indptr.begin(), g.indptr.end(), g.indptr.begin());
  // Counting sort by destination, then sort each row by source (stable: duplicates keep order).
  std::vector<int64_t> order(m), fill(g.indptr.begin(), g.indptr.end() - 1);
  for (int64_t i = 0; i < m; ++i) order[fill[dst[i]]++] = i;
  for (int64_t d = 0; d < num_dst; ++d)
    std::stable_sort(order.begin() + g.indptr[d], order.begin() + g.indptr[d + 1],
                     [&](int64_t a, int64_t b) { return src[a] < src[b]; });
  g.indices.resize(m);
  for (int64_t p = 0; p < m; ++p) g.indices[p] = src[order[p]];
  if (!weights.empty()) {
    g.weights.resize(m);
    for (int64_t p = 0; p < m; ++p) g.weights[p] = weights[order[p]];
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

Csr Csr::add_self_loops(float w) const {
  check(num_dst == num_src, "Csr::add_self_loops: graph is not square");
  EdgeList el = to_edge_list(*this);
  for (int64_t v = 0; v < num_dst; ++v)
    if (!has_edge(*this, v, static_cast<int32_t>(v))) {
      el.src.push_back(static_cast<int32_t>(v));
      el.dst.push_back(static_cast<int32_t>(v));
      if (has_weights()) el.w.push_back(w);
    }
  Csr g = from_edges(num_dst, num_src, el.src, el.dst, el.w);
  // An unweighted graph stays unweighted when w == 1; otherwise materialise the weights.
  if (!has_weights() && w != 1.0f) {
    g.weights.assign(g.num_edges(), 1.0f);
    for (int64_t d = 0; d < g.num_dst; ++d)
      for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p)
        if (g.indices[p] == d && !has_edge(*this, d, static_cast<int32_t>(d))) g.weights[p] = w;
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
