// Bad input: invalid UTF-8, empty and huge texts, missing or malformed files.
// Each error must be an hfjit::Error naming the file or input at fault.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "hfjit/error.h"
#include "hfjit/tokenizer.h"
#include "hfjit/tokenizers/loaders.h"
#include "hfjit/tokenizers/unicode.h"
#include "test_tokenizer_util.h"
#include "test_util.h"

using namespace hfjit::test;
using Catch::Matchers::Contains;

namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::unique_ptr<hfjit::Tokenizer> plain(const std::string& folder) {
  auto t = hfjit::load_tokenizer_from_files(tokenizer_files(folder), folder + "/");
  t->set_padding(std::nullopt);
  t->set_truncation(std::nullopt);
  return t;
}

// load_tokenizer_from_files with one file replaced (or removed when contents is empty).
std::string load_error(hfjit::TokenizerFiles files, const std::string& name,
                       const std::string& contents, bool remove = false) {
  if (remove)
    files.erase(name);
  else
    files[name] = contents;
  try {
    hfjit::load_tokenizer_from_files(files, "model/");
  } catch (const hfjit::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("invalid UTF-8 becomes U+FFFD, as Python's decode(errors='replace')",
          "[tokenizer][errors]") {
  const auto cases = nlohmann::json::parse(read_text(fixture("tokenizers/invalid_utf8.json")));
  REQUIRE(cases.size() >= 10);
  auto minilm = plain("minilm");
  auto bpe = plain("bytelevel-bpe");
  for (const auto& c : cases) {
    const std::string raw = from_hex(c["hex"]);
    INFO("bytes " << c["hex"].get<std::string>());
    CHECK(hfjit::tokenizers::sanitize_utf8(raw) == c["decoded"].get<std::string>());
    CHECK(canonical(minilm->encode(raw)) == c["minilm"].get<std::string>());
    CHECK(canonical(bpe->encode(raw)) == c["bytelevel-bpe"].get<std::string>());
  }
}

TEST_CASE("empty text: only the special tokens", "[tokenizer][errors]") {
  auto minilm = plain("minilm");
  const auto e = minilm->encode("");
  CHECK(e.ids == std::vector<int64_t>{101, 102});
  CHECK(minilm->encode("", false).size() == 0);
  CHECK(minilm->encode_pair("", "").ids == std::vector<int64_t>{101, 102, 102});
  CHECK(minilm->decode({}) == "");
  auto spm = hfjit::tokenizers::sentencepiece_tokenizer(
      read_text(fixture("tokenizers/spm-unigram/spiece.model")), "x");
  CHECK(spm->encode("").size() == 0);
}

TEST_CASE("a 1 MB line encodes in linear time", "[tokenizer][errors]") {
  // Words, a 1 MB word with no space, and 1 MB of spaces: each must come back
  // (a quadratic step would make this test take minutes).
  std::string words;
  while (words.size() < (1u << 20))
    words += "tokenization of caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 12,345! ";
  const std::string one_word(1u << 20, 'a');
  const std::string spaces = std::string(1u << 20, ' ') + "x";
  for (const char* folder : {"minilm", "bytelevel-bpe", "spm-unigram", "spm-bpe", "albert-mlm"}) {
    INFO(folder);
    auto tok = plain(folder);
    const auto e = tok->encode(words);
    CHECK(e.size() > 100000);
    CHECK(e.offsets[e.size() - 2].second <= hfjit::tokenizers::count_chars(words));
    CHECK(tok->encode(one_word).size() >= 1);
    CHECK(tok->encode(spaces).size() >= 1);
  }
  auto spm = hfjit::tokenizers::sentencepiece_tokenizer(
      read_text(fixture("tokenizers/spm-unigram/spiece.model")), "x");
  CHECK(spm->encode(words).size() > 100000);
}

TEST_CASE("missing tokenizer files", "[tokenizer][errors]") {
  CHECK_THROWS_WITH(hfjit::load_tokenizer_from_files({}, "model/"),
                    Contains("model/: no tokenizer files"));
  CHECK_THROWS_WITH(hfjit::load_tokenizer("/nonexistent/folder"),
                    Contains("/nonexistent/folder: not a folder"));
  TempFolder empty;
  CHECK_THROWS_WITH(hfjit::load_tokenizer(empty.path().string()), Contains("no tokenizer files"));
  const auto bpe = tokenizer_files("gpt2-lm", false);
  CHECK_THAT(load_error(bpe, "merges.txt", "", true), Contains("model/merges.txt: missing"));
}

TEST_CASE("malformed tokenizer.json", "[tokenizer][errors]") {
  const auto files = tokenizer_files("bert-mlm");
  CHECK_THAT(load_error(files, "tokenizer.json", "{\"model\": "),
             Contains("model/tokenizer.json: malformed JSON"));
  CHECK_THAT(load_error(files, "tokenizer.json", "[]"),
             Contains("model/tokenizer.json: not a JSON object"));
  CHECK_THAT(load_error(files, "tokenizer.json", "{}"),
             Contains("model/tokenizer.json: \"model\" is missing"));
  auto j = nlohmann::json::parse(files.at("tokenizer.json"));
  auto with = [&](const std::string& key, const nlohmann::json& value) {
    auto k = j;
    k[key] = value;
    return load_error(files, "tokenizer.json", k.dump());
  };
  CHECK_THAT(with("normalizer", {{"type", "Fancy"}}),
             Contains("model/tokenizer.json: unknown normalizer type 'Fancy'"));
  CHECK_THAT(with("pre_tokenizer", {{"type", "UnicodeScripts"}}),
             Contains("unknown pre_tokenizer type 'UnicodeScripts'"));
  CHECK_THAT(with("decoder", {{"type", "Nope"}}), Contains("unknown decoder type 'Nope'"));
  CHECK_THAT(with("post_processor", {{"type", "Nope"}}),
             Contains("unknown post_processor type 'Nope'"));
  CHECK_THAT(with("pre_tokenizer", {{"type", "Split"},
                                    {"pattern", {{"Regex", "(unclosed"}}},
                                    {"behavior", "Isolated"},
                                    {"invert", false}}),
             Contains("regex '(unclosed' does not compile"));
  CHECK_THAT(with("normalizer", {{"type", "Precompiled"}, {"precompiled_charsmap", "AAAA"}}),
             Contains("precompiled_charsmap"));
  CHECK_THAT(with("normalizer", {{"type", "Precompiled"}, {"precompiled_charsmap", "!!"}}),
             Contains("invalid base64"));
  auto model = j["model"];
  model["type"] = "Mystery";
  CHECK_THAT(with("model", model), Contains("unknown model type 'Mystery'"));
  model = j["model"];
  model["vocab"] = {{"a", "one"}};
  CHECK_THAT(with("model", model),
             Contains("WordPiece model: the id of token 'a' is not an integer"));
  CHECK_THAT(with("post_processor", {{"type", "TemplateProcessing"},
                                     {"single", {{{"SpecialToken", {{"id", "[X]"}}}}}},
                                     {"pair", nlohmann::json::array()},
                                     {"special_tokens", nlohmann::json::object()}}),
             Contains("special token '[X]'"));
}

TEST_CASE("malformed BPE files", "[tokenizer][errors]") {
  const auto files = tokenizer_files("gpt2-lm", false);
  CHECK_THAT(load_error(files, "vocab.json", "not json"),
             Contains("model/vocab.json: malformed JSON"));
  CHECK_THAT(load_error(files, "vocab.json", "[1, 2]"),
             Contains("model/vocab.json: the vocab must be an object"));
  CHECK_THAT(load_error(files, "merges.txt", "#version: 0.2\na b c\n"),
             Contains("model/merges.txt: line 2 is not two tokens: 'a b c'"));
  CHECK_THAT(
      load_error(files, "merges.txt", "#version: 0.2\nzzqq xxyy\n"),
      Contains(
          "model/merges.txt: merge 1 'zzqq xxyy' uses 'zzqq', which is not in the vocabulary"));
  CHECK_THAT(load_error(files, "merges.txt", "#version: 0.2\n\xff\xfe x\n"),
             Contains("model/merges.txt: invalid UTF-8"));
  const auto json_files = tokenizer_files("gpt2-lm");
  auto j = nlohmann::json::parse(json_files.at("tokenizer.json"));
  j["model"]["merges"] = {"a"};
  CHECK_THAT(load_error(json_files, "tokenizer.json", j.dump()),
             Contains("merge 1 'a' is not two tokens"));
}

TEST_CASE("malformed WordPiece and SentencePiece files", "[tokenizer][errors]") {
  const auto files = tokenizer_files("bert-mlm", false);
  CHECK_THAT(load_error(files, "vocab.txt", ""),
             Contains("model/vocab.txt: the vocabulary is empty"));
  CHECK_THAT(load_error(files, "vocab.txt", "a\nb\n"),
             Contains("model/vocab.txt: the unknown token '[UNK]' is not in the vocabulary"));
  CHECK_THAT(load_error(files, "vocab.txt", "[UNK]\n\xc3\x28\n"),
             Contains("model/vocab.txt: invalid UTF-8 at byte 6"));
  CHECK_THAT(load_error(files, "tokenizer_config.json", "{"),
             Contains("model/tokenizer_config.json: malformed JSON"));
  const auto sp = tokenizer_files("albert-mlm", false);
  CHECK_THAT(load_error(sp, "spiece.model", "garbage"),
             Contains("model/spiece.model: not a SentencePiece model"));
  CHECK_THROWS_WITH(hfjit::tokenizers::sentencepiece_tokenizer("", "x.model"),
                    Contains("x.model: not a SentencePiece"));
}

TEST_CASE("truncation that cannot be done is an error", "[tokenizer][errors]") {
  auto tok = plain("bert-cased");
  hfjit::TruncationParams p;
  p.max_length = 8;
  p.strategy = hfjit::TruncationStrategy::OnlySecond;
  tok->set_truncation(p);
  CHECK_THROWS_WITH(tok->encode("one two three four five six seven eight nine ten"),
                    Contains("only_second needs a second sequence"));
  p.strategy = hfjit::TruncationStrategy::OnlyFirst;
  tok->set_truncation(p);
  CHECK_THROWS_WITH(tok->encode_pair("a", "one two three four five six seven eight nine ten"),
                    Contains("too short to respect max_length 8"));
  p.strategy = hfjit::TruncationStrategy::LongestFirst;
  p.stride = 6;
  tok->set_truncation(p);
  CHECK_THROWS_WITH(tok->encode("one two three four five six seven eight nine ten"),
                    Contains("stride (6) must be less than"));
}
