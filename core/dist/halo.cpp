#include "core/dist/halo.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <string>
#include <utility>

#include "core/error.hpp"

namespace locus::dist {

int64_t LocalLayout::num_send_rows() const {
  int64_t n = 0;
  for (const Peer& p : peers) n += static_cast<int64_t>(p.send_rows.size());
  return n;
}

LocalLayout make_layout(const Csr& g, std::span<const int32_t> part, int rank, int num_parts) {
  const int64_t n = g.num_dst;
  check(g.num_src == n && static_cast<int64_t>(part.size()) == n, "make_layout: one part per node of a square graph");
  check(rank >= 0 && rank < num_parts, "make_layout: rank outside [0, num_parts)");
  LocalLayout l;
  l.rank = rank;
  l.num_parts = num_parts;
  l.num_nodes = n;
  std::vector<int32_t> local(static_cast<size_t>(n), -1);
  for (int64_t v = 0; v < n; ++v)
    if (part[v] == rank) {
      local[v] = static_cast<int32_t>(l.owned.size());
      l.owned.push_back(static_cast<int32_t>(v));
    }
  // Halo: remote sources of owned rows, grouped by owner, increasing id within a group.
  std::vector<char> in_halo(static_cast<size_t>(n), 0);
  for (int32_t d : l.owned)
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) {
      const int32_t s = g.indices[p];
      if (part[s] != rank) in_halo[s] = 1;
    }
  for (int64_t v = 0; v < n; ++v)
    if (in_halo[v]) l.halo.push_back(static_cast<int32_t>(v));
  std::stable_sort(l.halo.begin(), l.halo.end(), [&](int32_t a, int32_t b) { return part[a] < part[b]; });
  // Sends: owned sources of rows that rank q owns; q's halo group from this rank lists them in
  // increasing global id, which is increasing local row here.
  std::vector<std::vector<int32_t>> send(static_cast<size_t>(num_parts));
  for (int64_t d = 0; d < n; ++d) {
    const int32_t q = part[d];
    if (q == rank) continue;
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) {
      const int32_t s = g.indices[p];
      if (part[s] == rank) send[q].push_back(local[s]);
    }
  }
  int64_t offset = 0;
  size_t h = 0;
  for (int q = 0; q < num_parts; ++q) {
    LocalLayout::Peer peer;
    peer.rank = q;
    auto& rows = send[q];
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    peer.send_rows = std::move(rows);
    peer.recv_offset = offset;
    while (h < l.halo.size() && part[l.halo[h]] == q) ++h, ++peer.recv_count;
    offset += peer.recv_count;
    if (q != rank && (peer.recv_count > 0 || !peer.send_rows.empty())) l.peers.push_back(std::move(peer));
  }
  return l;
}

Csr extract_rows(const Csr& g, const LocalLayout& l) {
  const int64_t own = l.num_own(), halo = l.num_halo();
  std::vector<int32_t> local(static_cast<size_t>(g.num_src), -1);
  for (int64_t i = 0; i < own; ++i) local[l.owned[i]] = static_cast<int32_t>(i);
  for (int64_t j = 0; j < halo; ++j) local[l.halo[j]] = static_cast<int32_t>(own + j);
  Csr out;
  out.num_dst = own;
  out.num_src = own + halo;
  out.indptr.assign(static_cast<size_t>(own) + 1, 0);
  std::vector<std::pair<int32_t, float>> row;
  for (int64_t i = 0; i < own; ++i) {
    const int32_t d = l.owned[i];
    row.clear();
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) {
      const int32_t s = local[g.indices[p]];
      check(s >= 0, "extract_rows: node " + std::to_string(d) + " has an in-edge from node " +
                        std::to_string(g.indices[p]) + ", which is neither owned nor in the halo");
      row.emplace_back(s, g.weight(p));
    }
    std::stable_sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [s, w] : row) {
      out.indices.push_back(s);
      if (g.has_weights()) out.weights.push_back(w);
    }
    out.indptr[i + 1] = static_cast<int64_t>(out.indices.size());
  }
  return out;
}

Csr link_halo(Csr out, std::shared_ptr<const LocalLayout> layout, Comm* comm) {
  const int64_t own = layout->num_own(), halo = layout->num_halo();
  check(out.num_dst == own && out.num_src == own + halo, "link_halo: the graph is not in the layout's numbering");
  out.halo.reset();
  out.perm.clear();
  // Inner / outer parts: rows are sorted, so each row's owned sources come first.
  auto link = std::make_shared<HaloLink>();
  link->layout = std::move(layout);
  link->comm = comm;
  Csr& in = link->inner;
  Csr& ex = link->outer;
  in.num_dst = ex.num_dst = own;
  in.num_src = own;
  ex.num_src = halo;
  in.indptr.assign(static_cast<size_t>(own) + 1, 0);
  ex.indptr.assign(static_cast<size_t>(own) + 1, 0);
  for (int64_t i = 0; i < own; ++i) {
    for (int64_t p = out.indptr[i]; p < out.indptr[i + 1]; ++p) {
      const int32_t s = out.indices[p];
      Csr& part = s < own ? in : ex;
      part.indices.push_back(s < own ? s : static_cast<int32_t>(s - own));
      if (out.has_weights()) part.weights.push_back(out.weights[p]);
    }
    in.indptr[i + 1] = static_cast<int64_t>(in.indices.size());
    ex.indptr[i + 1] = static_cast<int64_t>(ex.indices.size());
  }
  out.halo = std::move(link);
  return out;
}

Csr localise(const Csr& g, std::shared_ptr<const LocalLayout> layout, Comm* comm) {
  Csr local = extract_rows(g, *layout);
  return link_halo(std::move(local), std::move(layout), comm);
}

