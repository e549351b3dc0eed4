#pragma once
// One function per subcommand: each adds its options to the app and returns
// the callback that runs it. Wiring and printing only; the work is in lib/.

#include <CLI/CLI.hpp>
#include <functional>

namespace hfjit::cmd {

using Runner = std::function<int()>;

Runner add_untie(CLI::App& app);
Runner add_trace(CLI::App& app);
Runner add_run(CLI::App& app);
Runner add_bench(CLI::App& app);

}  // namespace hfjit::cmd
