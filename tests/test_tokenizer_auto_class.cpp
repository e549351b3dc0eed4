// Folders with a SentencePiece model file, no tokenizer.json and no tokenizer_class in
// tokenizer_config.json: the class is AutoTokenizer's, from config.json's tokenizer_class or
// model_type (tests/fixtures/tokenizers/auto_class_configs.json, made by
// scripts/fixtures/make_tokenizer_fixtures.py, holds transformers 5's encodings). The corpus
// sets xlm-roberta-mlm and camembert-mlm also run from sentencepiece.bpe.model + config.json.
// sentencepiece.bpe.model where nothing names a class hfjit builds from it is an error.
#include <catch2/catch.hpp>

#include <map>
#include <nlohmann/json.hpp>

#include "hfjit/error.h"
#include "hfjit/tokenizer.h"
#include "test_tokenizer_util.h"
#include "test_util.h"

using namespace hfjit::test;

namespace {

// The case's model file, with its config.json and tokenizer_config.json where not null.
hfjit::TokenizerFiles files_of(const nlohmann::json& c) {
  const std::string model = c["model"];
  hfjit::TokenizerFiles files = {
      {model.substr(model.find('/') + 1), read_text(fixture("tokenizers/" + model))}};
  if (!c["config"].is_null()) files["config.json"] = c["config"].dump();
  if (!c["tokenizer_config"].is_null())
    files["tokenizer_config.json"] = c["tokenizer_config"].dump();
  return files;
}

}  // namespace

TEST_CASE("SentencePiece without tokenizer_class: the class from config.json, as AutoTokenizer",
          "[tokenizer][parity]") {
  const nlohmann::json& cases = tokenizer_fixture_json("auto_class_configs.json")["cases"];
  REQUIRE(cases.size() >= 10);
  for (const nlohmann::json& c : cases) {
    INFO(c["name"].get<std::string>() << " (" << c["class"].get<std::string>() << ")");
    const auto tok = hfjit::load_tokenizer_from_files(files_of(c), "model/");
    check_config_case(*tok, c);
  }
}

TEST_CASE("sentencepiece.bpe.model without a class hfjit builds from it is an error",
          "[tokenizer][errors]") {
  const std::string head =
      "model/sentencepiece.bpe.model: no tokenizer.json, no tokenizer_class in "
      "tokenizer_config.json and ";
  const std::string tail =
      ": hfjit builds this file as XLMRobertaTokenizer (model_type xlm-roberta, xmod) or "
      "CamembertTokenizer (camembert) only";
  const std::map<std::string, std::string> why = {
      {"no config.json", "no config.json"},
      {"tokenizer_config.json without a class, no config.json", "no config.json"},
      {"config.json without model_type", "no model_type in config.json"},
      {"config.json with model_type bert", "config.json's model_type is 'bert'"},
      {"config.json with model_type mbart", "config.json's model_type is 'mbart'"}};
  const nlohmann::json& errors = tokenizer_fixture_json("auto_class_configs.json")["errors"];
  REQUIRE(errors.size() == why.size());
  for (const nlohmann::json& c : errors) {
    const std::string name = c["name"];
    INFO(name << "; transformers 5: " << c["transformers"].get<std::string>());
    REQUIRE(why.count(name));
    CHECK_THROWS_WITH(hfjit::load_tokenizer_from_files(files_of(c), "model/"),
                      head + why.at(name) + tail);
  }
  CHECK_THROWS_WITH(hfjit::load_tokenizer_from_files(
                        {{"sentencepiece.bpe.model",
                          read_text(fixture("tokenizers/xlm-roberta-mlm/sentencepiece.bpe.model"))},
                         {"config.json", "[1]"}},
                        "model/"),
                    "model/config.json: not a JSON object");
}

TEST_CASE("load_tokenizer reads config.json beside sentencepiece.bpe.model", "[tokenizer]") {
  TempFolder dir;
  for (const char* name : {"sentencepiece.bpe.model", "config.json"})
    write_bytes(dir / name, read_text(fixture(std::string("tokenizers/camembert-mlm/") + name)));
  const auto from_folder = hfjit::load_tokenizer(dir.path().string());
  const auto from_json =
      hfjit::load_tokenizer_from_files(tokenizer_files("camembert-mlm"), "camembert-mlm/");
  const std::string text = "The <mask> sat on the mat. Caf\u00e9 \U0001F600";
  CHECK(canonical(from_folder->encode(text)) == canonical(from_json->encode(text)));
  CHECK(from_folder->vocab_size() == from_json->vocab_size());
}
