// libFuzzer target: the model-file reader (Model::load). An input that starts with the format's
// magic ("LOCUSMDL") is written as the whole file, so the container checks (version, size,
// checksum) are fuzzed; any other input is taken as the payload and wrapped in a valid container
// first, so mutations reach the field parser and the config it carries, not just the checksum.
// A file that loads must describe a model predict can run: a task, a feature width, parameters,
// classes for node classification, and a config this version accepts.
#include <cstring>

#include "core/binary_file.hpp"
#include "core/error.hpp"
#include "tests/fuzz/fuzz_common.hpp"
#include "train/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace locus;
  const BinaryFormat& format = Model::file_format();
  const std::string_view in = fuzz::as_text(data, size);
  std::string path;
  if (in.size() >= sizeof format.magic && std::memcmp(in.data(), format.magic, sizeof format.magic) == 0)
    path = fuzz::scratch().write("model.locus", in);
  else {
    path = fuzz::scratch().path("model.locus");
    write_binary_file(path, format, std::string(in));
  }
  try {
    const Model m = Model::load(path);
    if (m.in_dim() < 1 || m.parameters().empty()) __builtin_trap();
    if (m.task() == Task::NodeClassification && m.classes().empty()) __builtin_trap();
    (void)m.config();  // accepted at load, so it must rebuild
  } catch (const InputError&) {
  }
  return 0;
}
