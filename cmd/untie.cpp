// hfjit untie IN -o OUT [--dry-run] [--force] [--json] [--revision R]

#include <spdlog/spdlog.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "format.h"
#include "hfjit/error.h"
#include "hfjit/untie.h"

namespace hfjit::cmd {
namespace {

struct UntieArgs {
  std::string input;
  std::string output;
  bool json = false;
  UntieOptions opts;
};

void print_json(const UntieReport& r) {
  nlohmann::ordered_json j;
  j["input"] = r.input;
  j["output"] = r.output;
  j["kind"] = r.kind;
  j["written"] = r.written;
  j["bytes_written"] = r.bytes_written;
  j["untied"] = nlohmann::ordered_json::array();
  for (const auto& u : r.untied)
    j["untied"].push_back({{"name", u.name},
                           {"tied_to", u.source},
                           {"shape", u.shape},
                           {"dtype", u.dtype},
                           {"bytes", u.bytes},
                           {"reason", u.reason}});
  std::printf("%s\n", j.dump().c_str());
}

void print_table(const UntieReport& r) {
  if (r.untied.empty()) {
    std::printf("nothing is tied in %s%s\n", r.input.c_str(),
                r.written ? ("; wrote an unchanged copy to " + r.output).c_str() : "");
    return;
  }
  Table t({"tensor", "tied to", "shape", "dtype", "bytes", "why"});
  uint64_t total = 0;
  for (const auto& u : r.untied) {
    t.add({u.name, u.source, shape_string(u.shape), u.dtype, human_bytes(u.bytes), u.reason});
    total += u.bytes;
  }
  std::printf("%s", t.render().c_str());
  std::printf("%s %zu tied tensor%s (%s) %s %s\n", r.written ? "untied" : "would untie",
              r.untied.size(), r.untied.size() == 1 ? "" : "s", human_bytes(total).c_str(),
              r.written ? "into" : "(dry run) for", r.output.empty() ? "-" : r.output.c_str());
}

}  // namespace

Command add_untie(CLI::App& app, UntieFn fn) {
  auto a = std::make_shared<UntieArgs>();
  app.add_option("input", a->input, "Model folder, cached hub id, or TorchScript .pt")->required();
  app.add_option("-o,--output", a->output, "Output folder (or .pt for a .pt input)");
  app.add_flag("--dry-run", a->opts.dry_run, "List the tied tensors, write nothing");
  app.add_flag("--force", a->opts.force, "Replace the output if it exists");
  app.add_flag("--json", a->json, "Print a JSON report on stdout");
  app.add_option("--revision", a->opts.revision, "Hub revision (branch or commit) for a hub id");
  app.add_flag("--trust", a->opts.trust,
               "Load a .pt whose code defines __setstate__ (libtorch runs it while loading)");
  return [a, fn]() {
    if (a->output.empty() && !a->opts.dry_run)
      throw Error("untie needs an output: -o OUT (or --dry-run)");
    UntieReport r = fn(a->input, a->output, a->opts);
    for (const auto& note : r.notes) spdlog::warn("{}", note);
    if (a->json)
      print_json(r);
    else
      print_table(r);
    return 0;
  };
}

}  // namespace hfjit::cmd
