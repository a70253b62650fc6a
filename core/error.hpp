// Errors Locus reports to users.
// InputError: bad files, configs or arguments; the message names the place (file:line),
// the offending token and the fix. ShapeError: a programming error caught by an always-on check.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>
#include <initializer_list>

namespace locus {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A bad setting: the config key at fault, the problem (worded to precede the value as set, e.g.
// "... (now gcn), got"), the fix, and the token to show when it is not the value as set (e.g. the
// key itself). Found by the library (validate functions, value readers); apps add the file and
// line where the key was set.
struct ConfigProblem {
  std::string key, problem, fix, token;
};

// An InputError about one config key; what() reads "config: problem 'token or key'. fix".
struct ConfigError : InputError {
  explicit ConfigError(ConfigProblem p);
  ConfigProblem problem;
};

struct ShapeError : std::logic_error {
  using std::logic_error::logic_error;
};

// "file:line: problem 'token'. fix" — line <= 0 omits the line number.
std::string input_error_message(const std::string& file, long line, const std::string& problem,
                                const std::string& token, const std::string& fix);

[[noreturn]] void throw_input_error(const std::string& file, long line, const std::string& problem,
                                    const std::string& token, const std::string& fix);

// Always-on check that throws ShapeError with the given message.
inline void check(bool ok, const std::string& what) {
  if (!ok) throw ShapeError(what);
}

// Nearest candidate by edit distance (for "did you mean" hints); empty when none is close.
std::string nearest(const std::string& word, const std::initializer_list<std::string>& candidates);
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace locus
