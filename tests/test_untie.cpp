#include <ATen/ATen.h>
#include <torch/script.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hfjit/checkpoint.h"
#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/untie.h"
#include "test_util.h"

using namespace hfjit;
namespace fs = std::filesystem;
using hfjit::test::fixture;
using hfjit::test::TempFolder;

namespace {

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_text_file(path));
}

std::set<std::string> names(const UntieReport& r) {
  std::set<std::string> s;
  for (const auto& u : r.untied) s.insert(u.name);
  return s;
}

}  // namespace

TEST_CASE("untie: a BERT MLM folder", "[untie]") {
  TempFolder tmp;
  const std::string in = fixture("models/bert-mlm");
  const std::string before = hfjit::test::tree_fingerprint(in);
  UntieReport r = untie(in, tmp / "out", {});
  CHECK(r.written);
  CHECK(names(r) ==
        std::set<std::string>{"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"});
  CHECK(hfjit::test::tree_fingerprint(in) == before);

  Checkpoint orig = Checkpoint::load(in);
  Checkpoint out = Checkpoint::load(tmp / "out");
  CHECK(out.files().files == std::vector<std::string>{tmp / "out/model.safetensors"});
  for (const auto& [name, t] : orig.tensors()) CHECK(at::equal(out.at(name), t));
  CHECK(at::equal(out.at("cls.predictions.decoder.weight"),
                  orig.at("bert.embeddings.word_embeddings.weight")));
  CHECK(at::equal(out.at("cls.predictions.decoder.bias"), orig.at("cls.predictions.bias")));
  CHECK(out.at("cls.predictions.decoder.weight").data_ptr() !=
        out.at("bert.embeddings.word_embeddings.weight").data_ptr());
  auto cfg = read_json(tmp / "out/config.json");
  CHECK(cfg["tie_word_embeddings"] == false);
  CHECK(cfg["torchscript"] == true);
  CHECK(cfg["model_type"] == "bert");
  for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json"})
    CHECK(fs::exists(tmp / ("out/" + std::string(f))));
  // Nothing left behind but the output.
  CHECK(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator{}) == 1);
}

TEST_CASE("untie: every weight layout gives the same result", "[untie]") {
  TempFolder tmp;
  untie(fixture("models/bert-mlm"), tmp / "a", {});
  Checkpoint ref = Checkpoint::load(tmp / "a");
  for (const char* variant : {"bert-mlm-bin", "bert-mlm-sharded", "bert-mlm-sharded-bin"}) {
    INFO(variant);
    UntieReport r = untie(fixture(std::string("models/") + variant), tmp / variant, {});
    CHECK(r.untied.size() == 2);
    Checkpoint c = Checkpoint::load(tmp / variant);
    CHECK(c.tensors().size() == ref.tensors().size());
    for (const auto& [name, t] : ref.tensors()) {
      REQUIRE(c.contains(name));
      CHECK(at::equal(c.at(name), t));
    }
    CHECK_FALSE(fs::exists(tmp / (std::string(variant) + "/pytorch_model.bin")));
    CHECK_FALSE(fs::exists(tmp / (std::string(variant) + "/model.safetensors.index.json")));
  }
}

TEST_CASE("untie: each family's ties", "[untie]") {
  TempFolder tmp;
  auto untied = [&](const std::string& m) {
    return names(untie(fixture("models/" + m), tmp / m, {}));
  };
  CHECK(untied("gpt2-lm") == std::set<std::string>{"lm_head.weight"});
  CHECK(untied("gpt2-lm-bin") == std::set<std::string>{"lm_head.weight"});
  CHECK(untied("roberta-mlm") ==
        std::set<std::string>{"lm_head.decoder.weight", "lm_head.decoder.bias"});
  CHECK(untied("albert-mlm") ==
        std::set<std::string>{"predictions.decoder.weight", "predictions.decoder.bias"});
  CHECK(untied("distilbert-mlm") == std::set<std::string>{"vocab_projector.weight"});
  CHECK(untied("electra-generator") == std::set<std::string>{"generator_lm_head.weight"});
  CHECK(untied("t5-lm") == std::set<std::string>{"encoder.embed_tokens.weight",
                                                 "decoder.embed_tokens.weight", "lm_head.weight"});
  // The Llama family: Qwen2's and this Llama 2's lm_head are tied, the other Llamas' are not.
  CHECK(untied("qwen2-lm") == std::set<std::string>{"lm_head.weight"});
  CHECK(untied("llama2-lm-spm") == std::set<std::string>{"lm_head.weight"});
  CHECK(untied("llama-lm").empty());
  CHECK(untied("mistral-lm").empty());
  CHECK(untied("bert-base").empty());
  CHECK(untied("bert-seqcls").empty());
}

