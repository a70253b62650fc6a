// A self-deleting temporary folder for tests, with helpers to write plain and gzip files.
#pragma once
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace locus::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    dir_ = std::filesystem::temp_directory_path() /
           ("locus-test-" + std::to_string(::getpid()) + "-" + std::to_string(stamp) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string dir() const { return dir_.string(); }
  const std::filesystem::path& root() const { return dir_; }

  // Writes bytes exactly as given (no newline translation).
  std::string write(const std::string& name, const std::string& content) const {
    std::filesystem::create_directories((dir_ / name).parent_path());
    std::ofstream out(path(name), std::ios::binary);
    out << content;
    return path(name);
  }

  std::string write_gz(const std::string& name, const std::string& content) const {
    gzFile f = gzopen(path(name).c_str(), "wb");
    if (!f) throw std::runtime_error("gzopen failed for " + path(name));
    gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
    gzclose(f);
    return path(name);
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace locus::testing
