#include "datasets/text_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"

namespace locus {

const char* delimiter_name(Delimiter d) {
  switch (d) {
    case Delimiter::Whitespace: return "whitespace";
    case Delimiter::Tab: return "tab";
    case Delimiter::Comma: return "comma";
  }
  return "?";
}

// "16 MiB", "16 GiB" or "N bytes".
static std::string byte_size(uint64_t b) {
  if (b >= (uint64_t{1} << 30) && b % (uint64_t{1} << 30) == 0) return std::to_string(b >> 30) + " GiB";
  if (b >= (uint64_t{1} << 20) && b % (uint64_t{1} << 20) == 0) return std::to_string(b >> 20) + " MiB";
  return std::to_string(b) + " bytes";
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

void split_fields(std::string_view line, Delimiter d, std::vector<std::string_view>& out) {
  out.clear();
  if (d == Delimiter::Whitespace) {
    size_t i = 0, n = line.size();
    while (i < n) {
      while (i < n && is_blank(line[i])) ++i;
      if (i == n) break;
      size_t j = i;
      while (j < n && !is_blank(line[j])) ++j;
      out.push_back(line.substr(i, j - i));
      i = j;
    }
    return;
  }
  const char sep = d == Delimiter::Tab ? '\t' : ',';
  size_t i = 0;
  for (;;) {
    size_t j = line.find(sep, i);
    out.push_back(trim_spaces(line.substr(i, j == std::string_view::npos ? line.size() - i : j - i)));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
}

std::optional<int64_t> parse_int(std::string_view t) {
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size() || t.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view t) {
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  // Out-of-range values (1e999) come back as result_out_of_range: treat them as infinite so the
  // caller's finiteness check reports them.
  if (ec == std::errc::result_out_of_range && p == t.data() + t.size())
    return t.front() == '-' ? -HUGE_VAL : HUGE_VAL;
  if (ec != std::errc() || p != t.data() + t.size() || t.empty()) return std::nullopt;
  return v;
}

LineReader::LineReader(const std::string& path, TextFormat fmt) : path_(path), fmt_(std::move(fmt)) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw_input_error(path, 0, "file not found", path, "check the path");
  if (std::filesystem::is_directory(path, ec))
    throw_input_error(path, 0, "is a directory, not a file", path, "give the path of a file inside it");
  // gzopen reads plain files transparently, so one code path serves both.
  gz_ = gzopen(path.c_str(), "rb");
  if (!gz_)
    throw_input_error(path, 0, std::string("cannot open file (") + std::strerror(errno) + ")", path,
                      "check that the file is readable");
  gzbuffer(static_cast<gzFile>(gz_), 1 << 17);
  buf_.resize(1 << 18);
}

LineReader::~LineReader() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

void LineReader::refill() {
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // a line longer than the buffer
  auto gz = static_cast<gzFile>(gz_);
  size_t room = std::min<size_t>(buf_.size() - end_, INT_MAX);
  int n = gzread(gz, buf_.data() + end_, static_cast<unsigned>(room));
  int err = Z_OK;
  const char* msg = gzerror(gz, &err);
  if (n < 0 || (err != Z_OK && err != Z_BUF_ERROR))
    throw_input_error(path_, line_no_ + 1, std::string("cannot read the file (") + msg + ")", path_,
                      "the file is corrupt or unreadable; re-create or re-download it");
  // zlib reports a gzip stream that stops mid-way as Z_BUF_ERROR and returns 0 bytes: without
  // this check a cut-off download would load as a silently shorter file.
  if (n == 0 && err == Z_BUF_ERROR)
    throw_input_error(path_, line_no_ + 1, "truncated gzip file (unexpected end of the compressed data)",
                      path_, "the file was cut off; re-create or re-download it");
  if (n == 0) eof_ = true;
  if (gz_out_ == 0 && n > 0 && gzdirect(gz)) check_text(buf_.data() + end_, static_cast<size_t>(n));
  end_ += static_cast<size_t>(n);
  gz_out_ += static_cast<uint64_t>(n);
  if (gz_out_ > fmt_.max_gzip_bytes && !gzdirect(gz))
    throw_input_error(path_, line_no_ + 1,
                      "gzip file decompresses to more than " + byte_size(fmt_.max_gzip_bytes) +
                          " (the limit for one compressed file)",
                      path_,
                      "if the data is genuine, decompress it (gunzip) and name the plain file instead; the "
                      "limit guards against decompression bombs");
}

void LineReader::check_text(const char* data, size_t n) const {
  // Control bytes other than tab, line breaks and ESC never occur in the text formats; one in the
  // first block means a binary file (a zip, an image, a wrong path), reported as such instead of
  // as a garbled token on line 1.
  const auto binary = [](unsigned char c) { return c < 0x09 || (c > 0x0D && c < 0x20 && c != 0x1B); };
  if (std::none_of(data, data + n, [&](char c) { return binary(static_cast<unsigned char>(c)); })) return;
  const bool gz_name = path_.size() > 3 && path_.compare(path_.size() - 3, 3, ".gz") == 0;
  if (gz_name)
    throw_input_error(path_, 0,
                      "not a gzip file (the name ends in .gz but the data does not start with the gzip signature)",
                      path_, "re-compress it with gzip, or drop the .gz from its name");
  throw_input_error(path_, 0, "binary data where a text file was expected (control bytes in its first block)", path_,
                    "check the path; data files are plain text (optionally gzip-compressed)");
}

void LineReader::line_too_long(const char* s, size_t len) const {
  throw_input_error(path_, line_no_ + 1,
                    "line longer than " + byte_size(fmt_.max_line_bytes) + " (the limit for one line)",
                    std::string(s, std::min<size_t>(len, 40)) + "...",
                    "is this a data file? Check the path; a file with CR-only (old Mac) line endings reads as "
                    "one line: convert it to LF or CRLF line endings");
}

bool LineReader::next_raw_line() {
  for (;;) {
    const char* s = buf_.data() + pos_;
    size_t avail = end_ - pos_;
    if (const void* nl = avail ? std::memchr(s, '\n', avail) : nullptr) {
      size_t len = static_cast<size_t>(static_cast<const char*>(nl) - s);
      if (len > fmt_.max_line_bytes) line_too_long(s, len);
      line_ = std::string_view(s, len);
      pos_ += len + 1;
      break;
    }
    // A line is at most max_line_bytes, so the buffer never grows past about twice that.
    if (avail > fmt_.max_line_bytes) line_too_long(s, avail);
    if (eof_) {
      if (avail == 0) return false;
      line_ = std::string_view(s, avail);  // last line without a newline
      pos_ = end_;
      break;
    }
    refill();
  }
  ++line_no_;
  if (line_no_ == 1 && line_.substr(0, 3) == "\xEF\xBB\xBF") line_.remove_prefix(3);
  if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);
  return true;
}

bool LineReader::next() {
  while (next_raw_line()) {
    size_t i = 0;
    while (i < line_.size() && is_blank(line_[i])) ++i;
    if (i == line_.size()) continue;
    if (!fmt_.comment.empty() && line_.substr(i).starts_with(fmt_.comment)) continue;
    split_fields(line_, fmt_.delimiter, fields_);
    ++data_lines_;
    if (fmt_.delimiter != Delimiter::Whitespace) {
      for (size_t f = 0; f < fields_.size(); ++f)
        if (fields_[f].empty())
          fail("empty field " + std::to_string(f + 1) + " in line", line_,
               std::string("remove the extra or trailing ") + delimiter_name(fmt_.delimiter) +
                   " delimiter, or fill in the missing value");
    }
    return true;
  }
  return false;
}

void LineReader::fail(const std::string& problem, std::string_view token, const std::string& fix) const {
  // A cut token keeps messages readable when a line is megabytes long.
  const bool cut = token.size() > 200;
  throw_input_error(path_, line_no_, problem, std::string(token.substr(0, 200)) + (cut ? "..." : ""), fix);
}

void LineReader::expect_fields(size_t n, const std::string& what) const {
  if (fields_.size() == n) return;
  fail("expected " + std::to_string(n) + " fields (" + what + ") but found " +
           std::to_string(fields_.size()) + " in line",
       line_,
       std::string("fix the line; fields are separated by ") + delimiter_name(fmt_.delimiter) +
           " (set delimiter: whitespace | tab | comma in the YAML)");
}

}  // namespace locus
