// Locus's binary files (training checkpoints, partition parts): "MAGIC" (8 bytes) | u32 version |
// u64 payload bytes | payload | u64 FNV-1a of the payload, numbers in the machine's byte order
// (a file is read on the machine type that wrote it), written atomically. BinaryWriter and
// BinaryReader build and parse the payload; a short or damaged file is an InputError.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace locus {

// How one kind of file names itself in errors: "not a Locus <what>", "<what> is truncated or
// corrupt", each with its fix.
struct BinaryFormat {
  char magic[8];
  uint32_t version;
  std::string what;         // e.g. "checkpoint"
  std::string foreign_fix;  // the file is another program's
  std::string version_fix;  // written by another version of Locus
  std::string corrupt_fix;  // truncated or damaged
};

class BinaryWriter {
 public:
  template <class T>
  void pod(T x) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&x), sizeof x);
  }
  void str(const std::string& s) {
    pod<uint64_t>(s.size());
    out_ += s;
  }
  template <class T>
  void vec(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    pod<uint64_t>(v.size());
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class BinaryReader {
 public:
  BinaryReader(const std::string& path, const BinaryFormat& format, const char* data, size_t size)
      : path_(path), format_(&format), p_(data), end_(data + size) {}
  template <class T>
  T pod() {
    T x;
    need(sizeof x);
    std::memcpy(&x, p_, sizeof x);
    p_ += sizeof x;
    return x;
  }
  std::string str();
  template <class T>
  std::vector<T> vec() {
    const uint64_t n = pod<uint64_t>();
    if (n > static_cast<uint64_t>(end_ - p_) / sizeof(T)) corrupt();
    std::vector<T> v(n);
    if (n > 0) std::memcpy(v.data(), p_, n * sizeof(T));  // an empty vector's data() may be null
    p_ += n * sizeof(T);
    return v;
  }
  // A count read from the file that cannot exceed the bytes left (guards allocations).
  uint64_t count() {
    const uint64_t n = pod<uint64_t>();
    if (n > static_cast<uint64_t>(end_ - p_)) corrupt();
    return n;
  }
  bool at_end() const { return p_ == end_; }
  [[noreturn]] void corrupt() const;

 private:
  void need(uint64_t n) const {
    if (n > static_cast<uint64_t>(end_ - p_)) corrupt();
  }
  std::string path_;
  const BinaryFormat* format_;
  const char* p_;
  const char* end_;
};

// Wraps `payload` as the format says and writes it atomically to `path`.
void write_binary_file(const std::string& path, const BinaryFormat& format, const std::string& payload);
// Reads `path`, checks magic, version, size and checksum, and returns the payload.
std::string read_binary_file(const std::string& path, const BinaryFormat& format);

}  // namespace locus
