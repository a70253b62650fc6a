// The doctest main shared by every test executable. The allocator is set up as in the `locus`
// program (core/alloc.hpp), so training tests run at the program's speed: with glibc's defaults
// every epoch maps and faults its large tape buffers in again.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "core/alloc.hpp"

int main(int argc, char** argv) {
  locus::configure_allocator();
  doctest::Context context(argc, argv);
  return context.run();
}
