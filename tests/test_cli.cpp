#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hfjit/io/safetensors.h"
#include "test_util.h"

namespace fs = std::filesystem;
using hfjit::test::CliResult;
using hfjit::test::fixture;
using hfjit::test::run_cli;
using hfjit::test::run_program;
using hfjit::test::TempFolder;

namespace {

// One line on stderr: "hfjit: error: <message>\n".
std::string error_line(const CliResult& r) {
  REQUIRE(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  REQUIRE(r.err.rfind("hfjit: error: ", 0) == 0);
  return r.err.substr(14, r.err.size() - 15);
}

// A copy of a fixture model folder whose model.safetensors is replaced by `weights`.
std::string model_with_weights(const TempFolder& tmp, const std::string& weights) {
  fs::create_directories(tmp.path() / "model");
  fs::copy_file(fixture("models/bert-mlm/config.json"), tmp.path() / "model/config.json");
  hfjit::test::write_bytes(tmp / "model/model.safetensors", weights);
  return tmp / "model";
}

}  // namespace

TEST_CASE("cli: --version, --help and bad command lines", "[cli]") {
  CliResult v = run_cli({"--version"});
  CHECK(v.code == 0);
  CHECK_THAT(v.out, Catch::Matches("hfjit [0-9.]+ \\(libtorch [0-9.]+\\)\n"));
  CliResult h = run_cli({"--help"});
  CHECK(h.code == 0);
  for (const char* sub : {"trace", "untie", "run", "bench", "--threads", "--verbose", "--quiet"})
    CHECK_THAT(h.out, Catch::Contains(sub));
  CliResult none = run_cli({});
  CHECK(none.code == 2);
  CHECK_THAT(error_line(none), Catch::Contains("subcommand"));
  CliResult unknown = run_cli({"untie", "x", "--bogus"});
  CHECK(unknown.code == 2);
  CHECK_THAT(error_line(unknown), Catch::Contains("--bogus"));
  CliResult threads = run_cli({"--threads", "-1", "untie", "x"});
  CHECK(threads.code == 2);
  CHECK(run_cli({"untie", "--help"}).code == 0);
}

TEST_CASE("cli: untie prints a table, or JSON", "[cli]") {
  TempFolder tmp;
  CliResult r = run_cli({"untie", fixture("models/bert-mlm"), "-o", tmp / "out"});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains(
                        "cls.predictions.decoder.weight  bert.embeddings.word_embeddings.weight"));
  CHECK_THAT(r.out, Catch::Contains("untied 2 tied tensors"));
  CHECK(fs::exists(tmp / "out/model.safetensors"));

  CliResult j = run_cli({"untie", fixture("models/gpt2-lm"), "-o", tmp / "gpt2", "--json"});
  REQUIRE(j.code == 0);
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc["written"] == true);
  REQUIRE(doc["untied"].size() == 1);
  CHECK(doc["untied"][0]["name"] == "lm_head.weight");
  CHECK(doc["untied"][0]["tied_to"] == "transformer.wte.weight");
  CHECK(doc["untied"][0]["reason"] == "implicit");

  CliResult dry = run_cli({"untie", fixture("models/t5-lm"), "--dry-run"});
  CHECK(dry.code == 0);
  CHECK_THAT(dry.out, Catch::Contains("would untie 3 tied tensors"));
  CliResult nothing = run_cli({"untie", fixture("models/bert-base"), "-o", tmp / "base"});
  CHECK(nothing.code == 0);
  CHECK_THAT(nothing.out, Catch::StartsWith("nothing is tied in"));
}

