// Line-by-line reading of the plain-text dataset files (optionally gzip-compressed).
// Skips comment and blank lines, strips a UTF-8 BOM and CR line endings, splits fields on the
// configured delimiter, and parses numbers with std::from_chars. Errors name file:line.
// Caps (InputError when exceeded, naming the file, the limit and the fix): a line may hold at
// most 16 MiB, and a gzip file may decompress to at most 16 GiB.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace locus {

enum class Delimiter { Whitespace, Tab, Comma };

// Longest line: a dense row of a million features (~9 MB) still fits, yet one line can never
// take more than ~32 MiB of buffer (or ~128 MiB of field views, one per 2 bytes).
inline constexpr size_t kMaxLineBytes = size_t{16} << 20;
// Decompressed size of one .gz file: 80x a 10M-edge list (~200 MB) and beyond any dataset Locus
// holds in memory; a decompression bomb stops here with a clear error instead of running on.
inline constexpr uint64_t kMaxGzipBytes = uint64_t{16} << 30;

struct TextFormat {
  Delimiter delimiter = Delimiter::Whitespace;
  std::string comment = "#";  // a line whose first non-blank text starts with this is skipped; "" = none
  size_t max_line_bytes = kMaxLineBytes;   // lowered only by tests
  uint64_t max_gzip_bytes = kMaxGzipBytes;
};

const char* delimiter_name(Delimiter d);

// Splits one line into fields. Whitespace: runs of spaces/tabs. Tab/comma: exactly one separator
// between fields, spaces around each field trimmed (so names may contain inner spaces).
void split_fields(std::string_view line, Delimiter d, std::vector<std::string_view>& out);

// Whole-token parsers: nullopt unless the entire token is a number of that type.
std::optional<int64_t> parse_int(std::string_view token);
std::optional<double> parse_double(std::string_view token);  // accepts nan/inf (callers reject them)

// Reads a plain or .gz file (detected from the content, so a .gz suffix is not needed).
// A truncated or corrupt gzip stream is an InputError, never a silent early end.
class LineReader {
 public:
  LineReader(const std::string& path, TextFormat fmt);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Advances to the next data line; false at the end of the file.
  bool next();
  // Fields of the current line; views stay valid until the next call to next().
  const std::vector<std::string_view>& fields() const { return fields_; }
  std::string_view line() const { return line_; }
  long line_number() const { return line_no_; }
  long data_lines() const { return data_lines_; }
  const std::string& path() const { return path_; }

  // Throws InputError naming this file and the current line (a token over 200 bytes is cut).
  [[noreturn]] void fail(const std::string& problem, std::string_view token,
                         const std::string& fix) const;
  // Throws unless the current line has exactly `n` fields; `what` describes the expected layout.
  void expect_fields(size_t n, const std::string& what) const;

 private:
  bool next_raw_line();
  void refill();
  void check_text(const char* data, size_t n) const;  // throws on binary (non-text) content
  [[noreturn]] void line_too_long(const char* s, size_t len) const;

  std::string path_;
  TextFormat fmt_;
  void* gz_ = nullptr;  // gzFile, kept opaque so zlib.h stays out of this header
  std::string buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  std::string_view line_;
  std::vector<std::string_view> fields_;
  long line_no_ = 0;
  long data_lines_ = 0;
  uint64_t gz_out_ = 0;  // bytes read (decompressed) so far, for the gzip cap
};

}  // namespace locus
