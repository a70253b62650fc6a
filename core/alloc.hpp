// Allocator settings for training loops. Every epoch frees and reallocates the same tape
// buffers; glibc's defaults hand large blocks back to the kernel (munmap, heap trimming), so
// each epoch page-faults them in again. configure_allocator() keeps freed memory for reuse.
#pragma once

namespace locus {

// Call once at program start (the `locus` program does). Safe to call more than once.
void configure_allocator();

}  // namespace locus
