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

const nlohmann::json& fairseq_configs() {
  static const nlohmann::json j =
      nlohmann::json::parse(read_text(fixture("tokenizers/fairseq_configs.json")));
  return j;
}

std::unique_ptr<hfjit::Tokenizer> with_config(const nlohmann::json& config) {
  const std::string model = fairseq_configs()["model"];
  hfjit::TokenizerFiles files = {
      {"sentencepiece.bpe.model", read_text(fixture("tokenizers/" + model))},
      {"tokenizer_config.json", config.dump()}};
  return hfjit::load_tokenizer_from_files(files, "fairseq/");
}

}  // namespace

TEST_CASE("fairseq SentencePiece: tokenizer_config.json variants as transformers 5 converts them",
          "[tokenizer][parity]") {
  const nlohmann::json& cases = fairseq_configs()["cases"];
  REQUIRE(cases.size() >= 10);
  for (const nlohmann::json& c : cases) {
    INFO(c["name"].get<std::string>() << ": " << c["tokenizer_config"].dump());
    const auto tok = with_config(c["tokenizer_config"]);
    CHECK(tok->vocab_size() == c["vocab_size"].get<size_t>());
    const hfjit::SpecialTokenIds& ids = tok->special_tokens();
    const nlohmann::json& want = c["special_ids"];
    for (const auto& [name, id] : {std::pair{"pad", ids.pad},
                                   {"cls", ids.cls},
                                   {"sep", ids.sep},
                                   {"mask", ids.mask},
                                   {"unk", ids.unk},
                                   {"bos", ids.bos},
                                   {"eos", ids.eos}}) {
      INFO(name << "_token_id");
      CHECK(id == (want[name].is_null() ? std::nullopt
                                        : std::optional<int64_t>(want[name].get<int64_t>())));
    }
    for (const nlohmann::json& e : c["encodings"]) {
      const std::vector<std::string> text = e["text"];
      INFO(nlohmann::json(text).dump());
      for (bool special : {true, false}) {
        const hfjit::Encoding got = text.size() == 2 ? tok->encode_pair(text[0], text[1], special)
                                                     : tok->encode(text[0], special);
        CHECK(canonical(got) ==
              e.at(special ? "special_true" : "special_false").get<std::string>());
      }
    }
  }
}
