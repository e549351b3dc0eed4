// The Llama family beyond the corpus sets llama3-bpe, qwen2-bpe and llama2-spm
// (tests/fixtures/tokenizers/llama_configs.json, made by
// scripts/fixtures/make_tokenizer_fixtures.py): tokenizer.model with other
// tokenizer_config.json files, which transformers 5's LlamaTokenizer builds
// into a BPE pipeline; Llama 2's tokenizer.json as transformers 4 converted it,
// which LlamaTokenizer rebuilds; a Llama 3 tokenizer.json declared
// LlamaTokenizerFast, which AutoTokenizer loads as it is. Every encoding and
// decode against transformers 5; and the special tokens the folders declare.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "hfjit/error.h"
#include "hfjit/tokenizer.h"
#include "test_tokenizer_util.h"
#include "test_util.h"

using namespace hfjit::test;

namespace {

std::unique_ptr<hfjit::Tokenizer> tokenizer_of(const nlohmann::json& c) {
  hfjit::TokenizerFiles files = {{"tokenizer_config.json", c["tokenizer_config"].dump()}};
  if (c["model_file"] == "tokenizer.model") {
    files["tokenizer.model"] = read_text(fixture("tokenizers/llama2-spm/tokenizer.model"));
  } else {
    const nlohmann::json& source = c["tokenizer_json"];
    nlohmann::json tj = nlohmann::json::parse(
        read_text(fixture("tokenizers/" + source["from"].get<std::string>() + "/tokenizer.json")));
    tj.update(source["set"]);
    tj["model"].update(source["model"]);
    files["tokenizer.json"] = tj.dump();
  }
  return hfjit::load_tokenizer_from_files(files, "llama/");
}

}  // namespace

TEST_CASE(
    "Llama tokenizers: tokenizer.model configs, a transformers 4 tokenizer.json and a ByteLevel "
    "one declared LlamaTokenizerFast, as transformers 5 reads them",
    "[tokenizer][parity]") {
  const nlohmann::json& cases = tokenizer_fixture_json("llama_configs.json")["cases"];
  REQUIRE(cases.size() >= 9);
  for (const nlohmann::json& c : cases) {
    INFO(c["name"].get<std::string>() << ": " << c["tokenizer_config"].dump());
    const auto tok = tokenizer_of(c);
    check_config_case(*tok, c);
    for (const nlohmann::json& e : c["encodings"]) {
      if (!e.contains("decode")) continue;
      const std::string text = e["text"][0];
      INFO(nlohmann::json(text).dump());
      const auto ids = tok->encode(text, true).ids;
      CHECK(tok->decode(ids, true) == e["decode"][0].get<std::string>());
      CHECK(tok->decode(ids, false) == e["decode"][1].get<std::string>());
    }
  }
}

TEST_CASE("Llama family folders: bos, eos, pad and unk as tokenizer_config.json declares them",
          "[tokenizer]") {
  struct Want {
    const char* folder;
    bool with_tokenizer_json;
    const char *bos, *eos, *pad, *unk;  // nullptr: none
  };
  for (const Want& w :
       {Want{"llama3-bpe", true, "<|begin_of_text|>", "<|end_of_text|>", nullptr, nullptr},
        // bos_token and unk_token are null in Qwen2's config: no guess from the
        // usual names (<|endoftext|> is one of them).
        Want{"qwen2-bpe", true, nullptr, "<|endoftext|>", "<|endoftext|>", nullptr},
        Want{"llama2-spm", true, "<s>", "</s>", nullptr, "<unk>"},
        Want{"llama2-spm", false, "<s>", "</s>", nullptr, "<unk>"}}) {
    INFO(w.folder << (w.with_tokenizer_json ? " tokenizer.json" : " tokenizer.model"));
    const auto tok = hfjit::load_tokenizer_from_files(
        tokenizer_files(w.folder, w.with_tokenizer_json), std::string(w.folder) + "/");
    const hfjit::SpecialTokenIds& ids = tok->special_tokens();
    auto id = [&](const char* token) {
      return token ? tok->token_to_id(token) : std::optional<int64_t>();
    };
    CHECK(ids.bos == id(w.bos));
    CHECK(ids.eos == id(w.eos));
    CHECK(ids.pad == id(w.pad));
    CHECK(ids.unk == id(w.unk));
    CHECK(!ids.cls);
    CHECK(!ids.sep);
    CHECK(!ids.mask);
  }
}

TEST_CASE("a special token set to null in tokenizer_config.json is not guessed", "[tokenizer]") {
  const std::string tokenizer_json = R"({"model": {"type": "WordLevel", "unk_token": "<unk>",
    "vocab": {"<unk>": 0, "a": 1}}, "added_tokens": [
    {"id": 2, "content": "<|endoftext|>", "special": true}, {"id": 3, "content": "<s>", "special": true}]})";
  auto special = [&](const std::string& config) {
    return hfjit::load_tokenizer_from_files(
               {{"tokenizer.json", tokenizer_json}, {"tokenizer_config.json", config}}, "t/")
        ->special_tokens();
  };
  // Absent: guessed from the usual names; null: none (unless special_tokens_map.json names it).
  CHECK(special("{}").bos == 3);
  CHECK(special(R"({"bos_token": null})").bos == std::nullopt);
  CHECK(special(R"({"bos_token": null, "eos_token": "<s>"})").eos == 3);
  CHECK(special(R"({"unk_token": null})").unk == std::nullopt);
  const auto with_map = hfjit::load_tokenizer_from_files(
      {{"tokenizer.json", tokenizer_json},
       {"tokenizer_config.json", R"({"bos_token": null})"},
       {"special_tokens_map.json", R"({"bos_token": "<|endoftext|>"})"}},
      "t/");
  CHECK(with_map->special_tokens().bos == 2);
}
