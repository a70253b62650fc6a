// Test helpers for the dataset suites: a self-deleting temporary folder to write small datasets
// into (plain or gzip), and a way to capture a loader's InputError message.
#pragma once
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "datasets/loader.hpp"

namespace locus::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    dir_ = std::filesystem::temp_directory_path() /
           ("locus-datasets-" + std::to_string(stamp) + "-" + std::to_string(counter++));
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

// The InputError message of loading `yaml_path`, or "" when it loads.
inline std::string load_error(const std::string& yaml_path) {
  try {
    load_dataset_yaml(yaml_path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace locus::testing
