#pragma once
// Helpers of the tokenizer tests: fixture files, the canonical text of an
// Encoding and its CRC-32 (mirrors scripts/fixtures/make_tokenizer_fixtures.py).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hfjit/tokenizer.h"

namespace hfjit::test {

std::string read_text(const std::string& path);
// A JSON fixture (tests/fixtures/tokenizers/<name>), parsed once per process.
const nlohmann::json& tokenizer_fixture_json(const std::string& name);
// Every tokenizer file of a fixture folder (tests/fixtures/tokenizers/<folder>).
TokenizerFiles tokenizer_files(const std::string& folder, bool with_tokenizer_json = true);
// ids|type_ids|offsets|special_tokens_mask|attention_mask|word_ids, then #window per overflowing
// encoding.
std::string canonical(const Encoding& e);
// CRC-32 (zlib) of the text as 6 base-64 digits.
std::string crc_digits(const std::string& text);
// The corpus lines (tests/fixtures/tokenizers/corpus.jsonl).
const std::vector<std::string>& corpus();
// Checks `tok` against one case of a *_configs.json fixture (written by
// make_tokenizer_fixtures.py): vocab_size, the special token ids, and each
// encoding with and without special tokens.
void check_config_case(const Tokenizer& tok, const nlohmann::json& c);

}  // namespace hfjit::test
