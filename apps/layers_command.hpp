// `locus layers`: the registered layer types (layers/registry.hpp), one row each: name,
// topologies, whether partitioned training supports it, and its formula; `--verbose` adds each
// type's summary and the config keys it reads; `--format markdown` prints the docs table.
#pragma once
#include <iosfwd>

namespace locus {

void print_layers(std::ostream& out, bool verbose);
// | type | topologies | distributed | formula | what it is | config keys it reads |
void print_layers_markdown(std::ostream& out);

}  // namespace locus
