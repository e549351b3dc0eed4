// T5's decode against transformers 5 (tests/fixtures/tokenizers/t5_decode.json, made by
// scripts/fixtures/make_tokenizer_fixtures.py): T5Tokenizer of tests/fixtures/models/t5-lm
// decodes the ids of the first corpus lines with <extra_id_N> sentinels inserted, with and
// without skip_special_tokens. The ids are hfjit's encodings (the t5-lm set checks them on
// every line) with the sentinels inserted as the generator does.
#include <catch2/catch.hpp>

#include <iostream>
#include <nlohmann/json.hpp>

#include "hfjit/tokenizer.h"
#include "test_tokenizer_util.h"
#include "test_util.h"

using namespace hfjit::test;

TEST_CASE("T5: decode with sentinels, skipping special tokens and not, as transformers 5",
          "[tokenizer][t5]") {
  const nlohmann::json& f = tokenizer_fixture_json("t5_decode.json");
  const auto tok = hfjit::load_tokenizer(fixture("models/t5-lm"));
  const int64_t size = f["vocab_size"], extra_ids = f["extra_ids"];
  const bool clean_up = f["clean_up_tokenization_spaces"];
  CHECK(tok->id_to_token(size - 1) == "<extra_id_0>");
  const nlohmann::json& decodes = f["decodes"];
  REQUIRE(decodes.size() >= 300);
  size_t bad = 0;
  for (size_t i = 0; i < decodes.size(); ++i) {
    const std::vector<int64_t> plain = tok->encode(corpus()[i]).ids;
    std::vector<int64_t> ids;  // make_tokenizer_fixtures.py's t5_sentinel_ids
    for (size_t k = 0; k < plain.size(); ++k) {
      if (k % 3 == 0) ids.push_back(size - 1 - static_cast<int64_t>(k / 3) % extra_ids);
      ids.push_back(plain[k]);
    }
    INFO("corpus line " << i);
    for (int skip = 0; skip < 2; ++skip) {
      const std::string want = decodes[i][skip ? 0 : 1];
      const std::string got = tok->decode(ids, skip, clean_up);
      bad += got != want;
      CHECK(got == want);
    }
  }
  std::cout << "t5 decode: " << decodes.size() << " lines x 2, " << bad << " differ" << std::endl;
}
