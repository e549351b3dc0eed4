// TorchScript files that Python torch 2.15 wrote (scripts/fixtures/make_foreign_fixtures.py):
// a transformers 5 BertModel traced with strict=False (dict outputs), a
// GPT2LMHeadModel with use_cache=False, a torch.jit.script module. hfjit
// loads them with the outputs Python computed, and run, bench and untie take
// them.

#include <catch2/catch.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hfjit/checkpoint.h"
#include "hfjit/cpu_kernels.h"
#include "hfjit/io/file.h"
#include "hfjit/torchscript_file.h"
#include "test_util.h"

namespace hfjit::test {
namespace {

using json = nlohmann::json;

std::string foreign(const std::string& name) {
  return fixture("foreign/" + name);
}

// forward(reference inputs), its outputs by the README's names (a dict, a tuple or a tensor).
std::map<std::string, at::Tensor> forward_by_name(torch::jit::Module& m, const Checkpoint& ref,
                                                  const json& spec) {
  std::vector<c10::IValue> args;
  auto schema = m.get_method("forward").function().getSchema();
  for (const auto& a : schema.arguments())
    if (a.name() != "self") args.emplace_back(ref.at(a.name()));
  const c10::IValue out = m.forward(args);
  std::map<std::string, at::Tensor> got;
  if (out.isGenericDict()) {
    for (const auto& kv : out.toGenericDict()) got[kv.key().toStringRef()] = kv.value().toTensor();
  } else if (out.isTuple()) {
    const auto& el = out.toTupleRef().elements();
    for (size_t i = 0; i < el.size(); ++i) got[spec["outputs"][i]["name"]] = el[i].toTensor();
  } else {
    got[spec["outputs"][0]["name"]] = out.toTensor();
  }
  return got;
}

// A number's worth of JSON: every float in `a` within `atol` of `b`'s.
double max_json_diff(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return std::abs(a.get<double>() - b.get<double>());
  if (a.is_array() && b.is_array() && a.size() == b.size()) {
    double d = 0;
    for (size_t i = 0; i < a.size(); ++i) d = std::max(d, max_json_diff(a[i], b[i]));
    return d;
  }
  if (a.is_object() && b.is_object() && a.size() == b.size()) {
    double d = 0;
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key())) return 1e9;
      d = std::max(d, max_json_diff(*it, b[it.key()]));
    }
    return d;
  }
  return a == b ? 0 : 1e9;
}

}  // namespace

TEST_CASE("foreign: Python torch 2.15's files load with Python's outputs", "[foreign]") {
  const json readme = json::parse(read_text_file(foreign("README.json")));
  for (const char* name : {"bert-dict", "gpt2-lm", "scripted-classifier"}) {
    INFO(name);
    const json& spec = readme["files"][std::string(name) + ".pt"];
    const Checkpoint ref =
        Checkpoint::load_file(foreign(std::string(name) + ".reference.safetensors"));
    // As loaded, and with run's oneDNN Linear rewrite (cpu_kernels.h: these graphs
    // call submodules, and a scripted class's method is shared by its instances).
    for (LinearKernel kernel : {LinearKernel::Aten, LinearKernel::OneDnn}) {
      INFO((kernel == LinearKernel::Aten ? "aten" : "onednn"));
      TorchScriptFile ts = TorchScriptFile::load(foreign(std::string(name) + ".pt"));
      ts.module.eval();
      const CpuKernels k = select_cpu_kernels(ts.module, kernel, 8);
      if (kernel == LinearKernel::OneDnn && std::string(name) != "gpt2-lm") CHECK(k.linears > 0);
      c10::InferenceMode guard;
      const auto got = forward_by_name(ts.module, ref, spec);
      REQUIRE(got.size() == spec["outputs"].size());
      for (const auto& o : spec["outputs"]) {
        const std::string out = o["name"];
        INFO(out);
        REQUIRE(got.count(out));
        REQUIRE(got.at(out).sizes() == ref.at(out).sizes());
        CHECK((got.at(out) - ref.at(out)).abs().max().item<double>() <= 1e-5);
      }
    }
  }
}

TEST_CASE("foreign: run a transformers 5 trace with dict outputs as hfjit's own trace runs",
          "[foreign][run]") {
  // The same weights (models/bert-base) traced by hfjit: both runs must agree.
  TempFolder tmp;
  const std::string own = tmp / "own.pt";
  REQUIRE(run_cli({"-q", "trace", fixture("models/bert-base"), "-o", own, "--max-length", "12",
                   "--batch-size", "2"})
              .code == 0);
  const std::vector<std::string> texts = {"the cat sat on the mat", "a dog"};
  std::vector<std::string> theirs = {"run",          foreign("bert-dict.pt"),
                                     "--task",       "feature-extraction",
                                     "--tokenizer",  fixture("models/bert-base"),
                                     "--batch-size", "2",
                                     "--max-length", "12",
                                     "--json"};
  std::vector<std::string> ours = {"run", own, "--json"};
  theirs.insert(theirs.end(), texts.begin(), texts.end());
  ours.insert(ours.end(), texts.begin(), texts.end());
  const CliResult a = run_cli(theirs), b = run_cli(ours);
  INFO(a.err << b.err);
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  REQUIRE(a.out.size() > 100);
  std::istringstream la(a.out), lb(b.out);
  std::string x, y;
  size_t lines = 0;
  while (std::getline(la, x) && std::getline(lb, y)) {
    CHECK(max_json_diff(json::parse(x), json::parse(y)) <= 1e-5);
    ++lines;
  }
  CHECK(lines == texts.size());
}

