// trace --triton (triton.h): the repository entry's files, its config for
// static and --dynamic traces, and bad requests refused before any work.
// tests/interop/check_triton.py checks the config against Triton's own schema.
#include <catch2/catch.hpp>
#include <filesystem>

#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/torchscript_file.h"
#include "hfjit/trace.h"
#include "hfjit/triton.h"
#include "test_util.h"

using namespace hfjit;
using hfjit::test::fixture;
using hfjit::test::run_cli;
using hfjit::test::TempFolder;
namespace fs = std::filesystem;

TEST_CASE("triton: trace --triton writes config.pbtxt, 1/model.pt and the tokenizer files",
          "[triton][cli]") {
  TempFolder tmp;
  auto r = run_cli({"-q", "trace", fixture("models/bert-seqcls"), "-o", tmp / "m.pt",
                    "--max-length", "8", "--batch-size", "2", "--triton", tmp / "repo"});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("Triton model repository entry: " + (tmp / "repo/m")) != std::string::npos);
  const fs::path entry = fs::path(tmp / "repo") / "m";
  for (const char* f : {"config.pbtxt", "1/model.pt", "config.json", "tokenizer.json", "vocab.txt"})
    CHECK(fs::is_regular_file(entry / f));
  // The same artifact, its bytes unchanged.
  CHECK(read_text_file((entry / "1/model.pt").string()) == read_text_file(tmp / "m.pt"));
  const std::string config = read_text_file((entry / "config.pbtxt").string());
  for (const char* line :
       {"name: \"m\"", "platform: \"pytorch_libtorch\"", "max_batch_size: 0", "name: \"input_ids\"",
        "name: \"token_type_ids\"", "dims: [ 2, 8 ]", "name: \"logits__0\"", "data_type: TYPE_FP32",
        "dims: [ 2, 3 ]", "kind: KIND_CPU", "count: 1", "key: \"INFERENCE_MODE\""})
    CHECK_THAT(config, Catch::Contains(line));
  CHECK_THAT(config, !Catch::Contains("dynamic_batching"));

  // --dynamic: Triton batches up to the traced batch size; the length is -1.
  TraceOptions o;
  o.dynamic = true;
  o.batch_size = 4;
  o.max_length = 16;
  trace_model(fixture("models/bert-mlm"), tmp / "d.pt", o);
  TritonOptions t;
  t.repo = tmp / "repo";
  t.name = "bert.mlm-1";
  t.instances = 2;
  CHECK(write_triton_repo(tmp / "d.pt", t) == tmp / "repo/bert.mlm-1");
  const std::string dyn = read_text_file(tmp / "repo/bert.mlm-1/config.pbtxt");
  for (const char* line :
       {"name: \"bert.mlm-1\"", "max_batch_size: 4", "dims: [ -1 ]", "name: \"logits__0\"",
        "dims: [ -1, 480 ]", "dynamic_batching { }", "count: 2"})
    CHECK_THAT(dyn, Catch::Contains(line));
}

TEST_CASE("triton: bad requests fail before any work and leave nothing behind",
          "[triton][cli][errors]") {
  TempFolder tmp;
  const std::string model = fixture("models/bert-seqcls");
  auto fails = [&](std::vector<std::string> extra, const std::string& message) {
    std::vector<std::string> args = {"-q", "trace", model, "-o", tmp / "m.pt", "--max-length", "8"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_cli(args);
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains(message));
    CHECK(!fs::exists(tmp / "m.pt"));  // refused before tracing
  };
  fails({"--triton-name", "x"}, "--triton-name needs --triton REPO");
  fails({"--triton", tmp / "repo", "--triton-name", "../up"}, "is not a model name Triton takes");
  fails({"--triton", tmp / "repo", "--triton-name", ".hidden"}, "is not a model name Triton takes");
  fails({"--triton", tmp / "repo", "--triton-instances", "0"},
        "--triton-instances must be at least 1");
  write_file_atomic(tmp / "file", "x");
  fails({"--triton", tmp / "file"}, "is not a folder");
  CHECK(!fs::exists(tmp / "repo"));

  // An entry that exists is kept unless --force; with --force it is replaced whole.
  fs::create_directories(tmp / "repo/m/1");
  write_file_atomic(tmp / "repo/m/old.txt", "old");
  fails({"--triton", tmp / "repo"}, "repo/m exists; use --force to replace it");
  CHECK(fs::exists(tmp / "repo/m/old.txt"));
  auto r = run_cli({"-q", "trace", model, "-o", tmp / "m.pt", "--max-length", "8", "--triton",
                    tmp / "repo", "--force"});
  REQUIRE(r.code == 0);
  CHECK(!fs::exists(tmp / "repo/m/old.txt"));
  CHECK(fs::is_regular_file(tmp / "repo/m/config.pbtxt"));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp / "repo")) ++entries;
  CHECK(entries == 1);  // no temporary folder left

  // Not an hfjit artifact (a TorchScript file Python wrote), or not TorchScript
  // at all: said, no entry written.
  TritonOptions t;
  t.repo = tmp / "repo2";
  CHECK_THROWS_WITH(write_triton_repo(fixture("foreign/gpt2-lm.pt"), t),
                    Catch::Contains("gpt2-lm.pt: not an hfjit artifact (no hfjit/meta.json)"));
  CHECK_THROWS_WITH(write_triton_repo(tmp / "file", t), Catch::Contains(tmp / "file"));
  CHECK((!fs::exists(tmp / "repo2") || fs::is_empty(tmp / "repo2")));
}

TEST_CASE("triton: outputs Triton cannot return are refused", "[triton][errors]") {
  ArtifactMeta meta;
  meta.hfjit = true;
  meta.inputs = {{"input_ids", "int64", {1, 8}}};
  meta.outputs = {{"logits", "bfloat16", {1, 3}}};
  CHECK_THROWS_WITH(triton_config(meta, "m", 1),
                    "hfjit/meta.json: logits is bfloat16, which Triton's PyTorch backend cannot "
                    "return");
  meta.outputs = {{"logits", "float32", {}}};
  CHECK_THROWS_WITH(triton_config(meta, "m", 1), "hfjit/meta.json: logits has no shape");
  meta.outputs = {{"logits", "float32", {1, 3}}};
  CHECK_THAT(triton_config(meta, "m", 1), Catch::Contains("dims: [ 1, 3 ]"));
}
