// DeBERTa-v2/v3 folders other than transformers 5's own save
// (tests/fixtures/tokenizers/deberta_v2_configs.json, made by
// scripts/fixtures/make_tokenizer_fixtures.py): spm.model with other
// tokenizer_config.json files (microsoft/deberta-v3-* name no tokenizer_class),
// and a tokenizer.json as transformers 4 converted it, whose normalizer
// transformers 5 replaces by DebertaV2Tokenizer's. Every encoding, ids to word
// ids, against transformers 5. The corpus set deberta-v2-mlm covers
// transformers 5's own tokenizer.json and tokenizer_config.json.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "hfjit/error.h"
#include "hfjit/tokenizer.h"
#include "test_tokenizer_util.h"
#include "test_util.h"

using namespace hfjit::test;

namespace {

std::unique_ptr<hfjit::Tokenizer> tokenizer_of(const nlohmann::json& c) {
  const std::string dir =
      fixture("tokenizers/" +
              tokenizer_fixture_json("deberta_v2_configs.json")["folder"].get<std::string>());
  hfjit::TokenizerFiles files = {{"tokenizer_config.json", c["tokenizer_config"].dump()}};
  for (const std::string name : c["files"]) {
    if (name == "spm.model") files[name] = read_text(dir + "/spm.model");
    if (name == "tokenizer.json") {
      nlohmann::json tj = nlohmann::json::parse(read_text(dir + "/tokenizer.json"));
      tj["normalizer"] = c["tokenizer_json_normalizer"];
      files[name] = tj.dump();
    }
  }
  return hfjit::load_tokenizer_from_files(files, "deberta/");
}

}  // namespace

TEST_CASE(
    "DeBERTa-v2 tokenizer: spm.model configs and a transformers 4 tokenizer.json as transformers 5 "
    "reads them",
    "[tokenizer][parity]") {
  const nlohmann::json& cases = tokenizer_fixture_json("deberta_v2_configs.json")["cases"];
  REQUIRE(cases.size() >= 5);
  for (const nlohmann::json& c : cases) {
    INFO(c["name"].get<std::string>() << ": " << c["tokenizer_config"].dump());
    const auto tok = tokenizer_of(c);
    check_config_case(*tok, c);
  }
}
