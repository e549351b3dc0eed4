// hfjit: Hugging Face checkpoints to TorchScript, run and benchmarked, natively.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "commands.h"
#include "hfjit/error.h"
#include "hfjit/version.h"

namespace {

int fail(const std::string& message, int code) {
  std::string line = message.substr(0, message.find('\n'));
  std::fprintf(stderr, "hfjit: error: %s\n", line.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hfjit: export Hugging Face transformer models to TorchScript, run and benchmark them"};
  app.name("hfjit");
  app.require_subcommand(1);
  int threads = 0;
  int verbosity = 0;
  bool quiet = false;
  bool show_version = false;
  app.add_flag("--version", show_version, "Print the hfjit and libtorch versions and exit");
  app.add_option("--threads", threads, "Intra-op threads for libtorch (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("-v,--verbose", verbosity, "More log output (-vv for trace)");
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors on stderr");
  app.fallthrough();

  std::map<std::string, hfjit::cmd::Runner> runners;
  auto sub = [&](const char* name, const char* help, auto add) {
    CLI::App* s = app.add_subcommand(name, help);
    runners[name] = add(*s);
  };
  sub("trace", "Export a model folder or cached hub id to a verified TorchScript .pt", hfjit::cmd::add_trace);
  sub("untie", "Materialise tied weights as independent tensors (folder, hub id or .pt)", hfjit::cmd::add_untie);
  sub("run", "Tokenize text, run a .pt and print the task's answer", hfjit::cmd::add_run);
  sub("bench", "Latency percentiles and throughput of a .pt or model", hfjit::cmd::add_bench);

  // --version works without a subcommand.
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--version") {
      std::printf("hfjit %s (libtorch %s)\n", hfjit::version().c_str(), hfjit::torch_version().c_str());
      return 0;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    // A subcommand's own --help is reported through the same exception types.
    if (e.get_exit_code() == 0) return app.exit(e);
    return fail(std::string(e.what()) + " (see hfjit --help)", 2);
  }

  auto console = spdlog::stderr_color_st("hfjit");
  console->set_pattern("%^[%l]%$ %v");
  spdlog::set_default_logger(console);
  spdlog::set_level(quiet ? spdlog::level::warn
                          : verbosity >= 2 ? spdlog::level::trace
                          : verbosity == 1 ? spdlog::level::debug
                                           : spdlog::level::info);
  const int used = hfjit::set_threads(threads);
  spdlog::debug("libtorch {} with {} threads", hfjit::torch_version(), used);

  for (CLI::App* s : app.get_subcommands()) {
    try {
      return runners.at(s->get_name())();
    } catch (const hfjit::VerifyError& e) {
      return fail(e.what(), 3);
    } catch (const hfjit::Error& e) {
      return fail(e.what(), 1);
    } catch (const c10::Error& e) {
      return fail(e.what_without_backtrace(), 1);
    } catch (const std::exception& e) {
      return fail(e.what(), 1);
    }
  }
  return 0;
}
