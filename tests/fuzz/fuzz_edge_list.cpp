// libFuzzer target: the input is an edge-list file (plain, or gzip when it starts with the gzip
// magic: LineReader detects it), read with read_edges. Byte 0 picks the options when the input
// starts with '!' ("!" + options byte + file), else the defaults are used, so plain seed files
// work as they are:
//   bits 0-1 delimiter (whitespace, tab, comma, whitespace)   bit 2 directed   bit 3 weighted
//   bit 4 duplicates: error   bits 5-6 self loops (keep, drop, error, keep)   bit 7 ids: name
// Also the comment marker: '#' normally, '%' when directed and weighted (both bits 2 and 3).
#include "core/error.hpp"
#include "datasets/readers.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace locus;
  uint8_t o = 0;
  if (size >= 2 && data[0] == '!') {
    o = data[1];
    data += 2;
    size -= 2;
  }
  EdgeOptions opt;
  const Delimiter delims[4] = {Delimiter::Whitespace, Delimiter::Tab, Delimiter::Comma, Delimiter::Whitespace};
  opt.format.delimiter = delims[o & 3];
  opt.directed = o & 4;
  opt.weighted = o & 8;
  if ((o & 12) == 12) opt.format.comment = "%";
  opt.duplicates = (o & 16) ? DuplicatePolicy::Error : DuplicatePolicy::Merge;
  const SelfLoopPolicy loops[4] = {SelfLoopPolicy::Keep, SelfLoopPolicy::Drop, SelfLoopPolicy::Error,
                                   SelfLoopPolicy::Keep};
  opt.self_loops = loops[(o >> 5) & 3];
  const IdMode mode = (o & 128) ? IdMode::Name : IdMode::Index;
  const std::string path = fuzz::scratch().write("edges", fuzz::as_text(data, size));
  try {
    NodeIdMap ids(mode, -1, "dataset.yaml", 0);
    EdgeList el = read_edges(path, opt, ids, true);
    // Invariants of a successful read.
    if (el.src.size() != el.dst.size() || (opt.weighted && el.weight.size() != el.src.size())) __builtin_trap();
    for (size_t i = 0; i < el.src.size(); ++i)
      if (el.src[i] < 0 || el.src[i] >= ids.num_nodes() || el.dst[i] < 0 || el.dst[i] >= ids.num_nodes())
        __builtin_trap();
  } catch (const InputError&) {
  }
  return 0;
}
