// A .pt is code: run and bench check every operator a file's code calls
// against the pure-compute list before calling anything (graph_check.h).
// The crafted archives come from scripts/fixtures/make_foreign_fixtures.py.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "hfjit/graph_check.h"
#include "hfjit/torchscript_file.h"
#include "test_util.h"

namespace hfjit::test {
namespace {

using json = nlohmann::json;

std::string crafted(const std::string& name) {
  return fixture("foreign/crafted/" + name);
}

// One line on stderr, exit 1, naming what it must.
void check_refused(const CliResult& r, const std::vector<std::string>& names) {
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("hfjit: error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  for (const auto& n : names) CHECK(r.err.find(n) != std::string::npos);
}

}  // namespace

TEST_CASE("trust: a file that calls aten::from_file is refused by run and bench", "[trust]") {
  const std::string pt = crafted("from_file.pt");
  const std::vector<std::string> names = {pt, "aten::from_file", "ReadsAFile.forward", "--trust"};
  check_refused(
      run_cli({"run", pt, "--task", "feature-extraction", "--tokenizer",
               fixture("models/bert-base"), "--batch-size", "1", "--max-length", "8", "hello"}),
      names);
  check_refused(run_cli({"bench", pt, "--iterations", "1", "--warmup", "0"}), names);
}

TEST_CASE("trust: a forged hfjit/meta.json does not skip the check", "[trust]") {
  const std::string pt = crafted("forged_meta_from_file.pt");
  check_refused(run_cli({"run", pt, "hello"}), {pt, "aten::from_file", "--trust"});
  check_refused(run_cli({"bench", pt, "--iterations", "1", "--warmup", "0"}),
                {pt, "aten::from_file", "--trust"});
  // The same forged metadata around a pure graph passes the check: the graph
  // is what is judged, not what the metadata claims.
  const auto ops = list_operators(TorchScriptFile::load(crafted("forged_meta.pt")).module);
  REQUIRE_FALSE(ops.empty());
  for (const auto& u : ops) CHECK(u.allowed);
}

TEST_CASE("trust: code libtorch would run while loading (__setstate__) is refused before the load",
          "[trust]") {
  const std::string pt = crafted("setstate.pt");
  const std::vector<std::string> names = {pt, "__setstate__", "ReadsAFileOnLoad", "--trust"};
  check_refused(
      run_cli({"run", pt, "--task", "feature-extraction", "--tokenizer",
               fixture("models/bert-base"), "--batch-size", "1", "--max-length", "8", "hello"}),
      names);
  check_refused(run_cli({"bench", pt, "--iterations", "1", "--warmup", "0"}), names);
  TempFolder tmp;
  check_refused(run_cli({"untie", pt, "-o", tmp / "out.pt"}), names);
  CHECK_FALSE(std::filesystem::exists(tmp / "out.pt"));
  // With --trust the load goes ahead (and then its forward, which is pure, is allowed).
  CHECK(run_cli({"untie", pt, "-o", tmp / "out.pt", "--trust"}).code == 0);
  CHECK_THROWS_WITH(TorchScriptFile::load(pt), Catch::Contains("__setstate__"));
}

TEST_CASE("trust: an operator libtorch does not know is named in one line", "[trust]") {
  const std::string pt = crafted("custom_op.pt");
  const CliResult r =
      run_cli({"run", pt, "--task", "feature-extraction", "--tokenizer",
               fixture("models/bert-base"), "--batch-size", "1", "--max-length", "8", "hello"});
  check_refused(r, {pt, "cannot load TorchScript", "hfjit_evil::exfiltrate"});
  check_refused(run_cli({"bench", pt}), {pt, "hfjit_evil::exfiltrate"});
}

TEST_CASE("trust: --trust runs past the check", "[trust]") {
  const std::string pt = crafted("from_file.pt");
  const CliResult r =
      run_cli({"run", pt, "--trust", "--task", "feature-extraction", "--tokenizer",
               fixture("models/bert-base"), "--batch-size", "1", "--max-length", "8", "hello"});
  INFO(r.err);
  // Whatever the file does then, the check did not stop it.
  CHECK(r.err.find("pure-compute") == std::string::npos);
}

TEST_CASE("trust: --describe lists the operators and the verdict", "[trust][describe]") {
  const std::string pt = crafted("from_file.pt");
  CliResult r = run_cli({"run", pt, "--describe"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("no hfjit/meta.json") != std::string::npos);
  CHECK(r.out.find("1 off the pure-compute list") != std::string::npos);
  CHECK(r.out.find("aten::from_file") != std::string::npos);
  r = run_cli({"run", pt, "--describe", "--json"});
  REQUIRE(r.code == 0);
  const json j = json::parse(r.out);
  CHECK(j["hfjit_meta"].is_null());
  bool seen = false;
  for (const auto& op : j["operators"]) {
    if (op["op"] == "aten::from_file") {
      seen = true;
      CHECK(op["allowed"] == false);
    } else {
      CHECK(op["allowed"] == true);
    }
  }
  CHECK(seen);
  // A file libtorch cannot load: the reason instead of the list.
  r = run_cli({"run", crafted("custom_op.pt"), "--describe", "--json"});
  REQUIRE(r.code == 0);
  CHECK(json::parse(r.out)["operators"]["error"].get<std::string>().find(
            "hfjit_evil::exfiltrate") != std::string::npos);
}

TEST_CASE("trust: Python torch 2.15's traces and scripts of transformers models pass", "[trust]") {
  for (const char* name :
       {"foreign/bert-dict.pt", "foreign/gpt2-lm.pt", "foreign/scripted-classifier.pt"}) {
    INFO(name);
    const auto ts = TorchScriptFile::load(fixture(name));
    CHECK_NOTHROW(check_pure_compute(ts.module, name));
  }
}

TEST_CASE("trust: every .pt hfjit writes passes, levers and shapes included", "[trust]") {
  TempFolder tmp;
  struct Case {
    const char* model;
    std::vector<std::string> flags;
  };
  const std::vector<Case> cases = {
      {"bert-mlm", {}},
      {"bert-base", {"--optimize"}},
      {"roberta-seqcls", {"--dynamic"}},
      {"distilbert-seqcls", {"--quantize", "int8"}},
      {"albert-mlm", {"--lengths", "8,16"}},
      {"electra-discriminator", {}},
      {"gpt2-lm", {"--dtype", "bfloat16", "--allow-slow-bf16"}},
      {"gpt2-seqcls", {"--dynamic"}},
  };
  for (const Case& c : cases) {
    const std::string out = (tmp / (std::string(c.model) + ".pt"));
    std::vector<std::string> args = {
        "-q", "trace", fixture(std::string("models/") + c.model), "-o", out, "--max-length", "32"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    const CliResult r = run_cli(args);
    INFO(c.model << " " << r.err);
    REQUIRE(r.code == 0);
    // libtorch's own warnings (its deprecation notice on int8) go to hfjit's log, not raw to
    // stderr.
    CHECK(r.err.find("Quantizer.cpp") == std::string::npos);
    CHECK(r.err.find("deprecated") == std::string::npos);
    const auto ops = list_operators(TorchScriptFile::load(out).module);
    REQUIRE_FALSE(ops.empty());
    for (const auto& u : ops) {
      INFO(u.op << " in " << u.function);
      CHECK(u.allowed);
    }
  }
}

}  // namespace hfjit::test
