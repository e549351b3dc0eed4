#pragma once
// One function per subcommand: each adds its options to the app and returns
// the Command that runs it. Wiring and printing only; the work is in lib/.

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "hfjit/untie.h"

namespace hfjit::cmd {

// What a subcommand runs once the command line is parsed: its exit code.
using Command = std::function<int()>;

// `untie` does its work through `fn`: hfjit::untie in the engine; in the
// front end, untie_folder, or a hand-over to the engine for a .pt.
using UntieFn =
    std::function<UntieReport(const std::string&, const std::string&, const UntieOptions&)>;
Command add_untie(CLI::App& app, UntieFn fn);
Command add_trace(CLI::App& app);
Command add_run(CLI::App& app);
Command add_bench(CLI::App& app);

}  // namespace hfjit::cmd
