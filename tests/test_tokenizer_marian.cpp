// MarianTokenizer (Helsinki-NLP/opus-mt-*) beyond the corpus set marian-spm:
// tests/fixtures/tokenizers/marian_configs.json (made by
// scripts/fixtures/make_tokenizer_fixtures.py) holds marian-spm's files with
// other tokenizer_config.json files (none, extra special tokens, a transformers 4
// added_tokens_decoder, a renamed unk) and with separate_vocabs, and what
// transformers 5's MarianTokenizer gives for a few texts (language codes, special
// tokens in the text, whitespace). Also: loading from a folder and from the files
// a .pt artifact embeds, offsets, and the errors of a broken layout.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "hfjit/error.h"
#include "hfjit/tokenizer.h"
#include "test_tokenizer_util.h"
#include "test_util.h"

using namespace hfjit::test;

namespace {

std::string marian_file(const std::string& name) {
  return read_text(fixture("tokenizers/marian-spm/" + name));
}

// marian-spm's files with a case's tokenizer_config.json and vocabularies.
hfjit::TokenizerFiles case_files(const nlohmann::json& c) {
  hfjit::TokenizerFiles files;
  for (const char* name : {"source.spm", "target.spm", "vocab.json", "config.json"})
    files[name] = marian_file(name);
  if (!c["tokenizer_config"].is_null())
    files["tokenizer_config.json"] = c["tokenizer_config"].dump();
  for (const char* name : {"vocab.json", "target_vocab.json"})
    if (c.contains(name)) files[name] = c[name].get<std::string>();
  return files;
}

std::string load_error(const hfjit::TokenizerFiles& files) {
  try {
    hfjit::load_tokenizer_from_files(files, "opus-mt/");
  } catch (const hfjit::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("Marian: tokenizer_config.json variants and separate_vocabs against transformers 5",
          "[tokenizer][marian]") {
  const nlohmann::json& cases = tokenizer_fixture_json("marian_configs.json")["cases"];
  REQUIRE(cases.size() >= 6);
  for (const nlohmann::json& c : cases) {
    INFO(c["name"].get<std::string>());
    const auto tok = hfjit::load_tokenizer_from_files(case_files(c), "marian/");
    CHECK(tok->vocab_size() == c["vocab_size"].get<size_t>());
    const hfjit::SpecialTokenIds& ids = tok->special_tokens();
    for (const auto& [name, id] : {std::pair{"pad", ids.pad},
                                   {"cls", ids.cls},
                                   {"sep", ids.sep},
                                   {"mask", ids.mask},
                                   {"unk", ids.unk},
                                   {"bos", ids.bos},
                                   {"eos", ids.eos}}) {
      INFO(name << "_token_id");
      const nlohmann::json& want = c["special_ids"][name];
      CHECK(id == (want.is_null() ? std::nullopt : std::optional<int64_t>(want.get<int64_t>())));
    }
    for (const nlohmann::json& e : c["encodings"]) {
      const std::string text = e["text"];
      INFO("text: " << nlohmann::json(text).dump());
      const hfjit::Encoding got = tok->encode(text);
      CHECK(got.ids == e["ids"].get<std::vector<int64_t>>());
      CHECK(got.tokens == e["tokens"].get<std::vector<std::string>>());
      CHECK(got.special_tokens_mask == e["special_tokens_mask"].get<std::vector<int64_t>>());
      if (e["decode"].is_null())
        continue;  // transformers raises IndexError: an id it cannot decode
      CHECK(tok->decode(got.ids, true) == e["decode"][0].get<std::string>());
      CHECK(tok->decode(got.ids, false) == e["decode"][1].get<std::string>());
    }
    const nlohmann::json& pair = c["pair"];
    const hfjit::Encoding got =
        tok->encode_pair(pair["text"][0].get<std::string>(), pair["text"][1].get<std::string>());
    CHECK(got.ids == pair["ids"].get<std::vector<int64_t>>());
    CHECK(got.type_ids == pair["type_ids"].get<std::vector<int64_t>>());
  }
}

TEST_CASE("Marian: a folder, the files a .pt artifact embeds, tokens and ids",
          "[tokenizer][marian]") {
  const std::vector<std::string>& names = hfjit::tokenizer_file_names();
  for (const char* name : {"source.spm", "target.spm", "vocab.json", "target_vocab.json"})
    CHECK(std::find(names.begin(), names.end(), name) != names.end());

  const auto from_dir = hfjit::load_tokenizer(fixture("tokenizers/marian-spm"));
  // What trace.cpp embeds: the tokenizer_file_names() the folder has (no config.json).
  const auto from_files =
      hfjit::load_tokenizer_from_files(tokenizer_files("marian-spm", false), "model.pt:");
  const std::string text = ">>fr<< Hello world </s> and <pad>.";
  CHECK(canonical(from_dir->encode(text)) == canonical(from_files->encode(text)));

  const hfjit::Encoding e = from_files->encode(text);
  REQUIRE(e.size() >= 4);
  CHECK(e.tokens.front() == ">>fr<<");
  CHECK(e.ids.front() == *from_files->token_to_id(">>fr<<"));
  CHECK(e.tokens.back() == "</s>");
  // Offsets (transformers' Python tokenizer has none): the code, each piece's characters as
  // sentencepiece reports them, the special tokens in the text where they are, (0, 0) for the
  // </s> appended.
  CHECK(e.offsets.front() == std::pair<size_t, size_t>{0, 6});
  CHECK(e.offsets.back() == std::pair<size_t, size_t>{0, 0});
  const auto eos_in_text = std::find(e.tokens.begin(), e.tokens.end(), "</s>") - e.tokens.begin();
  CHECK(e.offsets[eos_in_text] == std::pair<size_t, size_t>{19, 23});
  for (size_t i = 1; i + 1 < e.size(); ++i) {
    INFO("token " << i << " " << e.tokens[i]);
    CHECK(e.offsets[i].first < e.offsets[i].second);
    CHECK(e.offsets[i].first >= e.offsets[i - 1].second - (i == 1 ? 0 : 1));
  }

  const hfjit::SpecialTokenIds& ids = from_files->special_tokens();
  const nlohmann::json vocab = nlohmann::json::parse(marian_file("vocab.json"));
  CHECK(ids.eos == vocab["</s>"].get<int64_t>());
  CHECK(ids.unk == vocab["<unk>"].get<int64_t>());
  CHECK(ids.pad == vocab["<pad>"].get<int64_t>());
  CHECK(*ids.pad == static_cast<int64_t>(vocab.size()) - 1);
  CHECK(from_files->id_to_token(*ids.pad) == "<pad>");
  CHECK(from_files->token_to_id("</s>") == 0);
  CHECK(!from_files->token_to_id("not a piece"));
}

TEST_CASE("Marian: a broken layout is a one-line error naming the file", "[tokenizer][marian]") {
  hfjit::TokenizerFiles good;
  for (const char* name : {"source.spm", "target.spm", "vocab.json", "tokenizer_config.json"})
    good[name] = marian_file(name);
  REQUIRE(load_error(good) == "no error");

  auto without = [&](const char* name) {
    hfjit::TokenizerFiles f = good;
    f.erase(name);
    return f;
  };
  auto with = [&](const char* name, const std::string& text) {
    hfjit::TokenizerFiles f = good;
    f[name] = text;
    return f;
  };
  CHECK(
      load_error(without("source.spm")) ==
      "opus-mt/source.spm: missing (MarianTokenizer reads source.spm, target.spm and vocab.json)");
  CHECK(
      load_error(without("target.spm")) ==
      "opus-mt/target.spm: missing (MarianTokenizer reads source.spm, target.spm and vocab.json)");
  CHECK(
      load_error(without("vocab.json")) ==
      "opus-mt/vocab.json: missing (MarianTokenizer reads source.spm, target.spm and vocab.json)");
  // No tokenizer_config.json: target.spm alone is still Marian's layout.
  hfjit::TokenizerFiles only_target = without("source.spm");
  only_target.erase("tokenizer_config.json");
  CHECK(
      load_error(only_target) ==
      "opus-mt/source.spm: missing (MarianTokenizer reads source.spm, target.spm and vocab.json)");

  CHECK(
      load_error(with("vocab.json", R"({"</s>": 0, "a": 1, "<pad>": 2})")) ==
      "opus-mt/vocab.json: no '<unk>' (the unk_token): MarianTokenizer needs it in the vocabulary");
  CHECK(load_error(with("vocab.json", R"({"</s>": 0, "<unk>": "one"})")) ==
        "opus-mt/vocab.json: the id of token '<unk>' is not an integer");
  CHECK(load_error(with("vocab.json", "{")).rfind("opus-mt/vocab.json: malformed JSON: ", 0) == 0);
  const std::string bad_source = load_error(with("source.spm", "not a model"));
  CHECK(bad_source.rfind("opus-mt/source.spm: not a SentencePiece model: ", 0) == 0);
  CHECK(bad_source.find('\n') == std::string::npos);
  CHECK(load_error(with("target.spm", ""))
            .rfind("opus-mt/target.spm: not a SentencePiece model: ", 0) == 0);
  CHECK(load_error(with("tokenizer_config.json", R"({"separate_vocabs": true})")) ==
        "opus-mt/target_vocab.json: missing (tokenizer_config.json sets separate_vocabs)");
}
