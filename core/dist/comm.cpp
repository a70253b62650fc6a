#include "core/dist/comm.hpp"

#include <chrono>
#include <cstdlib>
#include <string>

#include "core/error.hpp"

namespace locus::dist {

template <>
MPI_Datatype mpi_type<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}
template <>
MPI_Datatype mpi_type<int64_t>() {
  return MPI_INT64_T;
}

namespace {
bool g_started = false;

void mpi_check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    throw std::runtime_error(std::string("MPI: ") + what + " failed: " + std::string(msg, static_cast<size_t>(len)));
  }
}
}  // namespace

Comm::Comm() {
  // Not started by mpirun (no launcher variables): a world of one rank, and MPI stays off — no
  // start-up cost, nothing for LeakSanitizer to report from OpenMPI's own allocations.
  const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_SIZE");
  if (!launched) {
    comm_ = MPI_COMM_NULL;
    return;
  }
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    int provided = 0;
    mpi_check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    g_started = true;
  }
  // Errors come back as return codes (mpi_check turns them into exceptions naming the call).
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  MPI_Comm node;
  mpi_check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
}

Comm& Comm::world() {
  static Comm c;
  return c;
}

bool Comm::initialised() { return g_started; }

void Comm::finalize() {
  int done = 0;
  MPI_Finalized(&done);
  if (g_started && !done) MPI_Finalize();
}

template <class T>
void Comm::sum_impl(T* data, int64_t n, bool deterministic) {
  if (size_ == 1 || n == 0) return;
  check(n <= INT32_MAX, "Comm::sum: more than 2^31 values");
  const int count = static_cast<int>(n);
  const auto t0 = std::chrono::steady_clock::now();
  struct Timer {
    double& ms;
    std::chrono::steady_clock::time_point t0;
    ~Timer() { ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(); }
  } timer{wait_ms, t0};
  if (!deterministic) {
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, data, count, mpi_type<T>(), MPI_SUM, comm_), "MPI_Allreduce");
    bytes_sent += 2 * n * static_cast<int64_t>(sizeof(T)) * (size_ - 1) / size_;  // a ring allreduce's share
    return;
  }
  // Every rank receives every rank's vector and adds them in rank order: the same float
  // operations in the same order on every rank and every rerun.
  scratch_.resize(static_cast<size_t>(n) * sizeof(T) * static_cast<size_t>(size_));
  T* all = reinterpret_cast<T*>(scratch_.data());
  mpi_check(MPI_Allgather(data, count, mpi_type<T>(), all, count, mpi_type<T>(), comm_), "MPI_Allgather");
  bytes_sent += n * static_cast<int64_t>(sizeof(T)) * (size_ - 1);
  for (int64_t i = 0; i < n; ++i) data[i] = all[i];
  for (int r = 1; r < size_; ++r) {
    const T* part = all + static_cast<int64_t>(r) * n;
    for (int64_t i = 0; i < n; ++i) data[i] += part[i];
  }
}

void Comm::sum(float* data, int64_t n, bool deterministic) { sum_impl(data, n, deterministic); }
void Comm::sum(double* data, int64_t n, bool deterministic) { sum_impl(data, n, deterministic); }

int64_t Comm::sum(int64_t v) {
  int64_t out = v;
  if (size_ > 1) mpi_check(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_SUM, comm_), "MPI_Allreduce");
  return out;
}

void Comm::sum(int64_t* data, int64_t n) {
  if (size_ == 1 || n == 0) return;
  check(n <= INT32_MAX, "Comm::sum: more than 2^31 values");
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_INT64_T, MPI_SUM, comm_), "MPI_Allreduce");
}

double Comm::sum(double v) {
  double out = v;
  sum_impl(&out, 1, true);
  return out;
}

double Comm::max(double v) {
  double out = v;
  if (size_ > 1) mpi_check(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  return out;
}

void Comm::barrier() {
  if (size_ > 1) mpi_check(MPI_Barrier(comm_), "MPI_Barrier");
}

}  // namespace locus::dist
