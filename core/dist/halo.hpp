// One rank's halo in partitioned training: the remote in-neighbours it reads, the rows others
// read from it, and the non-blocking exchange moving them forward (features) and back
// (gradients). A rank's graph keeps its owned rows, sources owned then halo, and carries a
// HaloLink so ops::gspmm does the exchange itself.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/dist/comm.hpp"
#include "core/graph.hpp"

namespace locus::dist {

// Local numbering of one rank: rows [0, num_own) are the owned nodes in increasing global id;
// rows [num_own, num_own + num_halo) the halo, grouped by owner rank (increasing), increasing
// global id within a group.
struct LocalLayout {
  int rank = 0, num_parts = 1;
  int64_t num_nodes = 0;  // of the whole graph
  std::vector<int32_t> owned, halo;  // global ids
  struct Peer {
    int rank = 0;
    std::vector<int32_t> send_rows;          // owned local rows that `rank` holds as halo, in its order
    int64_t recv_offset = 0, recv_count = 0;  // halo rows [num_own + recv_offset, + recv_count) come from `rank`
  };
  std::vector<Peer> peers;  // increasing rank; only ranks with something to send or receive
  int64_t num_own() const { return static_cast<int64_t>(owned.size()); }
  int64_t num_halo() const { return static_cast<int64_t>(halo.size()); }
  int64_t num_send_rows() const;  // Σ peers' send_rows
};

// The layout of `rank` for destination-major graph g (edges s → d, row d) cut by part[node] in
// [0, num_parts): the halo holds every source of an owned row that another rank owns.
LocalLayout make_layout(const Csr& g, std::span<const int32_t> part, int rank, int num_parts);

// What a localised Csr carries: the layout, the communicator, and the graph cut into its inner
// part (sources owned: [num_dst, num_own]) and outer part (sources in the halo: [num_dst,
// num_halo]), so gspmm multiplies the inner part while the halo rows are in flight.
struct HaloLink {
  std::shared_ptr<const LocalLayout> layout;
  Comm* comm = nullptr;
  Csr inner, outer;
  // Optional, for dropout masks equal to one process's: each edge's position in the whole graph
  // built the same way (global_edge_positions) and each source's global id (owned, then halo).
  std::vector<int64_t> edge_ids, source_ids;
};

// The owned rows of g (a global graph on the same nodes as the layout's), sources renumbered
// locally (num_src = num_own + num_halo), rows sorted, weights kept; no link. Throws if an owned
// row has a source outside the layout (g has edges the layout's graph lacked).
Csr extract_rows(const Csr& g, const LocalLayout& layout);
// A rank's graph in local numbering ([num_own, num_own + num_halo], rows sorted) with its
// HaloLink attached (the inner / outer cut computed here).
Csr link_halo(Csr local, std::shared_ptr<const LocalLayout> layout, Comm* comm);
// link_halo(extract_rows(g, layout), layout, comm).
Csr localise(const Csr& g, std::shared_ptr<const LocalLayout> layout, Comm* comm);
// Each edge's position in the whole graph that one process would build the same way: rows in
// global id order, sources in global id order within a row (Csr::from_edges), so edge p of
// local row i sits at Σ_{v < owned[i]} len(v) + (its source's rank among the row's global ids).
// Collective: one allreduce of the whole graph's row lengths (8 bytes per node).
std::vector<int64_t> global_edge_positions(const Csr& linked);

// A per-node column over a linked graph's sources: the owned values [num_own] followed by the
// halo's, fetched from their owners (one exchange; every rank must call it).
std::vector<double> with_halo(const Csr& linked, const std::vector<double>& own);

// One exchange over a link; every rank of the communicator must make the same calls in the
// same order (messages are matched by order, tag 11 forward and 12 reverse).
template <class T>
class HaloExchange {
 public:
  explicit HaloExchange(const HaloLink& link) : link_(link) {}
  HaloExchange(const HaloExchange&) = delete;
  HaloExchange& operator=(const HaloExchange&) = delete;
  ~HaloExchange();  // waits for anything still in flight
  // Forward: posts the receives of the halo rows into halo_out [num_halo, cols] and sends the
  // rows of own [num_own, cols] the peers need. halo_out is complete after wait().
  void start_forward(const T* own, int64_t cols, T* halo_out);
  // Reverse: sends halo gradient rows [num_halo, cols] to their owners and posts the receives
  // of the gradients of this rank's rows; wait_add() adds them into own_grad [num_own, cols],
  // peer by peer in rank order (a fixed summation order).
  void start_reverse(const T* halo_grad, int64_t cols);
  void wait();
  void wait_add(T* own_grad);

 private:
  const HaloLink& link_;
  int64_t cols_ = 0;
  std::vector<T> send_, recv_;
  std::vector<MPI_Request> requests_;
};

}  // namespace locus::dist
