#include <catch2/catch.hpp>

#include "hfjit/config.h"
#include "hfjit/error.h"
#include "test_util.h"

using namespace hfjit;

TEST_CASE("config: fields, aliases and the raw JSON", "[config]") {
  auto bert = load_config(hfjit::test::fixture("models/bert-mlm"));
  CHECK(bert.model_type == "bert");
  CHECK(bert.architectures == std::vector<std::string>{"BertForMaskedLM"});
  CHECK(bert.hidden_size == 32);
  CHECK(bert.num_hidden_layers == 2);
  CHECK(bert.vocab_size == bert.raw["vocab_size"].get<int64_t>());
  CHECK(bert.get_double("layer_norm_eps", 0) == Approx(1e-12));
  auto gpt2 = load_config(hfjit::test::fixture("models/gpt2-lm"));
  CHECK(gpt2.hidden_size == gpt2.raw["n_embd"].get<int64_t>());
  CHECK(gpt2.num_attention_heads == gpt2.raw["n_head"].get<int64_t>());
  CHECK(gpt2.max_position_embeddings == gpt2.raw["n_positions"].get<int64_t>());
  auto cls = load_config(hfjit::test::fixture("models/bert-seqcls"));
  CHECK(cls.id2label.size() == 3);
  auto c = parse_config(R"({"model_type":"bert","tie_word_embeddings":false,"pad_token_id":0})",
                        "c.json");
  CHECK(c.tie_word_embeddings == false);
  CHECK(c.pad_token_id == 0);
  CHECK(!parse_config(R"({"model_type":"bert"})", "c.json").tie_word_embeddings.has_value());
}

TEST_CASE("config: malformed files name the problem", "[config][errors]") {
  CHECK_THROWS_WITH(parse_config("{", "c.json"), Catch::StartsWith("c.json: is not valid JSON"));
  CHECK_THROWS_WITH(parse_config("[]", "c.json"), "c.json: is not a JSON object");
  CHECK_THROWS_WITH(parse_config("{}", "c.json"), "c.json: has no \"model_type\"");
  CHECK_THROWS_WITH(parse_config(R"({"model_type":"bert","hidden_size":"big"})", "c.json"),
                    "c.json: \"hidden_size\" should be an integer");
  CHECK_THROWS_WITH(parse_config(R"({"model_type":"bert","tie_word_embeddings":1})", "c.json"),
                    "c.json: \"tie_word_embeddings\" should be true or false");
  CHECK_THROWS_WITH(parse_config(R"({"model_type":"bert","id2label":{"x":"A"}})", "c.json"),
                    "c.json: \"id2label\" should be a map of integer ids to label names");
  CHECK_THROWS_WITH(load_config("/nonexistent-dir"), "/nonexistent-dir: no config.json");
  auto c = parse_config(R"({"model_type":"gpt2","n_inner":"x"})", "c.json");
  CHECK_THROWS_WITH(c.get_int("n_inner", 0), "c.json: \"n_inner\" should be an integer");
}
