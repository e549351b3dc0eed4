// hfjit: the front end. It links no libtorch (whose start-up alone takes about
// a second here: Debian's libtorch pulls in some 290 shared libraries), so the
// commands that need none answer at once: --version, and `untie` of a model
// folder or hub id, which then runs at the disk's speed. Everything else is
// handed to hfjit-engine, with the same arguments, by exec.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "app.h"
#include "commands.h"
#include "hfjit/untie.h"

namespace fs = std::filesystem;

namespace {

char** g_argv = nullptr;

// hfjit-engine next to this binary, or in ../libexec/hfjit/ (an install).
std::string engine_path() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) self = fs::absolute(g_argv[0], ec);
  const fs::path dir = self.parent_path();
  for (const fs::path& p :
       {dir / "hfjit-engine", dir / ".." / "libexec" / "hfjit" / "hfjit-engine"})
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  throw std::runtime_error(
      "cannot find hfjit-engine (the part of hfjit that runs libtorch) next to " + self.string() +
      " or in " + (dir / ".." / "libexec" / "hfjit").string());
}

// Replaces this process with the engine; returns only on failure.
int hand_over() {
  try {
    const std::string engine = engine_path();
    ::execv(engine.c_str(), g_argv);
    return hfjit::cmd::fail("cannot start " + engine + ": " + std::strerror(errno), 1);
  } catch (const std::exception& e) {
    return hfjit::cmd::fail(e.what(), 1);
  }
}

// The first argument that is not a global option: the subcommand, if any.
std::string subcommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads") {
      ++i;
      continue;
    }
    const bool verbose =
        a.size() >= 2 && a[0] == '-' && a.find_first_not_of('v', 1) == std::string::npos;
    if (verbose || a == "--verbose" || a == "-q" || a == "--quiet" || a.rfind("--threads=", 0) == 0)
      continue;
    return a;
  }
  return "";
}

bool asks_for_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0 ||
        std::strcmp(argv[i], "--help-all") == 0)
      return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hfjit::cmd;
  g_argv = argv;
  if (print_version_if_asked(argc, argv)) return 0;
  // Help and usage errors come from the engine, which knows every command.
  if (subcommand(argc, argv) != "untie" || asks_for_help(argc, argv)) return hand_over();

  CLI::App app{"hfjit"};
  GlobalOptions g;
  add_global_options(app, g);
  Command command =
      add_untie(*app.add_subcommand("untie", ""),
                [](const std::string& in, const std::string& out, const hfjit::UntieOptions& o) {
                  std::error_code ec;
                  // A TorchScript .pt is libtorch's job (nothing is written yet).
                  if (fs::is_regular_file(in, ec)) std::exit(hand_over());
                  return hfjit::untie_folder(in, out, o);
                });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError&) {
    return hand_over();
  }
  setup_logging(g);
  return run_guarded(command);
}
