#pragma once
// What the two binaries share: the global options, logging, and the
// one-line error convention (message on stderr, exit 1; 2 for usage; 3 when
// a trace fails verification).
//
//   hfjit         the front end (cmd/front.cpp): links no libtorch. It runs
//                 `untie` of a model folder and `--version` itself and hands
//                 every other command to hfjit-engine with the same argv.
//   hfjit-engine  every command (cmd/main.cpp), on libtorch.

#include <CLI/CLI.hpp>
#include <string>

#include "commands.h"

namespace hfjit::cmd {

struct GlobalOptions {
  int threads = 0;
  int verbosity = 0;
  bool quiet = false;
};

// The app with hfjit's global options (--threads, -v, -q; --version is
// handled before parsing: see print_version_if_asked).
void add_global_options(CLI::App& app, GlobalOptions& g);

// Prints the versions and returns true if any argument is --version.
bool print_version_if_asked(int argc, char** argv);

// An option value CLI11 read but a check on the option refuses ("--top-k must
// be a positive number or 'all', not 'zero'"): thrown from the option's
// transform or check, it is one line and exit 1, like the library's own checks
// of option values; a malformed command line is exit 2.
class BadValue : public CLI::ParseError {
 public:
  explicit BadValue(const std::string& message) : CLI::ParseError("BadValue", message, 1) {}
};

// Parses; on --help, a usage error or a BadValue prints and returns the exit
// code to use, else returns -1.
int parse(CLI::App& app, int argc, char** argv);

// spdlog to stderr at the level -v/-q ask for.
void setup_logging(const GlobalOptions& g);

// "hfjit: error: <first line of message>" on stderr; returns `code`.
int fail(const std::string& message, int code);

// Runs a subcommand: hfjit's errors become one line and an exit code
// (VerifyError 3, anything else 1).
int run_guarded(const Command& command);

}  // namespace hfjit::cmd
