// XLM-RoBERTa's and CamemBERT's sentencepiece.bpe.model without tokenizer.json,
// with the tokenizer_config.json variants other transformers versions saved
// (tests/fixtures/tokenizers/fairseq_configs.json, made by
// scripts/fixtures/make_tokenizer_fixtures.py): every encoding, ids to word ids,
// against what transformers 5 builds from the same files. The corpus sets
// xlm-roberta-mlm and camembert-mlm cover transformers 5's own tokenizer_config.json.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "hfjit/error.h"
#include "hfjit/tokenizer.h"
#include "test_tokenizer_util.h"
#include "test_util.h"

using namespace hfjit::test;

namespace {

std::unique_ptr<hfjit::Tokenizer> with_config(const nlohmann::json& config) {
  const std::string model = tokenizer_fixture_json("fairseq_configs.json")["model"];
  hfjit::TokenizerFiles files = {
      {"sentencepiece.bpe.model", read_text(fixture("tokenizers/" + model))},
      {"tokenizer_config.json", config.dump()}};
  return hfjit::load_tokenizer_from_files(files, "fairseq/");
}

}  // namespace

TEST_CASE("fairseq SentencePiece: tokenizer_config.json variants as transformers 5 converts them",
          "[tokenizer][parity]") {
  const nlohmann::json& cases = tokenizer_fixture_json("fairseq_configs.json")["cases"];
  REQUIRE(cases.size() >= 10);
  for (const nlohmann::json& c : cases) {
    INFO(c["name"].get<std::string>() << ": " << c["tokenizer_config"].dump());
    const auto tok = with_config(c["tokenizer_config"]);
    check_config_case(*tok, c);
  }
}
