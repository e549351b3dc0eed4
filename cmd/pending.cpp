// bench: its options are declared here so `hfjit --help`
// shows the whole tool; it is implemented by later work (issue 7) and says so
// with an error and exit 1 until then.

#include "commands.h"
#include "hfjit/error.h"

namespace hfjit::cmd {
namespace {

Runner pending(CLI::App& app, const std::string& name, const std::string& issue) {
  static std::vector<std::string> ignored;
  app.add_option("args", ignored, "Arguments (not used yet)");
  app.allow_extras();
  return [name, issue]() -> int {
    throw Error("'" + name + "' is not implemented in this build yet (" + issue + ")");
  };
}

}  // namespace

Runner add_bench(CLI::App& app) { return pending(app, "bench", "issue 7"); }

}  // namespace hfjit::cmd