TEST_CASE("cli: untie bad inputs exit 1 with one line and leave nothing", "[cli][errors]") {
  struct Case {
    const char* what;
    std::string weights;  // model.safetensors contents
    const char* message;  // expected error, after the file name
  };
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string beyond = hfjit::test::safetensors_image("{}", 0);
  beyond[0] = 99;
  const std::vector<Case> cases = {
      {"truncated", "abc", "truncated safetensors file (3 bytes, the header length alone needs 8)"},
      {"header beyond the file", beyond,
       "safetensors header length 99 is beyond the end of the file (10 bytes)"},
      {"header not JSON", hfjit::test::safetensors_image("{oops", 0),
       "safetensors header is not valid JSON"},
      {"unknown dtype",
       hfjit::test::safetensors_image(R"({"a":{"dtype":"X9","shape":[2],"data_offsets":[0,8]}})",
                                      8),
       "tensor \"a\": unsupported dtype \"X9\""},
      {"overlap",
       hfjit::test::safetensors_image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                      12),
       "tensors \"a\" and \"b\" have overlapping data_offsets"},
      {"out of range", hfjit::test::safetensors_image(ok_header, 4),
       "tensor \"a\": data_offsets [0, 8] are out of range (data section is 4 bytes)"},
      {"shape and bytes disagree",
       hfjit::test::safetensors_image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                                      8),
       "tensor \"a\": shape and byte length disagree (3 elements of F32 but 8 bytes)"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    TempFolder tmp;
    std::string model = model_with_weights(tmp, c.weights);
    std::string before = hfjit::test::tree_fingerprint(model);
    CliResult r = run_cli({"untie", model, "-o", tmp / "out"});
    CHECK(r.code == 1);
    CHECK_THAT(error_line(r), Catch::StartsWith(model + "/model.safetensors: " + c.message));
    CHECK_FALSE(fs::exists(tmp / "out"));
    CHECK(hfjit::test::tree_fingerprint(model) == before);
    CHECK(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator{}) == 1);
  }
}

