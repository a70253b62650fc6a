// Output files that are never half-written: content goes to a temporary file beside the
// target, which is then renamed over it (atomic on POSIX file systems).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace locus {

// Writes `content` to `path` atomically; creates missing parent folders. Throws InputError
// naming the path and the system's reason when it cannot.
void write_file_atomic(const std::string& path, const std::string& content);

// Checks, before any work, that `path` could be created: its nearest existing ancestor must be a
// folder. Throws InputError naming `what` (e.g. "out_dir"), the path and the ancestor otherwise.
void check_creatable(const std::string& path, const std::string& what);

// A float32 matrix [rows, cols] (row-major `data`) as the bytes of a NumPy .npy file (format 1.0:
// magic, version, a little-endian u16 header length, the header dict padded with spaces to a
// multiple of 64 bytes and ending in '\n', then the values little-endian).
std::string npy_float32(const float* data, int64_t rows, int64_t cols);

// 64-bit FNV-1a over bytes: checksums of checkpoints, parameter fingerprints, graph identity.
uint64_t fnv1a64(const void* data, size_t bytes, uint64_t h = 0xcbf29ce484222325ull);

}  // namespace locus
