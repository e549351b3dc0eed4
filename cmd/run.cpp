// hfjit run MODEL.pt --describe [--json]: what an artifact holds.
// Running text through the model (the rest of `run`) is issue 6.

#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "format.h"
#include "hfjit/error.h"
#include "hfjit/torchscript_file.h"

namespace hfjit::cmd {
namespace {

struct RunArgs {
  std::string model;
  std::vector<std::string> texts;
  bool describe = false;
  bool json = false;
};

void describe(const RunArgs& a) {
  TorchScriptFile ts = TorchScriptFile::load(a.model);
  auto it = ts.extra_files.find("hfjit/meta.json");
  if (it == ts.extra_files.end())
    throw Error(context(a.model, "has no hfjit/meta.json (not written by hfjit trace)"));
  nlohmann::ordered_json meta;
  try {
    meta = nlohmann::ordered_json::parse(it->second);
  } catch (const nlohmann::json::exception&) {
    throw Error(context(a.model, "hfjit/meta.json is not valid JSON"));
  }
  if (a.json) {
    std::printf("%s\n", meta.dump().c_str());
    return;
  }
  auto str = [&](const char* k) { return meta.contains(k) ? meta[k].dump() : std::string("?"); };
  Table t({"field", "value"});
  t.add({"model", meta.value("/source/model"_json_pointer, std::string("?"))});
  t.add({"class", meta.value("hf_class", std::string("?")) + " (" + meta.value("model_type", std::string("?")) + ")"});
  t.add({"task", meta.value("task", std::string("?"))});
  std::string methods;
  for (const auto& m : meta["methods"])
    methods += (methods.empty() ? "" : ", ") + m.value("name", std::string()) + " [" + str("batch_size") + ", " +
               m["length"].dump() + "]";
  t.add({"methods", methods});
  std::string inputs, outputs;
  for (const auto& i : meta["inputs"]) inputs += (inputs.empty() ? "" : ", ") + i.value("name", std::string());
  for (const auto& o : meta["outputs"])
    outputs += (outputs.empty() ? "" : ", ") + o.value("name", std::string()) + " " + o["shape"].dump();
  t.add({"inputs", inputs});
  t.add({"outputs", outputs});
  t.add({"dtype", meta.value("dtype", std::string("?")) + ", quantization " + meta.value("quantization", std::string("?"))});
  t.add({"tied weights", meta.value("tie_mode", std::string("?"))});
  t.add({"verified", meta["verification"].value("verified", false) ? "yes, atol " + meta["verification"]["atol"].dump() : "no"});
  std::string files;
  for (const auto& [name, contents] : ts.extra_files) files += (files.empty() ? "" : ", ") + name;
  t.add({"extra files", files});
  t.add({"hfjit / torch", meta.value("hfjit_version", std::string("?")) + " / " + meta.value("torch_version", std::string("?"))});
  std::printf("%s", t.render().c_str());
}

}  // namespace

Runner add_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  app.add_option("model", a->model, "A .pt written by hfjit trace")->required();
  app.add_option("texts", a->texts, "Texts to run");
  app.add_flag("--describe", a->describe, "Print what the artifact holds (its hfjit/meta.json)");
  app.add_flag("--json", a->json, "JSON output");
  return [a]() {
    if (a->describe) {
      describe(*a);
      return 0;
    }
    throw Error("'run' on text is not implemented in this build yet (issue 6); --describe works");
  };
}

}  // namespace hfjit::cmd