TEST_CASE("cli: untie refuses unsafe or missing inputs and outputs", "[cli][errors]") {
  TempFolder tmp;
  auto expect = [&](const std::vector<std::string>& args, const std::string& message) {
    INFO(message);
    CliResult r =
        run_cli(args, "HF_HUB_CACHE=" + (tmp / "hub") + " HF_HOME= HOME=" + (tmp / "home"));
    CHECK(r.code == 1);
    CHECK_THAT(error_line(r), Catch::Matches(message));
    CHECK_FALSE(fs::exists(tmp / "out"));
  };
  auto bin_model = [&](const char* name, const std::string& bad) {
    fs::create_directories(tmp.path() / name);
    fs::copy_file(fixture("models/bert-mlm/config.json"), tmp.path() / name / "config.json");
    fs::copy_file(fixture("bad/" + bad), tmp.path() / name / "pytorch_model.bin");
    return tmp / name;
  };
  fs::remove("/tmp/hfjit_pwned");
  expect({"untie", bin_model("evil", "os_system.bin"), "-o", tmp / "out"},
         ".*pytorch_model.bin: pickle: global os.system is not allowed in a state dict.*");
  CHECK_FALSE(fs::exists("/tmp/hfjit_pwned"));
  expect({"untie", bin_model("legacy", "legacy.bin"), "-o", tmp / "out"},
         ".*pytorch_model.bin: legacy \\(pre-1.6\\) torch.save format is not supported.*");

  fs::create_directories(tmp.path() / "noconfig");
  expect({"untie", tmp / "noconfig", "-o", tmp / "out"},
         ".*noconfig: not a model folder \\(no config.json\\)");
  fs::create_directories(tmp.path() / "badconfig");
  hfjit::test::write_bytes(tmp / "badconfig/config.json", "{\"model_type\": ");
  expect({"untie", tmp / "badconfig", "-o", tmp / "out"},
         ".*badconfig/config.json: is not valid JSON.*");
  fs::create_directories(tmp.path() / "noweights");
  fs::copy_file(fixture("models/bert-mlm/config.json"), tmp.path() / "noweights/config.json");
  expect({"untie", tmp / "noweights", "-o", tmp / "out"}, ".*noweights: no weights found .*");
  fs::create_directories(tmp.path() / "escape");
  fs::copy_file(fixture("models/bert-mlm/config.json"), tmp.path() / "escape/config.json");
  hfjit::test::write_bytes(tmp / "escape/model.safetensors.index.json",
                           R"({"weight_map":{"w":"../../etc/passwd"}})");
  expect({"untie", tmp / "escape", "-o", tmp / "out"},
         ".*model.safetensors.index.json: shard \"../../etc/passwd\" is outside the model folder");
  expect(
      {"untie", "someorg/not-cached", "-o", tmp / "out"},
      "someorg/not-cached: not a local folder and not in the Hugging Face cache at revision main "
      "\\(looked in .*\\); hfjit never downloads");
  const std::string in = fixture("models/bert-mlm");
  expect({"untie", in, "-o", tmp / "missing/out"},
         ".*missing/out: output folder .*missing does not exist");
  expect({"untie", in, "-o", in}, ".*: output is the input; choose another path");
  // A folder nobody may write to: permissions for a normal user; root ignores them, but not sysfs.
  std::string readonly = "/sys/hfjit-out";
  if (::geteuid() != 0) {
    fs::create_directories(tmp.path() / "ro");
    fs::permissions(tmp.path() / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    readonly = tmp / "ro/out";
  }
  expect({"untie", in, "-o", readonly}, ".*output folder .* is not writable \\(.*\\)");
  expect({"untie", in}, "untie needs an output: -o OUT \\(or --dry-run\\)");
}

TEST_CASE("cli: the front end unties folders without libtorch and hands the rest to hfjit-engine",
          "[cli]") {
  TempFolder tmp;
  const std::string engine = (fs::path(HFJIT_BIN).parent_path() / "hfjit-engine").string();
  REQUIRE(fs::exists(engine));
  // `hfjit` itself does not link libtorch (ldd lists what the loader would map).
  CliResult ldd = run_program("ldd", {HFJIT_BIN});
  REQUIRE(ldd.code == 0);
  CHECK_THAT(ldd.out, Catch::Contains("libc.so"));
  CHECK_THAT(ldd.out, !Catch::Contains("libtorch") && !Catch::Contains("libc10"));

  // A copy of the front end alone: untie of a folder and --version need no engine...
  fs::create_directories(tmp.path() / "alone");
  fs::copy_file(HFJIT_BIN, tmp.path() / "alone/hfjit");
  const std::string alone = tmp / "alone/hfjit";
  CHECK(run_program(alone, {"--version"}).code == 0);
  for (const char* model : {"models/bert-mlm", "models/gpt2-lm-bin"}) {
    INFO(model);
    const std::string name = fs::path(model).filename().string();
    CliResult front = run_program(
        alone, {"-q", "untie", fixture(model), "-o", tmp / ("front-" + name), "--json"});
    REQUIRE(front.code == 0);
    CliResult eng = run_program(
        engine, {"-q", "untie", fixture(model), "-o", tmp / ("engine-" + name), "--json"});
    REQUIRE(eng.code == 0);
    // ...and write exactly what the engine writes, with the same report.
    CHECK(nlohmann::json::parse(front.out)["untied"] == nlohmann::json::parse(eng.out)["untied"]);
    for (const char* file : {"model.safetensors", "config.json"})
      CHECK(hfjit::test::read_bytes(tmp / ("front-" + name + "/" + file)) ==
            hfjit::test::read_bytes(tmp / ("engine-" + name + "/" + file)));
  }
  // ...while everything else is the engine's: without it, one line says so.
  for (std::vector<std::string> args :
       {std::vector<std::string>{"trace", fixture("models/bert-mlm"), "-o", tmp / "t.pt"},
        {"--help"},
        {"untie", fixture("run/plain/plain-bert-seqcls.pt"), "-o", tmp / "u.pt"}}) {
    INFO(args[0]);
    CliResult r = run_program(alone, args);
    CHECK(r.code == 1);
    CHECK_THAT(error_line(r), Catch::StartsWith("cannot find hfjit-engine"));
  }
  CHECK_FALSE(fs::exists(tmp / "t.pt"));
  CHECK_FALSE(fs::exists(tmp / "u.pt"));
}
