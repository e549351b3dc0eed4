#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "hfjit/error.h"
#include "hfjit/io/model_dir.h"
#include "test_util.h"

using namespace hfjit;
namespace fs = std::filesystem;
using hfjit::test::TempFolder;
using hfjit::test::write_bytes;

namespace {

// Sets environment variables for the scope of a test.
struct Env {
  std::vector<std::pair<std::string, std::string>> saved;
  void set(const char* k, const std::string& v) {
    const char* old = std::getenv(k);
    saved.emplace_back(k, old ? old : "\x01");
    if (v.empty())
      ::unsetenv(k);
    else
      ::setenv(k, v.c_str(), 1);
  }
  ~Env() {
    for (auto& [k, v] : saved) {
      if (v == "\x01")
        ::unsetenv(k.c_str());
      else
        ::setenv(k.c_str(), v.c_str(), 1);
    }
  }
};

// A hub cache laid out as huggingface_hub does: models--org--name/{refs,snapshots,blobs}.
void make_cached_model(const fs::path& cache, const std::string& repo, const std::string& ref,
                       const std::string& commit) {
  fs::path root = cache / repo;
  fs::create_directories(root / "refs");
  fs::create_directories(root / "snapshots" / commit);
  fs::create_directories(root / "blobs");
  write_bytes((root / "refs" / ref).string(), commit);
  write_bytes((root / "blobs" / "abc").string(), R"({"model_type":"bert"})");
  fs::create_symlink("../../blobs/abc", root / "snapshots" / commit / "config.json");
}

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

}  // namespace

TEST_CASE("model resolution: a local folder", "[model_dir]") {
  auto d = resolve_model(hfjit::test::fixture("models/bert-mlm"));
  CHECK(d.path == hfjit::test::fixture("models/bert-mlm"));
  CHECK(d.revision.empty());
}

TEST_CASE("model resolution: hub ids found in the cache", "[model_dir]") {
  TempFolder tmp;
  Env env;
  env.set("HF_HUB_CACHE", (tmp.path() / "hub").string());
  env.set("HF_HOME", "");
  env.set("HOME", tmp.path().string());
  make_cached_model(tmp.path() / "hub", "models--org--tiny-bert", "main", kCommit);
  make_cached_model(tmp.path() / "hub", "models--plain", "main", kCommit);
  auto d = resolve_model("org/tiny-bert");
  CHECK(d.path == (tmp.path() / "hub/models--org--tiny-bert/snapshots" / kCommit).string());
  CHECK(d.revision == kCommit);
  CHECK(resolve_model("plain").revision == kCommit);
  // By commit hash, and a branch that does not exist.
  CHECK(resolve_model("org/tiny-bert", kCommit).path == d.path);
  CHECK_THROWS_WITH(resolve_model("org/tiny-bert", "dev"),
                    Catch::Contains("not in the Hugging Face cache at revision dev"));

  SECTION("HF_HOME/hub and ~/.cache/huggingface/hub are searched too") {
    env.set("HF_HUB_CACHE", "");
    env.set("HF_HOME", (tmp.path() / "hfhome").string());
    make_cached_model(tmp.path() / "hfhome/hub", "models--a--b", "main", kCommit);
    CHECK(resolve_model("a/b").revision == kCommit);
    make_cached_model(tmp.path() / ".cache/huggingface/hub", "models--c--d", "main", kCommit);
    CHECK(resolve_model("c/d").revision == kCommit);
  }
}

TEST_CASE("model resolution: errors say where they looked", "[model_dir][errors]") {
  TempFolder tmp;
  Env env;
  env.set("HF_HUB_CACHE", (tmp.path() / "hub").string());
  env.set("HF_HOME", "");
  env.set("HOME", (tmp.path() / "home").string());
  CHECK_THROWS_WITH(
      resolve_model("org/missing"),
      "org/missing: not a local folder and not in the Hugging Face cache at revision main "
      "(looked in " +
          (tmp.path() / "hub/models--org--missing").string() + ", " +
          (tmp.path() / "home/.cache/huggingface/hub/models--org--missing").string() +
          "); hfjit never downloads");
  CHECK_THROWS_WITH(resolve_model("./nope/x/y"),
                    "./nope/x/y: no such folder, and not a hub id (expected org/name)");
  fs::create_directories(tmp.path() / "empty");
  CHECK_THROWS_WITH(resolve_model(tmp / "empty"),
                    tmp / "empty" + ": not a model folder (no config.json)");
  CHECK_THROWS_WITH(resolve_model(hfjit::test::fixture("models/bert-mlm/config.json")),
                    Catch::EndsWith("is a file, expected a model folder or a hub id"));
  CHECK_THROWS_WITH(resolve_model(""), "model: empty name");
}

TEST_CASE("weights: single files, shards and their index", "[model_dir]") {
  auto w = find_weights(hfjit::test::fixture("models/bert-mlm"));
  CHECK(w.format == WeightFormat::Safetensors);
  CHECK(w.files.size() == 1);
  auto s = find_weights(hfjit::test::fixture("models/bert-mlm-sharded"));
  CHECK(s.format == WeightFormat::Safetensors);
  CHECK(s.files.size() >= 2);
  CHECK(!s.index.empty());
  auto b = find_weights(hfjit::test::fixture("models/bert-mlm-sharded-bin"));
  CHECK(b.format == WeightFormat::PytorchBin);
  CHECK(b.files.size() >= 2);
  CHECK(find_weights(hfjit::test::fixture("models/bert-mlm-bin")).format ==
        WeightFormat::PytorchBin);
}

TEST_CASE("weights: bad indexes and missing weights", "[model_dir][errors]") {
  TempFolder tmp;
  const std::string idx = tmp / "model.safetensors.index.json";
  write_bytes(idx, R"({"weight_map": {"a": "../outside.safetensors"}})");
  CHECK_THROWS_WITH(find_weights(tmp.path().string()),
                    idx + ": shard \"../outside.safetensors\" is outside the model folder");
  write_bytes(idx, R"({"weight_map": {"a": "/etc/passwd"}})");
  CHECK_THROWS_WITH(find_weights(tmp.path().string()),
                    idx + ": shard \"/etc/passwd\" is outside the model folder");
  write_bytes(idx, R"({"weight_map": {"a": "model-00001-of-00002.safetensors"}})");
  CHECK_THROWS_WITH(find_weights(tmp.path().string()),
                    idx + ": shard \"model-00001-of-00002.safetensors\" is missing");
  write_bytes(idx, R"({"nope": 1})");
  CHECK_THROWS_WITH(find_weights(tmp.path().string()), idx + ": has no \"weight_map\" object");
  write_bytes(idx, "{");
  CHECK_THROWS_WITH(find_weights(tmp.path().string()), idx + ": is not valid JSON");
  fs::remove(idx);
  CHECK_THROWS_WITH(find_weights(tmp.path().string()),
                    tmp.path().string() +
                        ": no weights found (looked for model.safetensors, "
                        "model.safetensors.index.json, pytorch_model.bin, "
                        "pytorch_model.bin.index.json)");
}