TEST_CASE("foreign: run generates with a GPT-2 trace and classifies with a scripted module",
          "[foreign][run]") {
  CliResult r = run_cli({"run", foreign("gpt2-lm.pt"), "--task", "text-generation", "--tokenizer",
                         fixture("models/gpt2-lm"), "--batch-size", "2", "--max-length", "12",
                         "--max-new-tokens", "3", "--json", "hello world"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(json::parse(r.out)[0]["generated_text"].get<std::string>().rfind("hello world", 0) == 0);
  r = run_cli({"run", foreign("scripted-classifier.pt"), "--task", "text-classification",
               "--tokenizer", fixture("models/bert-seqcls"), "--batch-size", "2", "--max-length",
               "12", "--json", "a short one"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const json j = json::parse(r.out);  // as the pipeline: a list of the top labels
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 1);
  // The labels come from the tokenizer folder's config.json (bert-seqcls: negative/positive).
  CHECK((j[0]["label"] == "positive" || j[0]["label"] == "negative"));
  CHECK(j[0]["score"].get<double>() > 0);
  CHECK(j[0]["score"].get<double>() <= 1);
}

TEST_CASE("foreign: bench times a plain TorchScript file at the shape asked", "[foreign][bench]") {
  CliResult r = run_cli({"bench", foreign("bert-dict.pt"), "--batch-sizes", "2", "--lengths", "12",
                         "--iterations", "2", "--warmup", "1", "--json"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const json p = json::parse(r.out.substr(0, r.out.find('\n')));
  CHECK(p["mode"] == "torchscript");
  CHECK(p["batch_size"] == 2);
  CHECK(p["length"] == 12);
  CHECK(p["p50_ms"].get<double>() > 0);
  // A scripted module takes any shape; a shape a trace cannot take gets libtorch's reason in one
  // line.
  r = run_cli({"bench", foreign("scripted-classifier.pt"), "--batch-sizes", "3", "--lengths", "7",
               "--iterations", "2", "--warmup", "0", "--json"});
  INFO(r.err);
  CHECK(r.code == 0);
}

TEST_CASE("foreign: untie clones GPT-2's tied lm_head in a Python trace", "[foreign][untie]") {
  TempFolder tmp;
  const std::string out = tmp / "untied.pt";
  const CliResult r = run_cli({"untie", foreign("gpt2-lm.pt"), "-o", out});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("lm_head.weight") != std::string::npos);
  TorchScriptFile before = TorchScriptFile::load(foreign("gpt2-lm.pt"));
  TorchScriptFile after = TorchScriptFile::load(out);
  auto storage_of = [](torch::jit::Module& m, const std::string& name) {
    for (const auto& p : m.named_parameters(true))
      if (p.name == name) return p.value.storage().data();
    FAIL("no parameter " << name);
    return static_cast<const void*>(nullptr);
  };
  CHECK(storage_of(before.module, "lm_head.weight") ==
        storage_of(before.module, "transformer.wte.weight"));
  CHECK(storage_of(after.module, "lm_head.weight") !=
        storage_of(after.module, "transformer.wte.weight"));
  // Same outputs.
  const json readme = json::parse(read_text_file(foreign("README.json")));
  const Checkpoint ref = Checkpoint::load_file(foreign("gpt2-lm.reference.safetensors"));
  c10::InferenceMode guard;
  const auto got = forward_by_name(after.module, ref, readme["files"]["gpt2-lm.pt"]);
  CHECK((got.at("logits") - ref.at("logits")).abs().max().item<double>() <= 1e-5);
}

}  // namespace hfjit::test

namespace hfjit::test {

TEST_CASE("run --query: errors are one line each", "[foreign][errors]") {
  // --query needs sentence embeddings, and a ranking is not a .npy.
  TempFolder tmp;
  const std::string pt = tmp / "mlm.pt";
  REQUIRE(
      run_cli({"-q", "trace", fixture("models/bert-mlm"), "-o", pt, "--max-length", "16"}).code ==
      0);
  CliResult r = run_cli({"run", pt, "--query", "a cat", "the dog"});
  CHECK(r.code == 1);
  CHECK(r.err.find("--query ranks inputs by their sentence embeddings: it needs --task "
                   "sentence-embedding") != std::string::npos);
  r = run_cli({"run", foreign("bert-dict.pt"), "--task", "sentence-embedding", "--tokenizer",
               fixture("models/bert-base"), "--batch-size", "2", "--max-length", "12", "--query",
               "a cat", "--output", tmp / "out.npy", "the dog"});
  CHECK(r.code == 1);
  CHECK(r.err.find("--query prints a ranking: give a .jsonl --output, not .npy") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp / "out.npy"));
}

}  // namespace hfjit::test
