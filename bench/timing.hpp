// Timing and memory helpers shared by the benchmark programs in bench/: wall and CPU seconds,
// medians of repeated measurements, and the process's peak resident set size.
#pragma once
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace locus::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The upper median (v[n/2] after sorting); v non-empty.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// User + system CPU seconds of the process so far (all threads).
inline double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

// Peak RSS; ru_maxrss is in KiB on Linux.
inline double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}
inline double peak_rss_gib() { return peak_rss_mib() / 1024.0; }

}  // namespace locus::bench
