// Edge cases against tokenizers and transformers, compared exactly
// (tests/fixtures/tokenizers/edge_cases.json, made by
// scripts/fixtures/make_tokenizer_edge_fixtures.py): characters whose Unicode class
// differs between tokenizers' crates and current Unicode, format characters
// and combining marks inside words, and an empty text_pair.
#include <catch2/catch.hpp>

#include <map>
#include <nlohmann/json.hpp>

#include "hfjit/tokenizer.h"
#include "hfjit/tokenizers/unicode.h"
#include "test_tokenizer_util.h"
#include "test_util.h"

using hfjit::Encoding;
using hfjit::Tokenizer;
using namespace hfjit::test;

namespace {

const nlohmann::json& edge_cases() {
  static const nlohmann::json j =
      nlohmann::json::parse(read_text(fixture("tokenizers/edge_cases.json")));
  return j;
}

std::unique_ptr<Tokenizer> plain(const std::string& folder, bool with_tokenizer_json) {
  auto t =
      hfjit::load_tokenizer_from_files(tokenizer_files(folder, with_tokenizer_json), folder + "/");
  t->set_padding(std::nullopt);
  t->set_truncation(std::nullopt);
  return t;
}

std::vector<std::vector<size_t>> offsets_of(const Encoding& e) {
  std::vector<std::vector<size_t>> out;
  for (const auto& [s, t] : e.offsets) out.push_back({s, t});
  return out;
}

// Every case of the fixture through one loading path; returns the number that differ.
size_t run_cases(bool with_tokenizer_json) {
  std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  size_t bad = 0;
  for (const auto& c : edge_cases()["cases"]) {
    const std::string set = c["set"], api = c["api"], text = c["text"];
    const bool has_pair = !c["pair"].is_null();
    const std::string pair = has_pair ? c["pair"].get<std::string>() : "";
    if (!with_tokenizer_json && tokenizer_files(set, false).size() <= 1)
      continue;  // tokenizer.json only
    auto& tok = loaded[set];
    if (!tok) tok = plain(set, with_tokenizer_json);
    Encoding e;
    if (api == "tokenizers")
      e = has_pair ? tok->encode_pair(text, pair) : tok->encode(text);
    else
      e = tok->encode_input(text, has_pair ? std::optional<std::string_view>(pair) : std::nullopt);
    INFO(set << " [" << api << ", " << (with_tokenizer_json ? "tokenizer.json" : "legacy")
             << "] text " << c["text"].dump() << " pair " << c["pair"].dump());
    const bool same = e.ids == c["ids"].get<std::vector<int64_t>>() &&
                      e.type_ids == c["type_ids"].get<std::vector<int64_t>>() &&
                      offsets_of(e) == c["offsets"].get<std::vector<std::vector<size_t>>>() &&
                      e.special_tokens_mask == c["special_tokens_mask"].get<std::vector<int64_t>>();
    if (!same) {
      ++bad;
      CHECK(nlohmann::json(e.ids).dump() == c["ids"].dump());
      CHECK(nlohmann::json(e.type_ids).dump() == c["type_ids"].dump());
      CHECK(nlohmann::json(offsets_of(e)).dump() == c["offsets"].dump());
      CHECK(nlohmann::json(e.special_tokens_mask).dump() == c["special_tokens_mask"].dump());
    }
  }
  return bad;
}

}  // namespace

TEST_CASE("edge cases: the fixture records its generator and versions", "[tokenizer][edge]") {
  const auto& j = edge_cases();
  CHECK(j["generator"] == "scripts/fixtures/make_tokenizer_edge_fixtures.py");
  CHECK(j.contains("tokenizers_version"));
  CHECK(j.contains("transformers_version"));
  CHECK(j["cases"].size() >= 100);
}

TEST_CASE(
    "edge cases: ids, type ids, offsets, special-token masks as the reference (tokenizer.json)",
    "[tokenizer][edge]") {
  CHECK(run_cases(true) == 0);
}

TEST_CASE("edge cases: the same through the classic files (vocab.txt, vocab.json + merges.txt)",
          "[tokenizer][edge]") {
  CHECK(run_cases(false) == 0);
}

TEST_CASE("an empty text_pair: one sequence as transformers, two as tokenizers",
          "[tokenizer][edge]") {
  for (const char* folder : {"minilm", "roberta-mlm"}) {
    INFO(folder);
    auto tok = plain(folder, true);
    const Encoding single = tok->encode("hello world");
    // transformers: `[(text, text_pair)] if text_pair else [text]`.
    CHECK(canonical(tok->encode_input("hello world", "")) == canonical(single));
    CHECK(canonical(tok->encode_input("hello world", std::nullopt)) == canonical(single));
    CHECK(canonical(tok->encode_input("hello world", " ")) ==
          canonical(tok->encode_pair("hello world", " ")));
    CHECK(canonical(tok->encode_input("hello world", "", false)) ==
          canonical(tok->encode("hello world", false)));
    // tokenizers' Tokenizer.encode(text, ""): the pair's special tokens are still added.
    const Encoding both = tok->encode_pair("hello world", "");
    CHECK(both.size() > single.size());
    CHECK(both.special_tokens_mask.back() == 1);
  }
  auto bert = plain("minilm", true);
  const Encoding both = bert->encode_pair("hello world", "");
  CHECK(both.ids == std::vector<int64_t>{101, 7592, 2088, 102, 102});
  CHECK(both.type_ids == std::vector<int64_t>{0, 0, 0, 0, 1});
}

TEST_CASE("character classes follow tokenizers' crates, not current Unicode", "[tokenizer][edge]") {
  using namespace hfjit::tokenizers;
  // Known to both: format characters, punctuation and marks.
  CHECK(is_other(0x0600));  // ARABIC NUMBER SIGN (Cf)
  CHECK(is_other(0x200B));
  CHECK(is_other(0x01));
  CHECK(is_other(0xE000));  // private use
  CHECK_FALSE(is_other(U'a'));
  CHECK(is_punctuation(U','));
  CHECK(is_punctuation(0x061F));      // ARABIC QUESTION MARK
  CHECK_FALSE(is_punctuation(U'$'));  // Sc: only is_ascii_punctuation has it
  CHECK(is_mark_nonspacing(0x094D));  // DEVANAGARI SIGN VIRAMA
  CHECK(is_mark_nonspacing(0x0301));
  CHECK_FALSE(is_mark_nonspacing(0x0903));  // Mc
  CHECK(is_combining_mark(0x0903));
  CHECK(is_combining_mark(0x0488));  // Me
  // Assigned after the crates' Unicode version: in no class there.
  CHECK_FALSE(is_other(0x0890));            // ARABIC POUND MARK ABOVE, Cf since Unicode 14
  CHECK_FALSE(is_other(0x13430));           // EGYPTIAN HIEROGLYPH VERTICAL JOINER, Cf since 12
  CHECK_FALSE(is_punctuation(0x061D));      // ARABIC END OF TEXT MARK, Po since 14
  CHECK_FALSE(is_mark_nonspacing(0x0898));  // Mn since 14
  CHECK_FALSE(is_combining_mark(0x07FD));   // Mn since 11
  // Recategorized since: the crates keep the old class.
  CHECK(is_mark_nonspacing(0x1734));  // HANUNOO SIGN PAMUDPOD: Mn then, Mc now
  CHECK(is_punctuation(0x166D));      // CANADIAN SYLLABICS CHI SIGN: Po then, So now
  CHECK(is_combining_mark(0x1CF2));   // VEDIC SIGN ARDHAVISARGA: Mc then, Lo now
}
