// core/text: joining lists for messages and trimming tokens.
#include <doctest/doctest.h>

#include "core/text.hpp"

using locus::join;
using locus::trim;

TEST_CASE("join: separators, the last pair's word, empty and single lists") {
  CHECK(join({}) == "");
  CHECK(join({"a"}) == "a");
  CHECK(join({"a", "b", "c"}) == "a, b, c");
  CHECK(join({"a", "b", "c"}, ", ", " and ") == "a, b and c");
  CHECK(join({"a", "b"}, ", ", " or ") == "a or b");
  CHECK(join({"a", "b"}, ",") == "a,b");
}

TEST_CASE("trim: spaces, tabs and line ends on both sides only") {
  CHECK(trim("  gcn \t\r\n") == "gcn");
  CHECK(trim("a b") == "a b");
  CHECK(trim(" \t ") == "");
  CHECK(trim("") == "");
}
