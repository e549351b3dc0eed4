#include "app.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "hfjit/error.h"
#include "hfjit/version.h"

namespace hfjit::cmd {

void add_global_options(CLI::App& app, GlobalOptions& g) {
  app.name("hfjit");
  app.require_subcommand(1);
  static bool show_version = false;  // only listed in --help: print_version_if_asked acts on it
  app.add_flag("--version", show_version, "Print the hfjit and libtorch versions and exit");
  app.add_option("--threads", g.threads, "Intra-op threads for libtorch (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("-v,--verbose", g.verbosity, "More log output (-vv for trace)");
  app.add_flag("-q,--quiet", g.quiet, "Only warnings and errors on stderr");
  app.fallthrough();
}

bool print_version_if_asked(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--version") {
      std::printf("hfjit %s (libtorch %s)\n", version().c_str(), torch_version().c_str());
      return true;
    }
  }
  return false;
}

int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const BadValue& e) {
    return fail(e.what(), 1);
  } catch (const CLI::ParseError& e) {
    // A subcommand's own --help is reported through the same exception types.
    if (e.get_exit_code() == 0) return app.exit(e);
    return fail(std::string(e.what()) + " (see hfjit --help)", 2);
  }
  return -1;
}

void setup_logging(const GlobalOptions& g) {
  auto console = spdlog::stderr_color_st("hfjit");
  console->set_pattern("%^[%l]%$ %v");
  spdlog::set_default_logger(console);
  spdlog::set_level(g.quiet            ? spdlog::level::warn
                    : g.verbosity >= 2 ? spdlog::level::trace
                    : g.verbosity == 1 ? spdlog::level::debug
                                       : spdlog::level::info);
}

int fail(const std::string& message, int code) {
  std::string line = first_line(message);
  std::fprintf(stderr, "hfjit: error: %s\n", line.c_str());
  return code;
}

int run_guarded(const Command& command) {
  try {
    return command();
  } catch (const VerifyError& e) {
    return fail(e.what(), 3);
  } catch (const std::exception& e) {
    return fail(e.what(), 1);
  }
}

}  // namespace hfjit::cmd
