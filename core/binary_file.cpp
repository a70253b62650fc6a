#include "core/binary_file.hpp"

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/io.hpp"

namespace locus {

std::string BinaryReader::str() {
  const uint64_t n = pod<uint64_t>();
  need(n);
  std::string s(p_, n);
  p_ += n;
  return s;
}

void BinaryReader::corrupt() const {
  throw_input_error(path_, 0, format_->what + " is truncated or corrupt:", path_, format_->corrupt_fix);
}

void write_binary_file(const std::string& path, const BinaryFormat& format, const std::string& payload) {
  std::string file(format.magic, sizeof format.magic);
  BinaryWriter head;
  head.pod(format.version);
  head.pod<uint64_t>(payload.size());
  file += head.bytes();
  file += payload;
  BinaryWriter tail;
  tail.pod(fnv1a64(payload.data(), payload.size()));
  file += tail.bytes();
  write_file_atomic(path, file);
}

std::string read_binary_file(const std::string& path, const BinaryFormat& format) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_input_error(path, 0, "cannot read the " + format.what, path, "check that it exists and its permissions");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string bytes = buf.str();
  BinaryReader head(path, format, bytes.data(), bytes.size());
  if (bytes.size() < sizeof format.magic || std::memcmp(bytes.data(), format.magic, sizeof format.magic) != 0)
    throw_input_error(path, 0, "not a Locus " + format.what + ":", path, format.foreign_fix);
  for (size_t i = 0; i < sizeof format.magic; ++i) head.pod<char>();
  const auto version = head.pod<uint32_t>();
  if (version != format.version)
    throw_input_error(path, 0, format.what + " format version " + std::to_string(version) + " (this Locus reads " +
                                   std::to_string(format.version) + "):",
                      path, format.version_fix);
  const auto size = head.pod<uint64_t>();
  const size_t start = sizeof format.magic + sizeof(uint32_t) + sizeof(uint64_t);
  if (bytes.size() < start + sizeof(uint64_t) || size != bytes.size() - start - sizeof(uint64_t)) head.corrupt();
  uint64_t sum;
  std::memcpy(&sum, bytes.data() + start + size, sizeof sum);
  if (sum != fnv1a64(bytes.data() + start, size)) head.corrupt();
  return bytes.substr(start, size);
}

}  // namespace locus
