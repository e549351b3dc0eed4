#pragma once
// One function per subcommand: each adds its options to the app and returns
// the callback that runs it. Wiring and printing only; the work is in lib/.

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "hfjit/untie.h"

namespace hfjit::cmd {

using Runner = std::function<int()>;

// `untie` does its work through `fn`: hfjit::untie in the engine; in the
// front end, untie_folder, or a hand-over to the engine for a .pt.
using UntieFn = std::function<UntieReport(const std::string&, const std::string&, const UntieOptions&)>;
Runner add_untie(CLI::App& app, UntieFn fn);
Runner add_trace(CLI::App& app);
Runner add_run(CLI::App& app);
Runner add_bench(CLI::App& app);

}  // namespace hfjit::cmd
