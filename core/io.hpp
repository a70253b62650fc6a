// Output files that are never half-written: content goes to a temporary file beside the
// target, which is then renamed over it (atomic on POSIX file systems).
#pragma once
#include <string>

namespace locus {

// Writes `content` to `path` atomically; creates missing parent folders. Throws InputError
// naming the path and the system's reason when it cannot.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace locus
