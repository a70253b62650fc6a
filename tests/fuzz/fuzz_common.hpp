// Shared by the libFuzzer targets of tests/fuzz/: a per-process scratch folder where each input
// is written as a file, since every Locus reader takes a path. It lies under $LOCUS_FUZZ_SCRATCH
// (scripts/fuzz.sh: the build tree), else /dev/shm when writable, else $TMPDIR. Removed at a normal
// exit; a crash leaves it behind (fuzz.sh clears its own before each run).
// Only locus::InputError is an expected outcome.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace locus::fuzz {

class Scratch {
 public:
  Scratch() {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path base = "/dev/shm";
    if (const char* env = std::getenv("LOCUS_FUZZ_SCRATCH"); env && *env)
      base = env;
    else if (access(base.c_str(), W_OK) != 0)
      base = fs::temp_directory_path(ec);
    dir_ = base / ("locus-fuzz-" + std::to_string(getpid()));
    fs::remove_all(dir_, ec);
    fs::create_directories(dir_);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Writes (or rewrites) `name` with exactly these bytes; returns its path.
  std::string write(const std::string& name, std::string_view bytes) const {
    std::ofstream out(path(name), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path(name);
  }

 private:
  std::filesystem::path dir_;
};

// One scratch folder per process (libFuzzer's -jobs/-workers run separate processes).
inline Scratch& scratch() {
  static Scratch s;
  return s;
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace locus::fuzz
