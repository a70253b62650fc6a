// Parsing untrusted YAML (dataset YAMLs, experiment configs) with caps on size, nesting depth
// and node count, so a hostile or broken file gives a clear InputError instead of exhausting
// memory, time or stack. yaml-cpp's own exceptions become InputError with file:line.
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace locus {

// Every error of this file: what() is the full "file:line: problem 'token'. fix" message;
// `reason` is the cause alone — the parser's words for a syntax error ("end of sequence flow not
// found"), "problem. fix" for a cap — for callers that word the message themselves (overrides).
struct YamlError : InputError {
  YamlError(const std::string& message, std::string why) : InputError(message), reason(std::move(why)) {}
  std::string reason;
};

// A Locus YAML only describes data (a few dozen keys), so these never bind on real files.
// max_nodes counts every node visited by a full walk, an alias (*name) in full each time it is
// used: `a: &a [x, x]`, `b: &b [*a, *a]`, ... is exponential, and `&a [*a]` is a cycle.
struct YamlLimits {
  size_t max_bytes = size_t{1} << 20;  // 1 MiB of text
  int max_depth = 64;                  // nested lists/mappings (the top-level mapping is depth 1)
  size_t max_nodes = 100000;           // nodes visited, aliases counted per use
};

struct YamlParseOptions {
  bool multi_document = false;  // false: the first document only (YAML::Load); true: all (LoadAll)
  // Shown after a syntax error "file:line: invalid YAML (what) 'the line'. <syntax_fix>".
  std::string syntax_fix = "check the indentation, colons and quotes on that line";
  bool at_before_line = false;  // "invalid YAML (what) at 'the line'" instead
  YamlLimits limits;
};

// Reads the whole stream, but at most limits.max_bytes (+1 to detect more): YamlError naming
// `file` when the text is larger. Does not check that the file exists (callers word that).
std::string read_yaml_text(std::istream& in, const std::string& file, const YamlLimits& limits = {});

// Parses `text` (named `file` in errors) and checks every document against opt.limits.
// Throws YamlError for syntax errors (file:line, the line's text and opt.syntax_fix), for
// yaml-cpp's recursion guard (flow/block nesting past ~500 levels) and for each cap.
// An empty text gives one null node (single document) or no documents (multi_document).
std::vector<YAML::Node> parse_yaml_capped(const std::string& text, const std::string& file,
                                          const YamlParseOptions& opt = {});

// Scalars as every Locus YAML reads them, dataset files and experiment configs alike:
// booleans: true/false, yes/no, on/off in any letter case; whole numbers: decimal digits with an
// optional sign ('+' too), `out_of_range` set (and nullopt returned) beyond int64; numbers: decimal
// or exponent form with an optional sign ("5e-4", "+1.5"), values beyond double as ±inf (callers
// reject non-finite values), nan/inf spelled out as such. nullopt when the text is not one.
std::optional<bool> yaml_bool(std::string_view text);
std::optional<int64_t> yaml_int(std::string_view text, bool* out_of_range = nullptr);
std::optional<double> yaml_number(std::string_view text);

// The depth and node-count checks alone, e.g. for a node parsed elsewhere.
void check_yaml_limits(const YAML::Node& node, const std::string& file, const YamlLimits& limits = {});

}  // namespace locus
