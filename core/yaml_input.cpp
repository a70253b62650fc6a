#include "core/yaml_input.hpp"

#include <yaml-cpp/depthguard.h>    // YAML::DeepRecursion (yaml.h does not include it)
#include <yaml-cpp/eventhandler.h>  // YAML::EventHandler (likewise)

#include <charconv>
#include <cctype>
#include <cmath>
#include <sstream>
#include <string_view>

#include "core/error.hpp"

namespace locus {

namespace {

// A cap exceeded: the reason is the message without its place.
[[noreturn]] void cap_error(const std::string& file, long line, const std::string& problem, const std::string& fix) {
  throw YamlError(input_error_message(file, line, problem, "", fix), problem + ". " + fix);
}

// A syntax error: the reason is the parser's description.
[[noreturn]] void syntax_error(const std::string& file, long line, const std::string& why, bool at,
                               const std::string& token, const std::string& fix) {
  throw YamlError(input_error_message(file, line, "invalid YAML (" + why + ")" + (at && !token.empty() ? " at" : ""),
                                      token, fix),
                  why);
}

long line_of(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

std::string limit_text(size_t bytes) {
  if (bytes % (size_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

// Line `line0` (0-based) of `text`, trimmed, at most 200 characters: the token of syntax errors.
std::string line_text(const std::string& text, long line0) {
  size_t begin = 0;
  for (long i = 0; i < line0; ++i) {
    begin = text.find('\n', begin);
    if (begin == std::string::npos || begin + 1 == text.size()) return "end of file";  // past the last line
    ++begin;
  }
  size_t end = text.find('\n', begin);
  std::string_view s(text.data() + begin, (end == std::string::npos ? text.size() : end) - begin);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.size() > 200) return std::string(s.substr(0, 200)) + "...";
  return std::string(s);
}

[[noreturn]] void too_large(const std::string& file, const YamlLimits& limits) {
  cap_error(file, 0,
                    "YAML file too large: more than " + std::to_string(limits.max_bytes) + " bytes (the limit is " +
                        limit_text(limits.max_bytes) + ")",
                    "a dataset YAML or config only describes the data; keep node ids, edges and features in the "
                    "data files it names");
}

// Depth-first walk that stops at the first cap it exceeds; the recursion is bounded by max_depth.
class Walker {
 public:
  Walker(const std::string& file, const YamlLimits& limits) : file_(file), limits_(limits) {}

  void visit(const YAML::Node& n, int depth) {
    if (++visited_ > limits_.max_nodes)
      cap_error(file_, line_of(n),
                        "YAML has too many nodes: more than " + std::to_string(limits_.max_nodes) +
                            " values (the limit; each use of an alias '*name' counts its whole content again)",
                        "shorten the lists, or replace aliases that repeat large structures");
    if (!n.IsSequence() && !n.IsMap()) return;
    if (depth + 1 > limits_.max_depth)
      cap_error(file_, line_of(n),
                        "YAML nested too deeply: more than " + std::to_string(limits_.max_depth) +
                            " levels of lists and mappings (the limit)",
                        "flatten the structure; Locus files need only a few levels (an alias inside its own "
                        "anchor, such as '&a [*a]', also nests without end)");
    if (n.IsSequence()) {
      for (const auto& item : n) visit(item, depth + 1);
    } else {
      for (const auto& kv : n) {
        visit(kv.first, depth + 1);
        visit(kv.second, depth + 1);
      }
    }
  }

 private:
  const std::string& file_;
  const YamlLimits& limits_;
  size_t visited_ = 0;
};

// yaml-cpp 0.7's LoadAll never returns on a document that starts with a stray ',' (",a"): each
// round yields a null document without consuming the token. A first pass with this handler sees
// a document start where the previous one started and stops there.
class ProgressCheck : public YAML::EventHandler {
 public:
  struct Stuck {
    YAML::Mark mark;
  };
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (started_ && mark.pos == last_.pos) throw Stuck{mark};
    started_ = true;
    last_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  bool started_ = false;
  YAML::Mark last_;
};

}  // namespace

std::string read_yaml_text(std::istream& in, const std::string& file, const YamlLimits& limits) {
  std::string text;
  char chunk[1 << 16];
  while (in) {
    in.read(chunk, sizeof chunk);
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > limits.max_bytes) too_large(file, limits);
  }
  if (in.bad()) throw_input_error(file, 0, "cannot read the file", file, "check that the file is readable");
  return text;
}

void check_yaml_limits(const YAML::Node& node, const std::string& file, const YamlLimits& limits) {
  Walker(file, limits).visit(node, 0);
}

std::vector<YAML::Node> parse_yaml_capped(const std::string& text, const std::string& file,
                                          const YamlParseOptions& opt) {
  if (text.size() > opt.limits.max_bytes) too_large(file, opt.limits);
  std::vector<YAML::Node> docs;
  try {
    if (opt.multi_document) {
      try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        ProgressCheck check;
        while (parser.HandleNextDocument(check)) {
        }
      } catch (const ProgressCheck::Stuck& s) {
        const long line = s.mark.line + 1;
        const char c = static_cast<size_t>(s.mark.pos) < text.size() ? text[static_cast<size_t>(s.mark.pos)] : ' ';
        syntax_error(file, line, std::string("unexpected '") + c + "' where a value should start", opt.at_before_line,
                     line_text(text, line - 1), opt.syntax_fix);
      }
      docs = YAML::LoadAll(text);
    }
    else
      docs.push_back(YAML::Load(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own guard (about 500 levels) fires before our depth check can run.
    cap_error(file, e.mark.is_null() ? 0 : e.mark.line + 1,
                      "YAML nested too deeply: more than " + std::to_string(opt.limits.max_depth) +
                          " levels of lists and mappings (the limit)",
                      "flatten the structure; Locus files need only a few levels");
  } catch (const YAML::Exception& e) {
    const long line = e.mark.is_null() ? 0 : e.mark.line + 1;
    const std::string token = line > 0 ? line_text(text, line - 1) : "";
    syntax_error(file, line, e.msg, opt.at_before_line, token, opt.syntax_fix);
  }
  // One walker for all documents: the node cap is for the whole file.
  Walker w(file, opt.limits);
  for (const auto& d : docs) w.visit(d, 0);
  return docs;
}

std::optional<bool> yaml_bool(std::string_view text) {
  std::string l(text);
  for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "true" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "no" || l == "off") return false;
  return std::nullopt;
}

std::optional<int64_t> yaml_int(std::string_view t, bool* out_of_range) {
  if (out_of_range) *out_of_range = false;
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);  // from_chars takes no '+'; YAML does
  int64_t v = 0;
  const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || p != t.data() + t.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range && out_of_range) *out_of_range = true;
  if (ec != std::errc()) return std::nullopt;
  return v;
}

std::optional<double> yaml_number(std::string_view t) {
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  double v = 0;
  const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  // Out-of-range values (1e999) come back as result_out_of_range: ±inf, for the finiteness check.
  if (ec == std::errc::result_out_of_range && p == t.data() + t.size() && !t.empty())
    return t.front() == '-' ? -HUGE_VAL : HUGE_VAL;
  if (ec != std::errc() || p != t.data() + t.size() || t.empty()) return std::nullopt;
  return v;
}

}  // namespace locus