TEST_CASE("untie: tie_word_embeddings false keeps the decoder its own", "[untie]") {
  TempFolder tmp;
  fs::create_directories(tmp.path() / "m");
  for (const auto& e : fs::directory_iterator(fixture("models/gpt2-lm")))
    fs::copy_file(e.path(), tmp.path() / "m" / e.path().filename());
  auto cfg = read_json(tmp / "m/config.json");
  cfg["tie_word_embeddings"] = false;
  std::ofstream(tmp / "m/config.json") << cfg.dump();
  // The file lacks lm_head.weight, so nothing can be untied: transformers would init it randomly.
  CHECK(untie(tmp / "m", tmp / "out", {}).untied.empty());
}

TEST_CASE("untie: dry run writes nothing", "[untie]") {
  TempFolder tmp;
  UntieOptions o;
  o.dry_run = true;
  UntieReport r = untie(fixture("models/t5-lm"), tmp / "out", o);
  CHECK(r.untied.size() == 3);
  CHECK_FALSE(r.written);
  CHECK(fs::is_empty(tmp.path()));
}

TEST_CASE("untie: refuses outputs that would clobber", "[untie][errors]") {
  TempFolder tmp;
  const std::string in = fixture("models/bert-mlm");
  CHECK_THROWS_WITH(untie(in, in, {}), in + ": output is the input; choose another path");
  CHECK_THROWS_WITH(untie(in, in + "/sub", {}),
                    in + "/sub: output is inside the input folder " + in);
  CHECK_THROWS_WITH(untie(in, tmp / "no/such/out", {}), tmp / "no/such/out" + ": output folder " +
                                                            (tmp / "no/such") + " does not exist");
  fs::create_directories(tmp.path() / "exists");
  CHECK_THROWS_WITH(untie(in, tmp / "exists", {}),
                    tmp / "exists" + ": already exists (use --force to replace it)");
  UntieOptions force;
  force.force = true;
  CHECK(untie(in, tmp / "exists", force).written);
  CHECK(fs::exists(tmp / "exists/model.safetensors"));
}

TEST_CASE("untie: a TorchScript file with shared parameters", "[untie]") {
  TempFolder tmp;
  torch::jit::Module m("Tied");
  at::Tensor w = at::randn({4, 3});
  m.register_parameter("embed", w, false);
  m.register_parameter("decoder", w, false);
  torch::jit::Module sub("Sub");
  sub.register_parameter("weight", w, false);
  m.register_module("head", sub);
  m.register_parameter("alone", at::randn({2}), false);
  m.save(tmp / "tied.pt", {{"hfjit/meta.json", "{\"x\":1}"}});

  UntieReport r = untie(tmp / "tied.pt", tmp / "untied.pt", {});
  CHECK(r.kind == "torchscript");
  CHECK(r.untied.size() == 2);
  torch::jit::ExtraFilesMap extra{{"hfjit/meta.json", ""}};
  auto loaded = torch::jit::load(tmp / "untied.pt", at::kCPU, extra);
  CHECK(extra["hfjit/meta.json"] == "{\"x\":1}");
  at::Tensor e = loaded.attr("embed").toTensor();
  at::Tensor d = loaded.attr("decoder").toTensor();
  at::Tensor h = loaded.attr("head").toModule().attr("weight").toTensor();
  CHECK(at::equal(e, w));
  CHECK(at::equal(d, w));
  CHECK(at::equal(h, w));
  CHECK(e.data_ptr() != d.data_ptr());
  CHECK(e.data_ptr() != h.data_ptr());
  CHECK(d.data_ptr() != h.data_ptr());

  // Untying an untied file finds nothing.
  CHECK(untie(tmp / "untied.pt", tmp / "again.pt", {}).untied.empty());
  CHECK_THROWS_WITH(untie(fixture("bad/not_a_zip.bin"), tmp / "x.pt", {}),
                    fixture("bad/not_a_zip.bin") + ": not a TorchScript file (not a zip archive)");
  CHECK_THROWS_WITH(
      untie(fixture("models/bert-mlm-bin/pytorch_model.bin"), tmp / "x.pt", {}),
      Catch::EndsWith("not a TorchScript file (a zip without TorchScript code; torch.save "
                      "checkpoints are not TorchScript)"));
  CHECK_FALSE(fs::exists(tmp / "x.pt"));
}
