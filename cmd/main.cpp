// hfjit-engine: every hfjit command, on libtorch. Users run `hfjit` (the
// front end, cmd/front.cpp), which hands it the same argv.

#include <spdlog/spdlog.h>

#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <map>
#include <string>

#include "app.h"
#include "commands.h"
#include "hfjit/error.h"
#include "hfjit/untie.h"
#include "hfjit/version.h"

namespace {

// libtorch's warnings (TORCH_WARN) in hfjit's logging, one line each, instead
// of its own "[W... file.cpp:N] Warning: ..." on stderr. Its deprecation
// notices (libtorch 2.15 prints one for every int8 trace and load: quantized
// tensor creation will go) are debug (-v): they concern libtorch, not the
// user's command.
class LogWarnings : public c10::WarningHandler {
 public:
  void process(const c10::Warning& w) override {
    const std::string line = hfjit::first_line(w.msg());
    if (line.find("deprecated") != std::string::npos)
      spdlog::debug("libtorch: {}", line);
    else
      spdlog::warn("libtorch: {}", line);
  }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace hfjit::cmd;
  if (print_version_if_asked(argc, argv)) return 0;
  CLI::App app{
      "hfjit: export Hugging Face transformer models to TorchScript, run and benchmark them"};
  GlobalOptions g;
  add_global_options(app, g);

  std::map<std::string, Command> commands;
  auto sub = [&](const char* name, const char* help, auto add) {
    CLI::App* s = app.add_subcommand(name, help);
    commands[name] = add(*s);
  };
  sub("trace", "Export a model folder or cached hub id to a verified TorchScript .pt", add_trace);
  sub("untie", "Materialise tied weights as independent tensors (folder, hub id or .pt)",
      [](CLI::App& s) { return add_untie(s, hfjit::untie); });
  sub("run", "Tokenize text, run a .pt and print the task's answer", add_run);
  sub("bench", "Latency percentiles and throughput of a .pt or model", add_bench);

  if (int code = parse(app, argc, argv); code >= 0) return code;
  setup_logging(g);
  LogWarnings log_warnings;
  c10::WarningUtils::WarningHandlerGuard warnings_to_log(&log_warnings);
  const int used = hfjit::set_threads(g.threads);
  spdlog::debug("libtorch {} with {} threads", hfjit::torch_version(), used);

  for (CLI::App* s : app.get_subcommands()) {
    const Command& command = commands.at(s->get_name());
    return run_guarded([&command] {
      try {
        return command();
      } catch (const c10::Error& e) {  // libtorch's message without its C++ backtrace
        throw hfjit::Error(e.what_without_backtrace());
      }
    });
  }
  return 0;
}
