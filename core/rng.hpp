// Seeded random numbers. Sequential draws (initialisation, sampling) come from splitmix64;
// bulk draws (dropout masks) are counter-based — value i depends only on (key, i) — so a
// parallel loop produces the same numbers for every thread count.
#pragma once
#include <cstdint>

namespace locus {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}

  uint64_t next_u64() { return splitmix64(state_++); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0 (multiply-shift; bias below 2^-32 for n < 2^32).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next_u64()) * n) >> 64);
  }
  // A key for one counter-based batch; see uniform_at.
  uint64_t next_key() { return next_u64(); }

  // The i-th uniform float in [0, 1) of the batch identified by key.
  static float uniform_at(uint64_t key, uint64_t i) {
    return static_cast<float>(splitmix64(key ^ (i * 0xD1B54A32D192ED03ull)) >> 40) * 0x1.0p-24f;
  }

  uint64_t state() const { return state_; }
  void set_state(uint64_t s) { state_ = s; }

 private:
  uint64_t state_;
};

}  // namespace locus
