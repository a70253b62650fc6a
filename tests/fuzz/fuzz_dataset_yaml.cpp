// libFuzzer target: the input is a dataset YAML, loaded with load_dataset_yaml. Next to it lie
// small valid data files it may name (edges.txt, labels.txt, features.txt, ...; listed below),
// so the fuzzer reaches the readers, the node-set logic and the splits, not only the YAML checks.
#include <zlib.h>

#include "core/error.hpp"
#include "datasets/loader.hpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace {

// 6 nodes, two classes; index ids unless the name says otherwise.
void write_data_files(const locus::fuzz::Scratch& s) {
  s.write("edges.txt", "# src dst\n0 1\n1 2\n2 0\n3 4\n4 5\n5 3\n2 3\n");
  s.write("wedges.txt", "0 1 0.5\n1 2 2\n2 3 1e-3\n3 4 1\n4 5 -1\n");
  s.write("cedges.csv", "0,1\n1,2\n2,3\n3,4\n4,5\n");
  s.write("labels.txt", "0 0\n1 0\n2 0\n3 1\n4 1\n5 1\n");
  s.write("nlabels.txt", "0 red\n1 red\n2 red\n3 blue\n4 blue\n5 blue\n");
  s.write("features.txt", "0 0 1\n1 1 1\n2 2 0.5\n3 0 1\n4 1 1\n5 2 1\n");
  s.write("dense.txt", "0 1 0 0\n1 0 1 0\n2 0 0 1\n3 1 1 0\n4 0 1 1\n5 1 0 1\n");
  s.write("nodes.txt", "a 1 0 x\nb 0 1 x\nc 1 1 y\nd 0 0 y\n");
  s.write("names.txt", "a b\nb c\nc d\nd a\n");
  s.write("train.txt", "0\n3\n");
  s.write("val.txt", "1\n4\n");
  s.write("test.txt", "2\n5\n");
  gzFile gz = gzopen(s.path("edges.txt.gz").c_str(), "wb");
  const char edges[] = "0 1\n1 2\n2 3\n3 4\n4 5\n";
  gzwrite(gz, edges, sizeof edges - 1);
  gzclose(gz);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool ready = (write_data_files(locus::fuzz::scratch()), true);
  (void)ready;
  const std::string yaml = locus::fuzz::scratch().write("dataset.yaml", locus::fuzz::as_text(data, size));
  try {
    locus::load_dataset_yaml(yaml);
  } catch (const locus::InputError&) {
    // The expected outcome for bad input; anything else escapes and libFuzzer reports it.
  }
  return 0;
}