std::vector<int64_t> global_edge_positions(const Csr& linked) {
  check(linked.halo != nullptr, "global_edge_positions: a linked graph");
  const LocalLayout& l = *linked.halo->layout;
  const int64_t own = l.num_own();
  std::vector<int64_t> start(static_cast<size_t>(l.num_nodes) + 1, 0);
  for (int64_t i = 0; i < own; ++i) start[l.owned[i] + 1] = linked.indptr[i + 1] - linked.indptr[i];
  linked.halo->comm->sum(start.data() + 1, l.num_nodes);  // every node's row length
  for (int64_t v = 0; v < l.num_nodes; ++v) start[v + 1] += start[v];
  auto global_id = [&](int32_t s) { return s < own ? l.owned[s] : l.halo[s - own]; };
  std::vector<int64_t> pos(static_cast<size_t>(linked.num_edges()));
  std::vector<std::pair<int32_t, int64_t>> row;  // (global source, local edge)
  for (int64_t i = 0; i < own; ++i) {
    row.clear();
    for (int64_t p = linked.indptr[i]; p < linked.indptr[i + 1]; ++p) row.emplace_back(global_id(linked.indices[p]), p);
    std::stable_sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t k = 0; k < row.size(); ++k) pos[row[k].second] = start[l.owned[i]] + static_cast<int64_t>(k);
  }
  return pos;
}

std::vector<double> with_halo(const Csr& linked, const std::vector<double>& own) {
  check(linked.halo != nullptr && static_cast<int64_t>(own.size()) == linked.num_dst,
        "with_halo: a linked graph and one value per owned row");
  std::vector<double> all(static_cast<size_t>(linked.num_src));
  std::copy(own.begin(), own.end(), all.begin());
  HaloExchange<double> ex(*linked.halo);
  ex.start_forward(own.data(), 1, all.data() + own.size());
  ex.wait();
  return all;
}

namespace {
int mpi_count(int64_t n) {
  check(n <= INT32_MAX, "halo exchange: a message of more than 2^31 values");
  return static_cast<int>(n);
}
}  // namespace

template <class T>
HaloExchange<T>::~HaloExchange() {
  if (!requests_.empty()) MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
}

template <class T>
void HaloExchange<T>::start_forward(const T* own, int64_t cols, T* halo_out) {
  const LocalLayout& l = *link_.layout;
  const MPI_Comm comm = link_.comm->handle();
  cols_ = cols;
  send_.resize(static_cast<size_t>(l.num_send_rows() * cols));
  for (const auto& peer : l.peers)
    if (peer.recv_count > 0) {
      requests_.emplace_back();
      MPI_Irecv(halo_out + peer.recv_offset * cols, mpi_count(peer.recv_count * cols), mpi_type<T>(), peer.rank, 11,
                comm, &requests_.back());
    }
  T* buf = send_.data();
  for (const auto& peer : l.peers) {
    if (peer.send_rows.empty()) continue;
    const int64_t rows = static_cast<int64_t>(peer.send_rows.size());
    for (int64_t i = 0; i < rows; ++i) std::copy_n(own + peer.send_rows[i] * cols, cols, buf + i * cols);
    requests_.emplace_back();
    MPI_Isend(buf, mpi_count(rows * cols), mpi_type<T>(), peer.rank, 11, comm, &requests_.back());
    link_.comm->bytes_sent += rows * cols * static_cast<int64_t>(sizeof(T));
    buf += rows * cols;
  }
}

template <class T>
void HaloExchange<T>::start_reverse(const T* halo_grad, int64_t cols) {
  const LocalLayout& l = *link_.layout;
  const MPI_Comm comm = link_.comm->handle();
  cols_ = cols;
  recv_.resize(static_cast<size_t>(l.num_send_rows() * cols));
  T* buf = recv_.data();
  for (const auto& peer : l.peers) {
    if (peer.send_rows.empty()) continue;
    const int64_t rows = static_cast<int64_t>(peer.send_rows.size());
    requests_.emplace_back();
    MPI_Irecv(buf, mpi_count(rows * cols), mpi_type<T>(), peer.rank, 12, comm, &requests_.back());
    buf += rows * cols;
  }
  for (const auto& peer : l.peers)
    if (peer.recv_count > 0) {
      requests_.emplace_back();
      MPI_Isend(halo_grad + peer.recv_offset * cols, mpi_count(peer.recv_count * cols), mpi_type<T>(), peer.rank, 12,
                comm, &requests_.back());
      link_.comm->bytes_sent += peer.recv_count * cols * static_cast<int64_t>(sizeof(T));
    }
}

template <class T>
void HaloExchange<T>::wait() {
  if (requests_.empty()) return;
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
  link_.comm->wait_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  requests_.clear();
  check(rc == MPI_SUCCESS, "halo exchange: MPI_Waitall failed");
}

template <class T>
void HaloExchange<T>::wait_add(T* own_grad) {
  wait();
  const T* buf = recv_.data();
  const int64_t cols = cols_;
  for (const auto& peer : link_.layout->peers) {  // increasing rank: a fixed order of additions
    const int64_t rows = static_cast<int64_t>(peer.send_rows.size());
#pragma omp parallel for schedule(static) if (rows * cols >= (int64_t(1) << 16))
    for (int64_t i = 0; i < rows; ++i) {
      T* dst = own_grad + peer.send_rows[i] * cols;
      const T* src = buf + i * cols;
      for (int64_t j = 0; j < cols; ++j) dst[j] += src[j];
    }
    buf += rows * cols;
  }
}

template class HaloExchange<float>;
template class HaloExchange<double>;

}  // namespace locus::dist
