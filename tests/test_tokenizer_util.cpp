#include "test_tokenizer_util.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "test_util.h"

namespace hfjit::test {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

const nlohmann::json& tokenizer_fixture_json(const std::string& name) {
  static std::map<std::string, nlohmann::json> parsed;  // nodes never move: references stay valid
  auto it = parsed.find(name);
  if (it == parsed.end())
    it =
        parsed.emplace(name, nlohmann::json::parse(read_text(fixture("tokenizers/" + name)))).first;
  return it->second;
}

TokenizerFiles tokenizer_files(const std::string& folder, bool with_tokenizer_json) {
  TokenizerFiles files;
  const std::string dir = fixture("tokenizers/" + folder);
  for (const std::string& name : tokenizer_file_names()) {
    if (name == "tokenizer.json" && !with_tokenizer_json) continue;
    const std::string path = dir + "/" + name;
    if (std::filesystem::is_regular_file(path)) files[name] = read_text(path);
  }
  return files;
}

namespace {
template <typename T, typename F>
void join(std::string& out, const std::vector<T>& v, F fmt) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    fmt(out, v[i]);
  }
}
std::string one(const Encoding& e) {
  std::string out;
  auto num = [](std::string& o, int64_t x) { o += std::to_string(x); };
  join(out, e.ids, num);
  out += '|';
  join(out, e.type_ids, num);
  out += '|';
  join(out, e.offsets, [](std::string& o, const std::pair<size_t, size_t>& p) {
    o += std::to_string(p.first) + ":" + std::to_string(p.second);
  });
  out += '|';
  join(out, e.special_tokens_mask, num);
  out += '|';
  join(out, e.attention_mask, num);
  out += '|';
  join(out, e.word_ids, num);
  return out;
}
}  // namespace

std::string canonical(const Encoding& e) {
  std::string out = one(e);
  for (const Encoding& o : e.overflowing) out += "#" + one(o);
  return out;
}

std::string crc_digits(const std::string& text) {
  static uint32_t table[256];
  static bool ready = false;
  if (!ready) {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    ready = true;
  }
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : text) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  crc ^= 0xFFFFFFFFu;
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (int shift : {30, 24, 18, 12, 6, 0}) out += digits[(crc >> shift) & 63];
  return out;
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> out;
    std::istringstream in(read_text(fixture("tokenizers/corpus.jsonl")));
    for (std::string line; std::getline(in, line);)
      out.push_back(nlohmann::json::parse(line).get<std::string>());
    return out;
  }();
  return lines;
}

void check_config_case(const Tokenizer& tok, const nlohmann::json& c) {
  CHECK(tok.vocab_size() == c["vocab_size"].get<size_t>());
  const SpecialTokenIds& ids = tok.special_tokens();
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
      const Encoding got = text.size() == 2 ? tok.encode_pair(text[0], text[1], special)
                                            : tok.encode(text[0], special);
      CHECK(canonical(got) == e.at(special ? "special_true" : "special_false").get<std::string>());
    }
  }
}

}  // namespace hfjit::test
