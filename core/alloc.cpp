#include "core/alloc.hpp"

#include <malloc.h>

namespace locus {

void configure_allocator() {
  // Blocks up to 1 GiB come from the heap (reused across epochs) instead of fresh mmaps, and
  // free memory at the top of the heap is kept instead of trimmed. Peak RSS is unchanged: it
  // is what one epoch needs.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace locus
