// U64Map: first insert wins, repeats report the stored value, growth keeps every key, and the
// all-ones key (the empty-slot marker) is a key like any other.
#include <doctest/doctest.h>

#include <map>

#include "core/rng.hpp"
#include "core/u64_map.hpp"

using namespace locus;

TEST_CASE("U64Map keeps the first value per key across growth, against std::map") {
  U64Map<long> m;  // no size hint: grows from 16 slots
  std::map<uint64_t, long> ref;
  uint64_t x = 12345;
  long mismatches = 0;
  for (long i = 1; i <= 200000; ++i) {
    // Keys from a small range (many repeats) and packed pairs that differ in high bits only.
    x = splitmix64(x);
    const uint64_t key = (i % 3 == 0) ? (x % 50000) : ((x % 1000) << 32) | (x >> 60);
    const auto [stored, fresh] = m.emplace(key, i);
    const auto [it, ref_fresh] = ref.emplace(key, i);
    mismatches += fresh != ref_fresh || *stored != it->second;
  }
  CHECK(mismatches == 0);
  CHECK(m.size() == ref.size());
  CHECK(ref.size() > 50000);  // the table grew from 16 slots to 2^17
  for (const auto& [key, first] : ref) mismatches += *m.emplace(key, -1).first != first;  // still all there
  CHECK(mismatches == 0);
  CHECK(m.size() == ref.size());
}

TEST_CASE("U64Map holds the all-ones key and zero") {
  U64Map<int> m(4);
  const uint64_t ones = ~uint64_t{0};
  CHECK(m.emplace(ones, 7).second);
  CHECK(m.emplace(0, 8).second);
  CHECK_FALSE(m.emplace(ones, 9).second);
  CHECK(*m.emplace(ones, 9).first == 7);
  CHECK(*m.emplace(0, 1).first == 8);
  CHECK(m.size() == 2);
}
