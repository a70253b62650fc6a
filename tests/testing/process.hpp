// Runs the built `locus` program from tests and captures its exit status and output.
#pragma once
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/testing/paths.hpp"

namespace locus::testing {

struct Cmd {
  int status;          // exit status, -1 when killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs `locus ARGS`, sending its output through the file `log`.
inline Cmd run_locus(const std::string& args, const std::filesystem::path& log) {
  const std::string cmd = locus_binary() + " " + args + " > " + log.string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, ss.str()};
}

}  // namespace locus::testing
