// Line-by-line reading of the plain-text dataset files (optionally gzip-compressed).
// Skips comment and blank lines, strips a UTF-8 BOM and CR line endings, splits fields on the
// configured delimiter, and parses numbers with std::from_chars. Errors name file:line.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace locus {

enum class Delimiter { Whitespace, Tab, Comma };

struct TextFormat {
  Delimiter delimiter = Delimiter::Whitespace;
  std::string comment = "#";  // a line whose first non-blank text starts with this is skipped; "" = none
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

  // Throws InputError naming this file and the current line.
  [[noreturn]] void fail(const std::string& problem, std::string_view token,
                         const std::string& fix) const;
  // Throws unless the current line has exactly `n` fields; `what` describes the expected layout.
  void expect_fields(size_t n, const std::string& what) const;

 private:
  bool next_raw_line();
  void refill();

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
};

}  // namespace locus
