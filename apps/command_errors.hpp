// How a `locus` subcommand that runs as its CLI11 callback (generate, partition) reports failure:
// "locus: error: MESSAGE" on stderr, exit status 2 for bad input (InputError), 1 otherwise.
#pragma once
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "core/error.hpp"

namespace locus {

template <class Work>
void run_reporting_errors(Work&& work) {
  try {
    work();
  } catch (const InputError& e) {
    std::cerr << "locus: error: " << e.what() << "\n";
    throw CLI::RuntimeError(2);
  } catch (const std::exception& e) {
    std::cerr << "locus: error: " << e.what() << "\n";
    throw CLI::RuntimeError(1);
  }
}

}  // namespace locus
