// MPI for partitioned training (OpenMPI): the world communicator, started on first use, and the
// reductions the trainer needs. Parameter gradients are summed either with MPI_Allreduce (fast;
// the summation order is MPI's) or, in deterministic mode, gathered and added in rank order on
// every rank, so a rerun with the same rank count is bit-identical.
#pragma once
#include <mpi.h>

#include <cstdint>
#include <vector>

namespace locus::dist {

class Comm {
 public:
  // MPI_COMM_WORLD; initialises MPI (MPI_THREAD_FUNNELED: only the main thread calls MPI) on the
  // first call. A program run without mpirun gets a world of one rank and never starts MPI.
  static Comm& world();
  // MPI_Finalize when world() was used; call once at the end of main.
  static void finalize();
  static bool initialised();

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Ranks of this communicator on this machine (for the default OpenMP thread count).
  int local_size() const { return local_size_; }
  MPI_Comm handle() const { return comm_; }

  // data[i] ← Σ_ranks data[i] on every rank. deterministic: allgather, then add in rank order.
  void sum(float* data, int64_t n, bool deterministic);
  void sum(double* data, int64_t n, bool deterministic);
  // Exact sums of counters and small totals (rank order, so identical on every rank).
  int64_t sum(int64_t v);
  void sum(int64_t* data, int64_t n);  // elementwise, exact
  double sum(double v);
  double max(double v);
  void barrier();

  // Traffic and waiting since the trainer last reset them: bytes this rank sent (halo rows,
  // gradients; a ring allreduce's share for MPI_Allreduce) and milliseconds spent blocked in
  // halo waits and gradient reductions (the part of an epoch that is not computation).
  int64_t bytes_sent = 0;
  double wait_ms = 0;

 private:
  Comm();
  template <class T>
  void sum_impl(T* data, int64_t n, bool deterministic);
  MPI_Comm comm_ = MPI_COMM_WORLD;
  int rank_ = 0, size_ = 1, local_size_ = 1;
  std::vector<char> scratch_;
};

// MPI datatype of a C++ scalar.
template <class T>
MPI_Datatype mpi_type();

}  // namespace locus::dist
