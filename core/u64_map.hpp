// An open-addressing hash map from 64-bit keys to small values, for the readers' duplicate checks
// (an edge or a (node, feature) pair packed into one key → the line it first appeared on).
// std::unordered_map allocates a node per key, which made it most of the time of loading a large
// edge list; here keys and values sit in one flat array probed linearly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace locus {

template <class V>
class U64Map {
 public:
  explicit U64Map(size_t expected = 0) { rehash(capacity_for(expected)); }

  // Inserts (key, value) unless key is present. Returns the stored value and whether it was new.
  std::pair<const V*, bool> emplace(uint64_t key, V value) {
    if (key == kEmpty) {  // the one key the table cannot hold in a slot
      if (has_empty_key_) return {&empty_key_value_, false};
      has_empty_key_ = true;
      empty_key_value_ = value;
      ++size_;
      return {&empty_key_value_, true};
    }
    if (2 * (used_ + 1) > slots_.size()) rehash(2 * slots_.size());
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == key) return {&s.value, false};
      if (s.key == kEmpty) {
        s = Slot{key, value};
        ++used_;
        ++size_;
        return {&s.value, true};
      }
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    V value{};
  };
  static size_t capacity_for(size_t n) {  // a power of two, at most half full
    size_t c = 16;
    while (c < 2 * n) c *= 2;
    return c;
  }
  size_t slot_of(uint64_t k) const {  // splitmix64's finaliser: packed pairs differ in few bits
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebull;
    k ^= k >> 31;
    return static_cast<size_t>(k) & mask_;
  }
  void rehash(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    used_ = 0;
    for (const Slot& s : old)
      if (s.key != kEmpty) {
        size_t i = slot_of(s.key);
        while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
        slots_[i] = s;
        ++used_;
      }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0, used_ = 0, size_ = 0;
  bool has_empty_key_ = false;
  V empty_key_value_{};
};

}  // namespace locus
