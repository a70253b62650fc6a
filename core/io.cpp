#include "core/io.hpp"

#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"

namespace locus {

void write_file_atomic(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  if (ec) throw_input_error(path, 0, "cannot create the folder", target.parent_path().string(),
                            "Check the path and its permissions (" + ec.message() + ")");
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw_input_error(path, 0, "cannot write", tmp, std::string("Check the path (") + std::strerror(errno) + ")");
  const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size() && std::fflush(f) == 0;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    throw_input_error(path, 0, "write failed for", tmp, "Check free disk space");
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw_input_error(path, 0, "cannot replace", path, "Check permissions (" + ec.message() + ")");
  }
}

void check_creatable(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(path), ec).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  for (fs::path a = p.parent_path(); !a.empty(); a = a.parent_path()) {
    const auto st = fs::status(a, ec);
    if (st.type() == fs::file_type::not_found) {
      if (a == a.parent_path()) break;
      continue;
    }
    if (st.type() != fs::file_type::directory)
      throw_input_error(path, 0, what + " cannot be created: a file stands where a folder should be:", a.string(),
                        "choose another " + what);
    break;
  }
}

std::string npy_float32(const float* data, int64_t rows, int64_t cols) {
  static_assert(std::endian::native == std::endian::little, "npy_float32 writes the machine's bytes as '<f4'");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  const size_t preamble = 10;  // magic (6) + version (2) + header length (2)
  header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<uint16_t>(header.size());
  out += static_cast<char>(len & 0xFF);
  out += static_cast<char>(len >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(rows * cols) * sizeof(float));
  return out;
}

uint64_t fnv1a64(const void* data, size_t bytes, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

}  // namespace locus
