#include "hfjit/tokenizers/loaders.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "hfjit/error.h"
#include "hfjit/tokenizers/marian.h"
#include "hfjit/tokenizers/sentencepiece_model.h"
#include "hfjit/tokenizers/spm_proto.h"
#include "hfjit/tokenizers/unicode.h"

namespace hfjit {

namespace tokenizers {

using json = nlohmann::json;

namespace {

// ---------------------------------------------------------------- helpers

json parse_json(const std::string& text, const std::string& where) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(where + ": malformed JSON: " + e.what());
  }
}

// Reads one JSON value with a default, naming the file and key on a type mismatch.
template <typename T>
T get_or(const json& j, const char* key, const T& fallback, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw Error(where + ": '" + key + "' has the wrong type (" + it->type_name() + ")");
  }
}

std::string type_of(const json& j, const std::string& where, const char* what) {
  if (!j.is_object()) throw Error(where + ": " + what + " is not an object");
  auto it = j.find("type");
  if (it == j.end() || !it->is_string()) throw Error(where + ": " + what + " has no \"type\"");
  return it->get<std::string>();
}

SplitBehavior behavior_of(const std::string& s, const std::string& where) {
  if (s == "Removed") return SplitBehavior::Removed;
  if (s == "Isolated") return SplitBehavior::Isolated;
  if (s == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (s == "Contiguous") return SplitBehavior::Contiguous;
  throw Error(where + ": unknown split behavior '" + s + "'");
}

// {"String": "..."} or {"Regex": "..."}: a literal (regex null) or a compiled regex.
std::pair<std::string, std::unique_ptr<Regex>> pattern_of(const json& j, const std::string& where) {
  if (j.is_object() && j.contains("String") && j["String"].is_string())
    return {j["String"].get<std::string>(), nullptr};
  if (j.is_object() && j.contains("Regex") && j["Regex"].is_string()) {
    try {
      return {"", std::make_unique<Regex>(j["Regex"].get<std::string>())};
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
  }
  throw Error(where + ": a pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

char32_t single_char(const std::string& s, const std::string& where, const char* key) {
  const std::u32string u = to_u32(s);
  if (u.size() != 1) throw Error(where + ": '" + key + "' must be one character, got '" + s + "'");
  return u[0];
}

std::string content_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return "";
}

// ---------------------------------------------------------------- components

std::unique_ptr<Normalizer> make_normalizer(const json& j, const std::string& where) {
  const std::string type = type_of(j, where, "normalizer");
  if (type == "BertNormalizer") {
    std::optional<bool> strip;
    if (j.contains("strip_accents") && !j["strip_accents"].is_null())
      strip = get_or(j, "strip_accents", false, where);
    return std::make_unique<BertNormalizer>(get_or(j, "clean_text", true, where),
                                            get_or(j, "handle_chinese_chars", true, where), strip,
                                            get_or(j, "lowercase", true, where));
  }
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::Form::NFD);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::Form::NFKD);
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::Form::NFC);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::Form::NFKC);
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "Strip")
    return std::make_unique<StripNormalizer>(get_or(j, "strip_left", true, where),
                                             get_or(j, "strip_right", true, where));
  if (type == "Replace") {
    auto [literal, regex] = pattern_of(j.value("pattern", json()), where + ": Replace");
    return std::make_unique<ReplaceNormalizer>(literal, std::move(regex),
                                               get_or(j, "content", std::string(), where));
  }
  if (type == "Prepend")
    return std::make_unique<PrependNormalizer>(get_or(j, "prepend", std::string(), where));
  if (type == "Nmt") return std::make_unique<NmtNormalizer>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "Precompiled") {
    const std::string b64 = get_or(j, "precompiled_charsmap", std::string(), where);
    if (b64.empty())
      return std::make_unique<SequenceNormalizer>(std::vector<std::unique_ptr<Normalizer>>{});
    return std::make_unique<PrecompiledNormalizer>(
        base64_decode(b64, where + ": precompiled_charsmap"), where);
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const json& p : j.value("normalizers", json::array()))
      parts.push_back(make_normalizer(p, where));
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  throw Error(where + ": unknown normalizer type '" + type + "'");
}

MetaspacePreTokenizer::Prepend prepend_scheme(const json& j, const std::string& where) {
  std::string scheme = get_or(j, "prepend_scheme", std::string("always"), where);
  if (j.contains("add_prefix_space") && j["add_prefix_space"].is_boolean() &&
      !j["add_prefix_space"].get<bool>())
    scheme = "never";
  if (scheme == "always") return MetaspacePreTokenizer::Prepend::Always;
  if (scheme == "first") return MetaspacePreTokenizer::Prepend::First;
  if (scheme == "never") return MetaspacePreTokenizer::Prepend::Never;
  throw Error(where + ": unknown prepend_scheme '" + scheme + "'");
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const std::string& where) {
  const std::string type = type_of(j, where, "pre_tokenizer");
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPreTokenizer>(get_or(j, "add_prefix_space", true, where),
                                                   get_or(j, "use_regex", true, where));
  if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplitPreTokenizer>();
  if (type == "Metaspace")
    return std::make_unique<MetaspacePreTokenizer>(
        single_char(get_or(j, "replacement", std::string("\xE2\x96\x81"), where), where,
                    "replacement"),
        prepend_scheme(j, where), get_or(j, "split", true, where));
  if (type == "Punctuation")
    return std::make_unique<PunctuationPreTokenizer>(
        behavior_of(get_or(j, "behavior", std::string("Isolated"), where), where));
  if (type == "Split") {
    auto [literal, regex] = pattern_of(j.value("pattern", json()), where + ": Split");
    return std::make_unique<SplitPreTokenizer>(
        literal, std::move(regex), behavior_of(get_or(j, "behavior", std::string(), where), where),
        get_or(j, "invert", false, where));
  }
  if (type == "Digits")
    return std::make_unique<DigitsPreTokenizer>(get_or(j, "individual_digits", false, where));
  if (type == "CharDelimiterSplit")
    return std::make_unique<CharDelimiterSplitPreTokenizer>(
        single_char(get_or(j, "delimiter", std::string(), where), where, "delimiter"));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (const json& p : j.value("pretokenizers", json::array()))
      parts.push_back(make_pre_tokenizer(p, where));
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  throw Error(where + ": unknown pre_tokenizer type '" + type + "'");
}

Vocab vocab_from_object(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": the vocab must be an object of token -> id");
  Vocab v;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_unsigned() && !it.value().is_number_integer())
      throw Error(where + ": the id of token '" + it.key() + "' is not an integer");
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id > UINT32_MAX)
      throw Error(where + ": the id of token '" + it.key() + "' is out of range");
    v.insert(it.key(), static_cast<uint32_t>(id));
  }
  return v;
}

std::unique_ptr<Model> make_model(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": \"model\" is missing or not an object");
  std::string type =
      j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "";
  if (type.empty()) {  // untagged, as serde tries them
    if (j.contains("merges"))
      type = "BPE";
    else if (j.contains("vocab") && j["vocab"].is_array())
      type = "Unigram";
    else if (j.contains("continuing_subword_prefix"))
      type = "WordPiece";
    else
      type = "WordLevel";
  }
  const std::string mwhere = where + ": " + type + " model";
  if (type == "WordPiece") {
    return std::make_unique<WordPieceModel>(
        vocab_from_object(j.value("vocab", json()), mwhere),
        get_or(j, "unk_token", std::string("[UNK]"), mwhere),
        get_or(j, "continuing_subword_prefix", std::string("##"), mwhere),
        get_or(j, "max_input_chars_per_word", size_t(100), mwhere));
  }
  if (type == "BPE") {
    Vocab vocab = vocab_from_object(j.value("vocab", json()), mwhere);
    std::vector<std::pair<std::string, std::string>> merges;
    const json m = j.value("merges", json::array());
    if (!m.is_array()) throw Error(mwhere + ": merges must be a list");
    for (size_t i = 0; i < m.size(); ++i) {
      if (m[i].is_string()) {
        const std::string line = m[i].get<std::string>();
        const size_t sp = line.find(' ');
        if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
          throw Error(mwhere + ": merge " + std::to_string(i + 1) + " '" + line +
                      "' is not two tokens");
        merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
      } else if (m[i].is_array() && m[i].size() == 2 && m[i][0].is_string() &&
                 m[i][1].is_string()) {
        merges.emplace_back(m[i][0].get<std::string>(), m[i][1].get<std::string>());
      } else {
        throw Error(mwhere + ": merge " + std::to_string(i + 1) + " is not two tokens");
      }
    }
    BpeModel::Options o;
    if (j.contains("unk_token") && j["unk_token"].is_string())
      o.unk_token = j["unk_token"].get<std::string>();
    o.continuing_subword_prefix = get_or(j, "continuing_subword_prefix", std::string(), mwhere);
    o.end_of_word_suffix = get_or(j, "end_of_word_suffix", std::string(), mwhere);
    o.fuse_unk = get_or(j, "fuse_unk", false, mwhere);
    o.byte_fallback = get_or(j, "byte_fallback", false, mwhere);
    o.ignore_merges = get_or(j, "ignore_merges", false, mwhere);
    return std::make_unique<BpeModel>(std::move(vocab), merges, o, mwhere);
  }
  if (type == "Unigram") {
    const json v = j.value("vocab", json::array());
    if (!v.is_array()) throw Error(mwhere + ": vocab must be a list of [piece, score]");
    std::vector<std::pair<std::string, double>> pieces;
    pieces.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_array() || v[i].size() != 2 || !v[i][0].is_string() || !v[i][1].is_number())
        throw Error(mwhere + ": vocab entry " + std::to_string(i) + " is not [piece, score]");
      pieces.emplace_back(v[i][0].get<std::string>(), v[i][1].get<double>());
    }
    std::optional<uint32_t> unk;
    if (j.contains("unk_id") && j["unk_id"].is_number_integer()) unk = j["unk_id"].get<uint32_t>();
    return std::make_unique<UnigramModel>(std::move(pieces), unk,
                                          get_or(j, "byte_fallback", false, mwhere), mwhere);
  }
  if (type == "WordLevel")
    return std::make_unique<WordLevelModel>(vocab_from_object(j.value("vocab", json()), mwhere),
                                            get_or(j, "unk_token", std::string("<unk>"), mwhere));
  throw Error(where + ": unknown model type '" + type + "'");
}

std::pair<std::string, int64_t> token_pair(const json& j, const std::string& where,
                                           const char* key) {
  const json v = j.value(key, json());
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer())
    throw Error(where + ": '" + key + "' must be [token, id]");
  return {v[0].get<std::string>(), v[1].get<int64_t>()};
}

std::vector<TemplateProcessor::Piece> template_pieces(const json& j, const std::string& where) {
  std::vector<TemplateProcessor::Piece> out;
  if (!j.is_array()) throw Error(where + ": a template must be a list");
  for (const json& p : j) {
    if (p.contains("Sequence")) {
      const json& s = p["Sequence"];
      out.push_back({true, get_or(s, "id", std::string("A"), where),
                     get_or(s, "type_id", uint32_t(0), where)});
    } else if (p.contains("SpecialToken")) {
      const json& s = p["SpecialToken"];
      out.push_back(
          {false, get_or(s, "id", std::string(), where), get_or(s, "type_id", uint32_t(0), where)});
    } else {
      throw Error(where + ": a template piece must be Sequence or SpecialToken");
    }
  }
  return out;
}

std::unique_ptr<PostProcessor> make_post_processor(const json& j, const std::string& where) {
  const std::string type = type_of(j, where, "post_processor");
  if (type == "TemplateProcessing") {
    std::map<std::string, TemplateProcessor::SpecialToken> special;
    const json st = j.value("special_tokens", json::object());
    for (auto it = st.begin(); it != st.end(); ++it) {
      TemplateProcessor::SpecialToken t;
      t.ids = get_or(it.value(), "ids", std::vector<int64_t>(), where);
      t.tokens = get_or(it.value(), "tokens", std::vector<std::string>(), where);
      if (t.ids.size() != t.tokens.size())
        throw Error(where + ": special token '" + it.key() + "' has " +
                    std::to_string(t.ids.size()) + " ids and " + std::to_string(t.tokens.size()) +
                    " tokens");
      special[it.key()] = std::move(t);
    }
    auto single = template_pieces(j.value("single", json::array()), where);
    auto pair = template_pieces(j.value("pair", json::array()), where);
    for (const auto* tpl : {&single, &pair})
      for (const auto& p : *tpl)
        if (!p.is_sequence && !special.count(p.id))
          throw Error(where + ": template uses special token '" + p.id +
                      "', which special_tokens lacks");
    return std::make_unique<TemplateProcessor>(std::move(single), std::move(pair),
                                               std::move(special));
  }
  if (type == "BertProcessing")
    return std::make_unique<BertProcessor>(token_pair(j, where, "sep"), token_pair(j, where, "cls"),
                                           false);
  if (type == "RobertaProcessing")
    return std::make_unique<BertProcessor>(token_pair(j, where, "sep"), token_pair(j, where, "cls"),
                                           true, get_or(j, "trim_offsets", true, where),
                                           get_or(j, "add_prefix_space", true, where));
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelProcessor>(get_or(j, "trim_offsets", true, where),
                                                get_or(j, "add_prefix_space", true, where));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (const json& p : j.value("processors", json::array()))
      parts.push_back(make_post_processor(p, where));
    return std::make_unique<SequenceProcessor>(std::move(parts));
  }
  throw Error(where + ": unknown post_processor type '" + type + "'");
}

std::unique_ptr<Decoder> make_decoder(const json& j, const std::string& where) {
  const std::string type = type_of(j, where, "decoder");
  if (type == "WordPiece")
    return std::make_unique<WordPieceDecoder>(get_or(j, "prefix", std::string("##"), where),
                                              get_or(j, "cleanup", true, where));
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace")
    return std::make_unique<MetaspaceDecoder>(
        single_char(get_or(j, "replacement", std::string("\xE2\x96\x81"), where), where,
                    "replacement"),
        prepend_scheme(j, where) != MetaspacePreTokenizer::Prepend::Never);
  if (type == "BPEDecoder")
    return std::make_unique<BpeDecoder>(get_or(j, "suffix", std::string("</w>"), where));
  if (type == "Replace") {
    auto [literal, regex] = pattern_of(j.value("pattern", json()), where + ": Replace");
    return std::make_unique<ReplaceDecoder>(std::make_unique<ReplaceNormalizer>(
        literal, std::move(regex), get_or(j, "content", std::string(), where)));
  }
  if (type == "Strip")
    return std::make_unique<StripDecoder>(
        single_char(get_or(j, "content", std::string(" "), where), where, "content"),
        get_or(j, "start", size_t(0), where), get_or(j, "stop", size_t(0), where));
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "CTC")
    return std::make_unique<CtcDecoder>(get_or(j, "pad_token", std::string("<pad>"), where),
                                        get_or(j, "word_delimiter_token", std::string("|"), where),
                                        get_or(j, "cleanup", true, where));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> parts;
    for (const json& p : j.value("decoders", json::array()))
      parts.push_back(make_decoder(p, where));
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  throw Error(where + ": unknown decoder type '" + type + "'");
}

Direction direction_of(const json& j, const char* key, const std::string& where) {
  const std::string d = get_or(j, key, std::string("Right"), where);
  if (d == "Right" || d == "right") return Direction::Right;
  if (d == "Left" || d == "left") return Direction::Left;
  throw Error(where + ": unknown direction '" + d + "'");
}

AddedToken added_token_of(const json& t, const std::string& where) {
  AddedToken a;
  a.content = get_or(t, "content", std::string(), where);
  a.single_word = get_or(t, "single_word", false, where);
  a.lstrip = get_or(t, "lstrip", false, where);
  a.rstrip = get_or(t, "rstrip", false, where);
  a.special = get_or(t, "special", false, where);
  a.normalized = get_or(t, "normalized", !a.special, where);
  return a;
}

// ---------------------------------------------------------------- files

const std::string* find_file(const TokenizerFiles& files, const std::string& name) {
  auto it = files.find(name);
  return it == files.end() ? nullptr : &it->second;
}

json config_of(const TokenizerFiles& files, const std::string& origin) {
  const std::string* text = find_file(files, "tokenizer_config.json");
  if (!text) return json::object();
  json j = parse_json(*text, origin + "tokenizer_config.json");
  if (!j.is_object()) throw Error(origin + "tokenizer_config.json: not a JSON object");
  return j;
}

// The special token strings of tokenizer_config.json, completed by special_tokens_map.json.
std::map<std::string, std::string> special_token_names(const TokenizerFiles& files,
                                                       const std::string& origin) {
  std::map<std::string, std::string> out;
  const json config = config_of(files, origin);
  json map = json::object();
  if (const std::string* text = find_file(files, "special_tokens_map.json")) {
    map = parse_json(*text, origin + "special_tokens_map.json");
    if (!map.is_object()) throw Error(origin + "special_tokens_map.json: not a JSON object");
  }
  for (const char* key : {"pad_token", "cls_token", "sep_token", "mask_token", "unk_token",
                          "bos_token", "eos_token"}) {
    std::string v;
    if (config.contains(key)) v = content_of(config[key]);
    if (v.empty() && map.contains(key)) v = content_of(map[key]);
    if (!v.empty()) out[key] = v;
  }
  return out;
}

// Added tokens declared by tokenizer_config.json (added_tokens_decoder), by id.
std::vector<AddedToken> config_added_tokens(const json& config, const std::string& where) {
  std::vector<std::pair<int64_t, AddedToken>> items;
  const json dec = config.value("added_tokens_decoder", json::object());
  if (!dec.is_object()) return {};
  for (auto it = dec.begin(); it != dec.end(); ++it) {
    int64_t id = 0;
    try {
      id = std::stoll(it.key());
    } catch (const std::exception&) {
      throw Error(where + ": added_tokens_decoder key '" + it.key() + "' is not an id");
    }
    items.emplace_back(id, added_token_of(it.value(), where));
  }
  std::sort(items.begin(), items.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<AddedToken> out;
  for (auto& [id, t] : items) out.push_back(std::move(t));
  return out;
}

// Added tokens in order, each content once: tokenizer_config.json's first, then
// those a class adds itself (its named specials, control pieces, ...).
class AddedTokenList {
 public:
  explicit AddedTokenList(std::vector<AddedToken> first) : list_(std::move(first)) {
    for (const AddedToken& t : list_) seen_.insert(t.content);
  }
  void add(const AddedToken& t) {
    if (!t.content.empty() && seen_.insert(t.content).second) list_.push_back(t);
  }
  // A token as the converters add them: not normalized.
  void add(const std::string& content, bool special) {
    AddedToken t;
    t.content = content;
    t.special = special;
    t.normalized = false;
    add(t);
  }
  const std::vector<AddedToken>& tokens() const { return list_; }

 private:
  std::vector<AddedToken> list_;
  std::set<std::string> seen_;
};

std::vector<AddedToken> default_specials(const std::map<std::string, std::string>& names,
                                         std::initializer_list<const char*> keys) {
  std::vector<AddedToken> out;
  for (const char* k : keys) {
    auto it = names.find(k);
    if (it == names.end()) continue;
    AddedToken t;
    t.content = it->second;
    t.special = true;
    t.normalized = false;
    out.push_back(t);
  }
  return out;
}

// The special token keys tokenizer_config.json sets to null (Qwen2's bos_token and unk_token)
// that special_tokens_map.json does not name either: transformers has none of them.
std::set<std::string> null_special_tokens(const TokenizerFiles& files, const std::string& origin) {
  std::set<std::string> out;
  const json config = config_of(files, origin);
  for (auto it = config.begin(); it != config.end(); ++it)
    if (it.key().ends_with("_token") && it.value().is_null()) out.insert(it.key());
  for (const auto& [key, name] : special_token_names(files, origin)) out.erase(key);
  return out;
}

// The ids of the named special tokens: those the files name, the others (unless set to null)
// guessed from the usual names; or, given `complete` (a class's own tokens and the config's),
// those only.
void resolve_special_ids(Pipeline& p, const TokenizerFiles& files, const std::string& origin,
                         const std::map<std::string, std::string>* complete = nullptr) {
  const auto names = complete ? *complete : special_token_names(files, origin);
  const auto none = complete ? std::set<std::string>() : null_special_tokens(files, origin);
  auto id_of = [&](const std::string& token) -> std::optional<int64_t> {
    if (const auto id = p.added.token_to_id(token)) return *id;
    if (const auto id = p.model->token_to_id(token)) return *id;
    return std::nullopt;
  };
  auto pick = [&](const char* key,
                  std::initializer_list<const char*> guesses) -> std::optional<int64_t> {
    auto it = names.find(key);
    if (it != names.end()) return id_of(it->second);
    if (complete || none.count(key)) return std::nullopt;
    for (const char* g : guesses)
      if (const auto id = p.added.token_to_id(g)) return *id;
    return std::nullopt;
  };
  p.special.pad = pick("pad_token", {"[PAD]", "<pad>", "<|padding|>"});
  p.special.cls = pick("cls_token", {"[CLS]", "<s>"});
  p.special.sep = pick("sep_token", {"[SEP]", "</s>"});
  p.special.mask = pick("mask_token", {"[MASK]", "<mask>"});
  p.special.unk = pick("unk_token", {"[UNK]", "<unk>"});
  p.special.bos = pick("bos_token", {"<s>", "<|endoftext|>", "[CLS]"});
  p.special.eos = pick("eos_token", {"</s>", "<|endoftext|>", "[SEP]"});
}

// Python's str.splitlines-like split on \n, \r\n and \r (universal newlines), as readlines() sees
// them.
std::vector<std::string> universal_lines(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') {
      out.push_back(cur);
      cur.clear();
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

void check_utf8(const std::string& text, const std::string& where) {
  const size_t bad = find_invalid_utf8(text);
  if (bad != std::string::npos)
    throw Error(where + ": invalid UTF-8 at byte " + std::to_string(bad));
}

std::unique_ptr<TemplateProcessor> make_template(
    const std::vector<std::pair<std::string, uint32_t>>& single,
    const std::vector<std::pair<std::string, uint32_t>>& pair, const Pipeline& p,
    const std::string& where) {
  std::map<std::string, TemplateProcessor::SpecialToken> special;
  auto pieces = [&](const std::vector<std::pair<std::string, uint32_t>>& spec) {
    std::vector<TemplateProcessor::Piece> out;
    for (const auto& [name, type] : spec) {
      if (name == "$A" || name == "$B") {
        out.push_back({true, name.substr(1), type});
        continue;
      }
      std::optional<uint32_t> id = p.added.token_to_id(name);
      if (!id) id = p.model->token_to_id(name);
      if (!id) throw Error(where + ": special token '" + name + "' is not in the vocabulary");
      special[name] = {{static_cast<int64_t>(*id)}, {name}};
      out.push_back({false, name, type});
    }
    return out;
  };
  auto s = pieces(single);
  auto pr = pieces(pair);
  return std::make_unique<TemplateProcessor>(std::move(s), std::move(pr), std::move(special));
}

}  // namespace

std::string base64_decode(const std::string& text, const std::string& what) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    int v;
    if (ch >= 'A' && ch <= 'Z')
      v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z')
      v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9')
      v = ch - '0' + 52;
    else if (ch == '+')
      v = 62;
    else if (ch == '/')
      v = 63;
    else if (ch == '=')
      break;
    else
      throw Error(what + ": invalid base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

namespace {
std::unique_ptr<Pipeline> pipeline_from_json(const json& j, const std::string& origin);
}

std::unique_ptr<Pipeline> pipeline_from_tokenizer_json(const std::string& text,
                                                       const std::string& origin) {
  const json j = parse_json(text, origin);
  if (!j.is_object()) throw Error(origin + ": not a JSON object");
  return pipeline_from_json(j, origin);
}

namespace {
std::unique_ptr<Pipeline> pipeline_from_json(const json& j, const std::string& origin) {
  if (j.contains("version") && j["version"] != "1.0")
    throw Error(origin + ": unknown tokenizer.json version " + j["version"].dump());
  auto p = std::make_unique<Pipeline>();
  p->model = make_model(j.value("model", json()), origin);
  if (j.contains("normalizer") && !j["normalizer"].is_null())
    p->normalizer = make_normalizer(j["normalizer"], origin);
  if (j.contains("pre_tokenizer") && !j["pre_tokenizer"].is_null())
    p->pre_tokenizer = make_pre_tokenizer(j["pre_tokenizer"], origin);
  if (j.contains("post_processor") && !j["post_processor"].is_null())
    p->post_processor = make_post_processor(j["post_processor"], origin);
  if (j.contains("decoder") && !j["decoder"].is_null())
    p->decoder = make_decoder(j["decoder"], origin);
  std::vector<AddedToken> added;
  const json at = j.value("added_tokens", json::array());
  if (!at.is_array()) throw Error(origin + ": added_tokens must be a list");
  for (const json& t : at) added.push_back(added_token_of(t, origin + ": added_tokens"));
  p->added.add_tokens(added, *p->model);
  p->added.rebuild(p->normalizer.get());
  if (j.contains("truncation") && j["truncation"].is_object()) {
    const json& t = j["truncation"];
    TruncationParams tp;
    tp.max_length = get_or(t, "max_length", size_t(512), origin);
    tp.stride = get_or(t, "stride", size_t(0), origin);
    tp.direction = direction_of(t, "direction", origin);
    const std::string s = get_or(t, "strategy", std::string("LongestFirst"), origin);
    if (s == "LongestFirst")
      tp.strategy = TruncationStrategy::LongestFirst;
    else if (s == "OnlyFirst")
      tp.strategy = TruncationStrategy::OnlyFirst;
    else if (s == "OnlySecond")
      tp.strategy = TruncationStrategy::OnlySecond;
    else
      throw Error(origin + ": unknown truncation strategy '" + s + "'");
    p->truncation = tp;
  }
  if (j.contains("padding") && j["padding"].is_object()) {
    const json& t = j["padding"];
    PaddingParams pp;
    const json strategy = t.value("strategy", json("BatchLongest"));
    if (strategy.is_object() && strategy.contains("Fixed"))
      pp.length = strategy["Fixed"].get<size_t>();
    pp.direction = direction_of(t, "direction", origin);
    if (t.contains("pad_to_multiple_of") && t["pad_to_multiple_of"].is_number())
      pp.pad_to_multiple_of = t["pad_to_multiple_of"].get<size_t>();
    pp.pad_id = get_or(t, "pad_id", int64_t(0), origin);
    pp.pad_type_id = get_or(t, "pad_type_id", int64_t(0), origin);
    pp.pad_token = get_or(t, "pad_token", std::string("[PAD]"), origin);
    p->padding = pp;
  }
  return p;
}
}  // namespace

std::unique_ptr<Pipeline> pipeline_from_wordpiece_files(const TokenizerFiles& files,
                                                        const std::string& origin) {
  const std::string where = origin + "vocab.txt";
  const std::string& text = files.at("vocab.txt");
  check_utf8(text, where);
  Vocab vocab;
  const auto lines = universal_lines(text);
  if (lines.empty()) throw Error(where + ": the vocabulary is empty");
  for (size_t i = 0; i < lines.size(); ++i) vocab.insert(lines[i], static_cast<uint32_t>(i));
  const json config = config_of(files, origin);
  const std::string cwhere = origin + "tokenizer_config.json";
  auto names = special_token_names(files, origin);
  // MPNetTokenizer: its own default special tokens, <s> A </s></s> B </s> (RobertaProcessing), and
  // the mask token with lstrip (it "comprises the space before it").
  const bool mpnet =
      get_or(config, "tokenizer_class", std::string(), cwhere).starts_with("MPNetTokenizer");
  static const std::pair<const char*, const char*> kMPNetDefaults[] = {
      {"bos_token", "<s>"},   {"eos_token", "</s>"},  {"sep_token", "</s>"},   {"cls_token", "<s>"},
      {"unk_token", "[UNK]"}, {"pad_token", "<pad>"}, {"mask_token", "<mask>"}};
  if (mpnet)  // where the config names none
    for (const auto& [key, value] : kMPNetDefaults) names.emplace(key, value);
  auto name = [&](const char* key, const char* fallback) {
    auto it = names.find(key);
    return it == names.end() ? std::string(fallback) : it->second;
  };
  const bool lower = get_or(config, "do_lower_case", true, cwhere);
  std::optional<bool> strip;
  if (config.contains("strip_accents") && config["strip_accents"].is_boolean())
    strip = config["strip_accents"].get<bool>();
  const bool chinese = get_or(config, "tokenize_chinese_chars", true, cwhere);
  const std::string unk = name("unk_token", "[UNK]");
  if (!vocab.find(unk))
    throw Error(where + ": the unknown token '" + unk + "' is not in the vocabulary");

  auto p = std::make_unique<Pipeline>();
  p->normalizer = std::make_unique<BertNormalizer>(true, chinese, strip, lower);
  p->pre_tokenizer = std::make_unique<BertPreTokenizer>();
  p->model = std::make_unique<WordPieceModel>(std::move(vocab), unk, "##", 100);
  p->decoder = std::make_unique<WordPieceDecoder>("##", true);
  std::vector<AddedToken> added = config_added_tokens(config, cwhere);
  if (added.empty()) {
    added =
        default_specials(names, {"pad_token", "unk_token", "cls_token", "sep_token", "mask_token"});
    for (AddedToken& t : added)
      if (mpnet && t.content == names.at("mask_token")) t.lstrip = true;
  }
  p->added.add_tokens(added, *p->model);
  p->added.rebuild(p->normalizer.get());
  const std::string cls = name("cls_token", "[CLS]"), sep = name("sep_token", "[SEP]");
  if (mpnet) {
    auto id_of = [&](const std::string& token) {
      std::optional<uint32_t> id = p->added.token_to_id(token);
      if (!id) id = p->model->token_to_id(token);
      if (!id) throw Error(where + ": special token '" + token + "' is not in the vocabulary");
      return std::make_pair(token, static_cast<int64_t>(*id));
    };
    p->post_processor = std::make_unique<BertProcessor>(id_of(sep), id_of(cls), true, true, false);
  } else {
    p->post_processor =
        make_template({{cls, 0}, {"$A", 0}, {sep, 0}},
                      {{cls, 0}, {"$A", 0}, {sep, 0}, {"$B", 1}, {sep, 1}}, *p, where);
  }
  resolve_special_ids(*p, files, origin);
  return p;
}

std::unique_ptr<Pipeline> pipeline_from_bpe_files(const TokenizerFiles& files,
                                                  const std::string& origin) {
  const std::string vwhere = origin + "vocab.json", mwhere = origin + "merges.txt";
  auto mit = files.find("merges.txt");
  if (mit == files.end()) throw Error(mwhere + ": missing (vocab.json needs merges.txt)");
  const json vj = parse_json(files.at("vocab.json"), vwhere);
  Vocab vocab = vocab_from_object(vj, vwhere);
  check_utf8(mit->second, mwhere);
  // GPT2Tokenizer: read().split("\n")[1:-1], each line split on whitespace (text mode: \r\n is \n).
  std::string merges_text = mit->second;
  for (size_t k = merges_text.find("\r\n"); k != std::string::npos; k = merges_text.find("\r\n", k))
    merges_text.erase(k, 1);
  std::vector<std::string> lines;
  {
    size_t start = 0;
    for (size_t k = 0; k <= merges_text.size(); ++k)
      if (k == merges_text.size() || merges_text[k] == '\n') {
        lines.push_back(merges_text.substr(start, k - start));
        start = k + 1;
      }
  }
  std::vector<std::pair<std::string, std::string>> merges;
  std::map<std::pair<std::string, std::string>, size_t> seen;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    std::istringstream in(lines[i]);
    std::vector<std::string> parts;
    for (std::string w; in >> w;) parts.push_back(w);
    if (parts.size() != 2)
      throw Error(mwhere + ": line " + std::to_string(i + 1) + " is not two tokens: '" + lines[i] +
                  "'");
    auto key = std::make_pair(parts[0], parts[1]);
    if (seen.count(key)) continue;  // dict keys: the first position wins
    seen[key] = merges.size();
    merges.push_back(key);
  }
  const json config = config_of(files, origin);
  const std::string cwhere = origin + "tokenizer_config.json";
  const std::string cls_name =
      get_or(config, "tokenizer_class", std::string("GPT2Tokenizer"), cwhere);
  const bool roberta = cls_name.find("Roberta") != std::string::npos ||
                       cls_name.find("Bart") != std::string::npos ||
                       cls_name.find("Longformer") != std::string::npos ||
                       cls_name.find("Camembert") != std::string::npos;
  const bool add_prefix_space = get_or(config, "add_prefix_space", false, cwhere);
  const auto names = special_token_names(files, origin);

  auto p = std::make_unique<Pipeline>();
  p->pre_tokenizer = std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, true);
  p->model = std::make_unique<BpeModel>(std::move(vocab), merges, BpeModel::Options{}, mwhere);
  p->decoder = std::make_unique<ByteLevelDecoder>();
  std::vector<AddedToken> added = config_added_tokens(config, cwhere);
  if (added.empty())
    added =
        default_specials(names, {"bos_token", "pad_token", "eos_token", "unk_token", "mask_token"});
  p->added.add_tokens(added, *p->model);
  p->added.rebuild(nullptr);
  if (roberta) {
    auto id_of = [&](const char* key, const char* fallback) {
      auto it = names.find(key);
      const std::string tok = it == names.end() ? fallback : it->second;
      auto id = p->added.token_to_id(tok);
      if (!id) throw Error(vwhere + ": special token '" + tok + "' is not in the vocabulary");
      return std::make_pair(tok, static_cast<int64_t>(*id));
    };
    p->post_processor = std::make_unique<BertProcessor>(
        id_of("sep_token", "</s>"), id_of("cls_token", "<s>"), true, true, add_prefix_space);
  } else if (get_or(config, "add_bos_token", false, cwhere) && names.count("bos_token")) {
    const std::string bos = names.at("bos_token");
    p->post_processor =
        make_template({{bos, 0}, {"$A", 0}}, {{bos, 0}, {"$A", 0}, {"$B", 1}}, *p, vwhere);
  } else {
    p->post_processor = std::make_unique<ByteLevelProcessor>(false, true);
  }
  resolve_special_ids(*p, files, origin);
  return p;
}

namespace {

// Strings of a tokenizer_config.json list entry (plain strings or AddedToken objects).
std::vector<std::string> config_token_list(const json& config, const char* key) {
  std::vector<std::string> out;
  if (!config.contains(key) || !config[key].is_array()) return out;
  for (const json& t : config[key]) {
    const std::string c = content_of(t);
    if (!c.empty()) out.push_back(c);
  }
  return out;
}

// A special token as a tokenizer_config.json / special_tokens_map.json value gives it: a plain
// string is special and not normalized; an AddedToken object keeps its flags.
AddedToken special_token_of(const json& v, const std::string& where) {
  AddedToken t;
  if (v.is_object()) {
    t = added_token_of(v, where);
  } else {
    t.content = content_of(v);
    t.normalized = false;
  }
  t.special = true;
  return t;
}

// Normal (1), unknown (2), control (3), user-defined (4), unused (5) and byte (6) pieces.
constexpr int kControlPiece = 3, kUserDefinedPiece = 4;

// The special tokens of XLMRobertaTokenizer / CamembertTokenizer, by attribute in
// transformers' order: tokenizer_config.json's, else special_tokens_map.json's, else the
// class's default. CamembertTokenizer wraps a plain-string mask token as AddedToken(lstrip=True).
using NamedTokens = std::vector<std::pair<std::string, AddedToken>>;
NamedTokens fairseq_named_tokens(const TokenizerFiles& files, const json& config, bool camembert,
                                 const std::string& origin) {
  const std::string cwhere = origin + "tokenizer_config.json",
                    mwhere = origin + "special_tokens_map.json";
  json map = json::object();
  if (const std::string* text = find_file(files, "special_tokens_map.json"))
    map = parse_json(*text, mwhere);
  NamedTokens named;
  for (const auto& [key, fallback] : {std::pair{"bos_token", "<s>"},
                                      {"eos_token", "</s>"},
                                      {"unk_token", "<unk>"},
                                      {"sep_token", "</s>"},
                                      {"pad_token", "<pad>"},
                                      {"cls_token", "<s>"},
                                      {"mask_token", "<mask>"}}) {
    AddedToken t;
    if (config.contains(key) && !content_of(config[key]).empty())
      t = special_token_of(config[key], cwhere);
    else if (map.is_object() && map.contains(key) && !content_of(map[key]).empty())
      t = special_token_of(map[key], mwhere);
    else
      t = special_token_of(json(fallback), cwhere);
    if (camembert && std::string(key) == "mask_token" &&
        !(config.contains(key) && config[key].is_object()))
      t.lstrip = true;
    named.emplace_back(key, t);
  }
  return named;
}

std::string named_token(const NamedTokens& named, const std::string& key) {
  for (const auto& [k, t] : named)
    if (k == key) return t.content;
  return "";
}

// XLMRobertaConverter.convert_from_spm / CamembertConverter.convert_from_spm: fairseq's
// numbering of the proto's pieces, and the unknown id the class gives Unigram.
std::pair<std::vector<std::pair<std::string, double>>, uint32_t> fairseq_vocab(
    const SpmProto& proto, const NamedTokens& named, bool camembert) {
  const std::string unk = named_token(named, "unk_token"), pad = named_token(named, "pad_token");
  std::vector<std::pair<std::string, double>> vocab;
  if (camembert)
    vocab = {{"<s>NOTUSED", 0.0},
             {pad, 0.0},
             {"</s>NOTUSED", 0.0},
             {unk, 0.0},
             {"<unk>NOTUSED", -100.0}};
  else
    vocab = {{named_token(named, "bos_token"), 0.0},
             {pad, 0.0},
             {named_token(named, "eos_token"), 0.0},
             {unk, 0.0}};
  for (size_t i = camembert ? 1 : 3; i < proto.pieces.size(); ++i)
    vocab.emplace_back(proto.pieces[i].piece, static_cast<double>(proto.pieces[i].score));
  vocab.emplace_back(named_token(named, "mask_token"), 0.0);
  uint32_t unk_id = 3;  // XLM-R's is fixed; CamemBERT's is the first piece named unk_token, else 0
  if (camembert) {
    auto it =
        std::find_if(vocab.begin(), vocab.end(), [&](const auto& v) { return v.first == unk; });
    unk_id = it == vocab.end() ? 0 : static_cast<uint32_t>(it - vocab.begin());
  }
  return {std::move(vocab), unk_id};
}

// What transformers 5 builds for XLMRobertaTokenizer / CamembertTokenizer from a
// sentencepiece.bpe.model (no tokenizer.json): SentencePieceExtractor reads the pieces,
// XLMRobertaConverter / CamembertConverter.convert_from_spm lay them out as fairseq
// numbered them, and the class's __init__ builds the pipeline around a Unigram model:
//   XLM-R:     <s>=0 <pad>=1 </s>=2 <unk>=3, the pieces after the proto's first three
//              (<unk> <s> </s>) from 4 (sentencepiece id + 1), <mask> last; unk_id 3.
//   CamemBERT: <s>NOTUSED=0 <pad>=1 </s>NOTUSED=2 <unk>=3 <unk>NOTUSED=4 (score -100), the
//              pieces after the proto's first from 5 (id + 4: its <s> is 5, </s> 6), <mask>
//              last (lstrip); unk_id: the first <unk>.
// Both: Precompiled (the proto's charsmap); WhitespaceSplit + Metaspace (prepend unless
// add_prefix_space is false); <s> A </s> / <s> A </s> </s> B </s> (types 0); Metaspace decoder.
// Added tokens as TokenizersBackend.__init__ adds them: added_tokens_decoder, then the named
// special tokens, then the extra special tokens (the config's lists, else the proto's control
// and user-defined pieces), each once.
std::unique_ptr<Pipeline> fairseq_pipeline(const TokenizerFiles& files, const SpmProto& proto,
                                           bool camembert, const std::string& where,
                                           const std::string& origin) {
  const json config = config_of(files, origin);
  const std::string cwhere = origin + "tokenizer_config.json";
  const NamedTokens named = fairseq_named_tokens(files, config, camembert, origin);
  auto [vocab, unk_id] = fairseq_vocab(proto, named, camembert);
  auto p = std::make_unique<Pipeline>();
  p->model = std::make_unique<UnigramModel>(std::move(vocab), unk_id, false, where);
  if (!proto.precompiled_charsmap.empty())
    p->normalizer = std::make_unique<PrecompiledNormalizer>(proto.precompiled_charsmap, where);
  const bool prefix = get_or(config, "add_prefix_space", true, cwhere);
  std::vector<std::unique_ptr<PreTokenizer>> pre;
  pre.push_back(std::make_unique<WhitespaceSplitPreTokenizer>());
  pre.push_back(std::make_unique<MetaspacePreTokenizer>(
      U'\u2581',
      prefix ? MetaspacePreTokenizer::Prepend::Always : MetaspacePreTokenizer::Prepend::Never,
      true));
  p->pre_tokenizer = std::make_unique<SequencePreTokenizer>(std::move(pre));
  p->decoder = std::make_unique<MetaspaceDecoder>(U'\u2581', prefix);

  AddedTokenList added(config_added_tokens(config, cwhere));
  auto add = [&](const auto&... t) { added.add(t...); };
  for (const auto& [key, t] : named) add(t);
  bool config_extras = false;
  for (const char* key : {"additional_special_tokens", "extra_special_tokens"})
    if (config.contains(key) && config[key].is_array()) {
      config_extras = true;
      for (const json& v : config[key]) add(special_token_of(v, cwhere));
    }
  for (const auto& piece : proto.pieces)
    if (!config_extras && (piece.type == kControlPiece || piece.type == kUserDefinedPiece))
      add(piece.piece, piece.type == kControlPiece);
  p->added.add_tokens(added.tokens(), *p->model);
  p->added.rebuild(p->normalizer.get());

  const std::string bos = named_token(named, "bos_token"), eos = named_token(named, "eos_token");
  p->post_processor =
      make_template({{bos, 0}, {"$A", 0}, {eos, 0}},
                    {{bos, 0}, {"$A", 0}, {eos, 0}, {eos, 0}, {"$B", 0}, {eos, 0}}, *p, where);
  resolve_special_ids(*p, files, origin);
  return p;
}

// DebertaV2Tokenizer.__init__'s normalizer, pre-tokenizer and decoder, after
// tokenizer_config.json's do_lower_case, split_by_punct and add_prefix_space (see
// deberta_v2_pipeline).
void set_deberta_v2_components(Pipeline& p, const json& config, const std::string& cwhere) {
  std::vector<std::unique_ptr<Normalizer>> norms;
  if (get_or(config, "do_lower_case", false, cwhere))
    norms.push_back(std::make_unique<LowercaseNormalizer>());
  norms.push_back(
      std::make_unique<ReplaceNormalizer>("", std::make_unique<Regex>("\\s{2,}|[\\n\\r\\t]"), " "));
  norms.push_back(std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::Form::NFC));
  norms.push_back(std::make_unique<StripNormalizer>(false, true));
  p.normalizer = std::make_unique<SequenceNormalizer>(std::move(norms));

  const bool prefix = get_or(config, "add_prefix_space", true, cwhere);
  const auto prepend =
      prefix ? MetaspacePreTokenizer::Prepend::Always : MetaspacePreTokenizer::Prepend::First;
  std::vector<std::unique_ptr<PreTokenizer>> pre;
  if (get_or(config, "split_by_punct", false, cwhere))
    pre.push_back(std::make_unique<PunctuationPreTokenizer>(SplitBehavior::Isolated));
  pre.push_back(std::make_unique<MetaspacePreTokenizer>(U'\u2581', prepend, true));
  p.pre_tokenizer = std::make_unique<SequencePreTokenizer>(std::move(pre));
  p.decoder = std::make_unique<MetaspaceDecoder>(U'\u2581', true);
}

// What transformers 5 builds for DebertaV2Tokenizer from spm.model (no tokenizer.json):
// SentencePieceExtractor gives the pieces and scores, the unknown id and the control and
// user-defined pieces; DebertaV2Tokenizer.__init__ builds its own pipeline around them
// (the proto's precompiled charsmap is not used):
//   Unigram(pieces, unk_id: the index of (unk_token, 0.0) among them, else the proto's);
//   [Lowercase if do_lower_case], Replace(/\s{2,}|[\n\r\t]/, " "), NFC, Strip(right);
//   [Punctuation(isolated) if split_by_punct], Metaspace(prepend "always", or "first" when
//   add_prefix_space is false); [CLS] A [SEP] / [CLS] A [SEP] B:1 [SEP]:1; Metaspace decoder.
// Added tokens: added_tokens_decoder, the named special tokens ([CLS] [SEP] [UNK] [SEP] [PAD]
// [CLS] [MASK] by default; [MASK] is no piece in the v3 models: it is added after them),
// the proto's control (special) and user-defined pieces, the config's lists; each once.
std::unique_ptr<Pipeline> deberta_v2_pipeline(const TokenizerFiles& files, const SpmProto& proto,
                                              const std::string& where, const std::string& origin) {
  const json config = config_of(files, origin);
  const std::string cwhere = origin + "tokenizer_config.json";
  const auto names = special_token_names(files, origin);
  auto name = [&](const char* key, const char* fallback) {
    auto it = names.find(key);
    return it == names.end() ? std::string(fallback) : it->second;
  };
  static const std::vector<std::pair<const char*, const char*>> kNamed = {
      {"bos_token", "[CLS]"},  {"eos_token", "[SEP]"}, {"unk_token", "[UNK]"},
      {"sep_token", "[SEP]"},  {"pad_token", "[PAD]"}, {"cls_token", "[CLS]"},
      {"mask_token", "[MASK]"}};

  std::vector<std::pair<std::string, double>> vocab;
  uint32_t unk = static_cast<uint32_t>(std::max<int64_t>(proto.unk_id, 0));
  const std::string unk_token = name("unk_token", "[UNK]");
  bool found = false;
  for (const auto& piece : proto.pieces) {
    // vocab.index((unk_token, 0.0)): the first such piece
    if (!found && piece.piece == unk_token && piece.score == 0.0f) {
      unk = static_cast<uint32_t>(vocab.size());
      found = true;
    }
    vocab.emplace_back(piece.piece, static_cast<double>(piece.score));
  }
  auto p = std::make_unique<Pipeline>();
  p->model = std::make_unique<UnigramModel>(std::move(vocab), unk, false, where);
  set_deberta_v2_components(*p, config, cwhere);

  AddedTokenList added(config_added_tokens(config, cwhere));
  auto add = [&](const std::string& content, bool special) { added.add(content, special); };
  for (const auto& [key, fallback] : kNamed) add(name(key, fallback), true);
  for (const auto& piece : proto.pieces)
    if (piece.type == 3 || piece.type == 4) add(piece.piece, piece.type == 3);
  for (const char* key : {"additional_special_tokens", "extra_special_tokens"})
    for (const std::string& c : config_token_list(config, key)) add(c, true);
  p->added.add_tokens(added.tokens(), *p->model);
  p->added.rebuild(p->normalizer.get());

  const std::string cls = name("cls_token", "[CLS]"), sep = name("sep_token", "[SEP]");
  p->post_processor =
      make_template({{cls, 0}, {"$A", 0}, {sep, 0}},
                    {{cls, 0}, {"$A", 0}, {sep, 0}, {"$B", 1}, {sep, 1}}, *p, where);
  resolve_special_ids(*p, files, origin);
  return p;
}

// transformers 5's LlamaTokenizer (LlamaTokenizerFast is the same class) builds its normalizer,
// pre-tokenizer and decoder in __init__ from tokenizer_config.json's legacy (default false) and
// add_prefix_space (null or absent: true): no normalizer; Metaspace(prepend "first", or
// "always" when legacy, "never" without add_prefix_space; not split); Replace("▁", " "),
// ByteFallback, Fuse, and Strip(" ", 1, 0) with add_prefix_space.
void set_llama_components(Pipeline& p, const json& config, const std::string& cwhere) {
  const bool prefix = get_or(config, "add_prefix_space", true, cwhere);
  const bool legacy = get_or(config, "legacy", false, cwhere);
  const auto prepend = !prefix  ? MetaspacePreTokenizer::Prepend::Never
                       : legacy ? MetaspacePreTokenizer::Prepend::Always
                                : MetaspacePreTokenizer::Prepend::First;
  p.normalizer.reset();
  p.pre_tokenizer = std::make_unique<MetaspacePreTokenizer>(U'\u2581', prepend, false);
  std::vector<std::unique_ptr<Decoder>> dec;
  dec.push_back(std::make_unique<ReplaceDecoder>(
      std::make_unique<ReplaceNormalizer>("\xE2\x96\x81", nullptr, " ")));
  dec.push_back(std::make_unique<ByteFallbackDecoder>());
  dec.push_back(std::make_unique<FuseDecoder>());
  if (prefix) dec.push_back(std::make_unique<StripDecoder>(U' ', 1, 0));
  p.decoder = std::make_unique<SequenceDecoder>(std::move(dec));
}

// LlamaTokenizer's named special tokens: the config's, and the class's defaults (<s> </s> <unk>)
// for those it does not name or set to null.
std::map<std::string, std::string> llama_special_token_names(const TokenizerFiles& files,
                                                             const std::string& origin) {
  auto names = special_token_names(files, origin);
  const auto none = null_special_tokens(files, origin);
  for (const auto& [key, value] :
       {std::pair{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"}})
    if (!none.count(key)) names.emplace(key, value);
  return names;
}

// TokenizersBackend.update_post_processor: bos A [eos] / bos A [eos] bos:1 B:1 [eos:1] after
// add_bos_token and add_eos_token (both false unless the config sets them), bos and eos by name.
void set_bos_eos_template(Pipeline& p, const json& config, const std::string& bos,
                          const std::string& eos, const std::string& cwhere,
                          const std::string& where) {
  const bool add_bos = !bos.empty() && get_or(config, "add_bos_token", false, cwhere);
  const bool add_eos = !eos.empty() && get_or(config, "add_eos_token", false, cwhere);
  std::vector<std::pair<std::string, uint32_t>> single, pair;
  for (uint32_t type : {0u, 1u}) {
    auto& out = type == 0 ? single : pair;
    if (type == 1) out = single;
    if (add_bos) out.emplace_back(bos, type);
    out.emplace_back(type == 0 ? "$A" : "$B", type);
    if (add_eos) out.emplace_back(eos, type);
  }
  p.post_processor = make_template(single, pair, p, where);
}

// convert_slow_tokenizer.SentencePieceExtractor's BPE merges (generate_merges of the
// vocabulary, without scores): every split of a piece into two pieces, ordered by the id of the
// piece they make, then by the length (in code points) of the left one.
std::vector<std::pair<std::string, std::string>> spm_bpe_merges(const SpmProto& proto) {
  std::unordered_map<std::string_view, uint32_t> ids;  // a dict: the last id of a piece wins
  for (size_t i = 0; i < proto.pieces.size(); ++i)
    ids[proto.pieces[i].piece] = static_cast<uint32_t>(i);
  struct Merge {
    uint32_t id;
    size_t left_chars;
    std::string_view left, right;
  };
  std::vector<Merge> merges;
  std::set<std::string_view> seen;
  for (const auto& entry : proto.pieces) {
    const std::string_view piece = entry.piece;
    if (!seen.insert(piece).second) continue;  // a dict's keys: each once
    size_t chars = 0;
    for (size_t i = 0; i < piece.size();) {
      i += std::max<size_t>(1, utf8_len(static_cast<unsigned char>(piece[i])));
      ++chars;
      if (i >= piece.size()) break;
      const std::string_view left = piece.substr(0, i), right = piece.substr(i);
      if (ids.count(left) && ids.count(right))
        merges.push_back({ids.at(piece), chars, left, right});
    }
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    return a.id != b.id ? a.id < b.id : a.left_chars < b.left_chars;
  });
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges.size());
  for (const Merge& m : merges) out.emplace_back(m.left, m.right);
  return out;
}

// What transformers 5 builds for LlamaTokenizer from tokenizer.model (no tokenizer.json):
// SentencePieceExtractor gives the pieces as a vocabulary (piece -> id) and their merges
// (spm_bpe_merges); LlamaTokenizer.__init__ builds BPE(vocab, merges, fuse_unk, byte_fallback,
// no unk token) and its components (set_llama_components); update_post_processor adds the bos
// (and eos) that add_bos_token (add_eos_token) asks for: neither when the config does not say,
// unlike the Llama 2 checkpoints' tokenizer.json, whose config says add_bos_token.
// Added tokens: added_tokens_decoder, the named special tokens (<s> </s> <unk> by default), the
// proto's control (special) and user-defined pieces, the config's lists; each once.
std::unique_ptr<Pipeline> llama_pipeline(const TokenizerFiles& files, const SpmProto& proto,
                                         const std::string& where, const std::string& origin) {
  const json config = config_of(files, origin);
  const std::string cwhere = origin + "tokenizer_config.json";
  const auto names = llama_special_token_names(files, origin);

  Vocab vocab;
  for (size_t i = 0; i < proto.pieces.size(); ++i)
    vocab.insert(proto.pieces[i].piece, static_cast<uint32_t>(i));
  BpeModel::Options o;
  o.fuse_unk = true;
  o.byte_fallback = true;
  auto p = std::make_unique<Pipeline>();
  p->model = std::make_unique<BpeModel>(std::move(vocab), spm_bpe_merges(proto), o, where);
  set_llama_components(*p, config, cwhere);

  AddedTokenList added(config_added_tokens(config, cwhere));
  auto add = [&](const std::string& content, bool special) { added.add(content, special); };
  for (const char* key :
       {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"})
    if (auto it = names.find(key); it != names.end()) add(it->second, true);
  // The extra special tokens: the config's (extra_special_tokens unless empty, else
  // additional_special_tokens), else SentencePieceExtractor's, the proto's control (special) and
  // user-defined pieces: the config's list replaces those (a renamed bos leaves <s> plain text).
  const bool extra = !config_token_list(config, "extra_special_tokens").empty();
  const char* list = extra || !config.contains("additional_special_tokens")
                         ? "extra_special_tokens"
                         : "additional_special_tokens";
  if (config.contains(list)) {
    for (const std::string& c : config_token_list(config, list)) add(c, true);
  } else {
    for (const auto& piece : proto.pieces)
      if (piece.type == kControlPiece || piece.type == kUserDefinedPiece)
        add(piece.piece, piece.type == kControlPiece);
  }
  p->added.add_tokens(added.tokens(), *p->model);
  p->added.rebuild(nullptr);

  auto name = [&](const char* key) {
    auto it = names.find(key);
    return it == names.end() ? std::string() : it->second;
  };
  set_bos_eos_template(*p, config, name("bos_token"), name("eos_token"), cwhere, where);
  resolve_special_ids(*p, files, origin, &names);
  return p;
}

// The model_types whose AutoTokenizer class (transformers 5's TOKENIZER_MAPPING_NAMES) hfjit
// builds from a SentencePiece file, and the file that class reads (its vocab_files_names).
struct SentencePieceClass {
  const char* model_type;
  const char* class_name;
  const char* model_file;
};
constexpr SentencePieceClass kSentencePieceClasses[] = {
    {"albert", "AlbertTokenizer", "spiece.model"},
    {"camembert", "CamembertTokenizer", "sentencepiece.bpe.model"},
    {"deberta-v2", "DebertaV2Tokenizer", "spm.model"},
    {"mt5", "T5Tokenizer", "spiece.model"},
    {"t5", "T5Tokenizer", "spiece.model"},
    {"xlm-roberta", "XLMRobertaTokenizer", "sentencepiece.bpe.model"},
    {"xmod", "XLMRobertaTokenizer", "sentencepiece.bpe.model"},
};

// The tokenizer class AutoTokenizer picks for a folder without tokenizer.json:
// tokenizer_config.json's tokenizer_class, else config.json's, else the class of config.json's
// model_type (kSentencePieceClasses, when that class reads `model_file`). Empty when none names
// one; `why` then says what is missing.
std::string sentencepiece_class(const TokenizerFiles& files, const std::string& model_file,
                                const std::string& origin, std::string& why) {
  const std::string cls = get_or(config_of(files, origin), "tokenizer_class", std::string(),
                                 origin + "tokenizer_config.json");
  if (!cls.empty()) return cls;
  const std::string* text = find_file(files, "config.json");
  if (!text) {
    why = "no config.json";
    return "";
  }
  const std::string mwhere = origin + "config.json";
  const json model = parse_json(*text, mwhere);
  if (!model.is_object()) throw Error(mwhere + ": not a JSON object");
  if (std::string c = get_or(model, "tokenizer_class", std::string(), mwhere); !c.empty()) return c;
  const std::string type = get_or(model, "model_type", std::string(), mwhere);
  for (const SentencePieceClass& c : kSentencePieceClasses)
    if (type == c.model_type && model_file == c.model_file) return c.class_name;
  why =
      type.empty() ? "no model_type in config.json" : "config.json's model_type is '" + type + "'";
  return "";
}

// The class a folder with tokenizer.json declares: tokenizer_config.json's tokenizer_class, else
// config.json's (AutoTokenizer's declared class; empty when neither names one).
std::string declared_class(const TokenizerFiles& files, const std::string& origin) {
  std::string cls = get_or(config_of(files, origin), "tokenizer_class", std::string(),
                           origin + "tokenizer_config.json");
  if (!cls.empty()) return cls;
  if (const std::string* text = find_file(files, "config.json")) {
    const json model = parse_json(*text, origin + "config.json");
    if (model.is_object())
      cls = get_or(model, "tokenizer_class", std::string(), origin + "config.json");
  }
  return cls;
}

}  // namespace

// What transformers 5 builds for a folder with spiece.model and no tokenizer.json:
// AlbertTokenizer / T5Tokenizer.from_pretrained extract the vocabulary (pieces and
// scores), the unknown id and the precompiled charsmap from the proto
// (SentencePieceExtractor; T5Converter.convert_from_spm appends the <extra_id_N>
// sentinels) and build a `tokenizers` pipeline in the class's __init__:
//   ALBERT: Replace ``/'' -> ", [NFKD, StripAccents unless keep_accents],
//           [Lowercase if do_lower_case], Precompiled; WhitespaceSplit + Metaspace;
//           Unigram(unk_id=1); [CLS] A [SEP] / [CLS] A [SEP] B [SEP] (types 0/1);
//           Metaspace decoder.
//   T5:     Precompiled; WhitespaceSplit + Metaspace; Unigram(unk_id=2);
//           A </s> / A </s> B </s> (types 0); Metaspace decoder.
// XLMRobertaTokenizer / CamembertTokenizer: fairseq's layout (fairseq_pipeline).
// DebertaV2Tokenizer, or spm.model without a tokenizer_class: deberta_v2_pipeline.
// The class is AutoTokenizer's (sentencepiece_class): tokenizer_config.json's tokenizer_class,
// else config.json's tokenizer_class or model_type. sentencepiece.bpe.model without a class is
// an Error: its fairseq numbering differs between XLM-R and CamemBERT, and the bare model has
// neither.
// Other classes: the bare SentencePiece model (libsentencepiece), no special tokens added.
std::unique_ptr<Pipeline> pipeline_from_sentencepiece_files(const TokenizerFiles& files,
                                                            const std::string& model_file,
                                                            const std::string& origin) {
  const std::string where = origin + model_file;
  const json config = config_of(files, origin);
  const std::string cwhere = origin + "tokenizer_config.json";
  std::string why;
  const std::string cls_name = sentencepiece_class(files, model_file, origin, why);
  // spm.model is DeBERTa-v2's file name; microsoft/deberta-v3-* name no tokenizer_class.
  if (cls_name.starts_with("DebertaV2") || (cls_name.empty() && model_file == "spm.model"))
    return deberta_v2_pipeline(files, parse_spm_proto(files.at(model_file), where), where, origin);
  if (cls_name.starts_with("XLMRoberta") || cls_name.starts_with("Camembert"))
    return fairseq_pipeline(files, parse_spm_proto(files.at(model_file), where),
                            cls_name.starts_with("Camembert"), where, origin);
  if (cls_name.starts_with("LlamaTokenizer") && model_file == "tokenizer.model")
    return llama_pipeline(files, parse_spm_proto(files.at(model_file), where), where, origin);
  if (cls_name.empty() && model_file == "sentencepiece.bpe.model")
    throw Error(where + ": no tokenizer.json, no tokenizer_class in tokenizer_config.json and " +
                why +
                ": hfjit builds this file as XLMRobertaTokenizer (model_type xlm-roberta, xmod) or "
                "CamembertTokenizer (camembert) only");
  auto names = special_token_names(files, origin);
  const bool albert = cls_name.rfind("Albert", 0) == 0, t5 = cls_name.rfind("T5", 0) == 0;
  // The class's own special tokens where the config names none (a folder with config.json only).
  static const std::pair<const char*, const char*> kAlbertDefaults[] = {
      {"bos_token", "[CLS]"},  {"eos_token", "[SEP]"}, {"unk_token", "<unk>"},
      {"sep_token", "[SEP]"},  {"pad_token", "<pad>"}, {"cls_token", "[CLS]"},
      {"mask_token", "[MASK]"}};
  static const std::pair<const char*, const char*> kT5Defaults[] = {
      {"eos_token", "</s>"}, {"unk_token", "<unk>"}, {"pad_token", "<pad>"}};
  if (albert)
    for (const auto& [key, value] : kAlbertDefaults) names.emplace(key, value);
  if (t5)
    for (const auto& [key, value] : kT5Defaults) names.emplace(key, value);
  auto p = std::make_unique<Pipeline>();
  if (!albert && !t5) {
    auto model = std::make_unique<SentencePieceModel>(files.at(model_file), where);
    p->decoder = std::make_unique<SentencePieceDecoder>(model->processor());
    p->model = std::move(model);
    std::vector<AddedToken> added = config_added_tokens(config, cwhere);
    if (added.empty())
      added = default_specials(
          names, {"pad_token", "unk_token", "cls_token", "sep_token", "mask_token", "eos_token"});
    p->added.add_tokens(added, *p->model);
    p->added.rebuild(nullptr);
    resolve_special_ids(*p, files, origin);
    return p;
  }

  const SpmProto proto = parse_spm_proto(files.at(model_file), where);
  std::vector<std::pair<std::string, double>> vocab;
  vocab.reserve(proto.pieces.size());
  for (const auto& piece : proto.pieces)
    vocab.emplace_back(piece.piece, static_cast<double>(piece.score));
  std::vector<std::string> extra_ids;
  if (t5) {
    const int64_t n = get_or(config, "extra_ids", int64_t(100), cwhere);
    for (int64_t i = n - 1; i >= 0; --i) {
      extra_ids.push_back("<extra_id_" + std::to_string(i) + ">");
      vocab.emplace_back(extra_ids.back(), 0.0);
    }
  }
  // The classes pass a fixed unk_id to Unigram (the proto's is not used).
  p->model =
      std::make_unique<UnigramModel>(std::move(vocab), uint32_t(albert ? 1 : 2), false, where);

  std::vector<std::unique_ptr<Normalizer>> norms;
  if (albert) {
    norms.push_back(std::make_unique<ReplaceNormalizer>("``", nullptr, "\""));
    norms.push_back(std::make_unique<ReplaceNormalizer>("''", nullptr, "\""));
    if (!get_or(config, "keep_accents", false, cwhere)) {
      norms.push_back(std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::Form::NFKD));
      norms.push_back(std::make_unique<StripAccentsNormalizer>());
    }
    if (get_or(config, "do_lower_case", true, cwhere))
      norms.push_back(std::make_unique<LowercaseNormalizer>());
  }
  if (!proto.precompiled_charsmap.empty())
    norms.push_back(std::make_unique<PrecompiledNormalizer>(proto.precompiled_charsmap, where));
  if (!norms.empty()) p->normalizer = std::make_unique<SequenceNormalizer>(std::move(norms));

  const bool prefix = albert ? get_or(config, "add_prefix_space", true, cwhere) : true;
  std::vector<std::unique_ptr<PreTokenizer>> pre;
  pre.push_back(std::make_unique<WhitespaceSplitPreTokenizer>());
  pre.push_back(std::make_unique<MetaspacePreTokenizer>(
      U'\u2581',
      prefix ? MetaspacePreTokenizer::Prepend::Always : MetaspacePreTokenizer::Prepend::Never,
      true));
  p->pre_tokenizer = std::make_unique<SequencePreTokenizer>(std::move(pre));
  p->decoder = std::make_unique<MetaspaceDecoder>(U'\u2581', prefix);

  // Added tokens: those of added_tokens_decoder, else the named special tokens, the
  // config's extra special tokens, the proto's control (special) and user-defined
  // (not special) pieces and T5's sentinels; none normalized.
  AddedTokenList added(config_added_tokens(config, cwhere));
  if (added.tokens().empty()) {
    auto add = [&](const std::string& content, bool special) { added.add(content, special); };
    for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                            "cls_token", "mask_token"})
      if (auto it = names.find(key); it != names.end()) add(it->second, true);
    for (const char* key : {"extra_special_tokens", "additional_special_tokens"})
      for (const std::string& c : config_token_list(config, key)) add(c, true);
    for (const auto& piece : proto.pieces)
      if (piece.type == 3 || piece.type == 4) add(piece.piece, piece.type == 3);
    for (auto it = extra_ids.rbegin(); it != extra_ids.rend(); ++it) add(*it, true);
  }
  p->added.add_tokens(added.tokens(), *p->model);
  p->added.rebuild(p->normalizer.get());

  auto name = [&](const char* key, const char* fallback) {
    auto it = names.find(key);
    return it == names.end() ? std::string(fallback) : it->second;
  };
  if (albert) {
    const std::string cls = name("cls_token", "[CLS]"), sep = name("sep_token", "[SEP]");
    p->post_processor =
        make_template({{cls, 0}, {"$A", 0}, {sep, 0}},
                      {{cls, 0}, {"$A", 0}, {sep, 0}, {"$B", 1}, {sep, 1}}, *p, where);
  } else {
    const std::string eos = name("eos_token", "</s>");
    p->post_processor =
        make_template({{"$A", 0}, {eos, 0}}, {{"$A", 0}, {eos, 0}, {"$B", 0}, {eos, 0}}, *p, where);
  }
  resolve_special_ids(*p, files, origin, &names);
  return p;
}

namespace {

// A file MarianTokenizer needs: missing, an Error naming it.
const std::string& marian_file(const TokenizerFiles& files, const std::string& name,
                               const std::string& origin) {
  const std::string* text = find_file(files, name);
  if (!text)
    throw Error(origin + name +
                ": missing (MarianTokenizer reads source.spm, target.spm and vocab.json)");
  return *text;
}

}  // namespace

// transformers 5's MarianTokenizer (Helsinki-NLP/opus-mt-*; the parts in marian.h): special
// tokens (added_tokens_decoder, then the named ones, </s> <unk> <pad> by default, then the
// config's extra special tokens) split out of the raw text, each chunk through MarianModel
// (language code, source.spm, vocab.json), A </s>; decoding through vocab.json and source.spm,
// or target_vocab.json and target.spm with separate_vocabs. No punctuation normalizer: the
// class sets up sacremoses' MosesPunctNormalizer when it can, but only its normalize() method
// uses it, not encoding.
std::unique_ptr<Pipeline> marian_pipeline(const TokenizerFiles& files, const std::string& origin) {
  const json config = config_of(files, origin);
  const std::string cwhere = origin + "tokenizer_config.json";
  const std::string& source = marian_file(files, "source.spm", origin);
  const std::string& target = marian_file(files, "target.spm", origin);
  const std::string vwhere = origin + "vocab.json";
  const Vocab encoder =
      vocab_from_object(parse_json(marian_file(files, "vocab.json", origin), vwhere), vwhere);
  const bool separate = get_or(config, "separate_vocabs", false, cwhere);
  std::optional<Vocab> target_vocab;
  if (separate) {
    const std::string twhere = origin + "target_vocab.json";
    const std::string* text = find_file(files, "target_vocab.json");
    if (!text) throw Error(twhere + ": missing (tokenizer_config.json sets separate_vocabs)");
    target_vocab = vocab_from_object(parse_json(*text, twhere), twhere);
  }

  auto names = special_token_names(files, origin);
  for (const auto& [key, value] : {std::pair<const char*, const char*>{"unk_token", "<unk>"},
                                   {"eos_token", "</s>"},
                                   {"pad_token", "<pad>"}})
    names.emplace(key, value);
  const std::optional<uint32_t> unk = encoder.find(names["unk_token"]);
  if (!unk)
    throw Error(vwhere + ": no '" + names["unk_token"] +
                "' (the unk_token): MarianTokenizer needs it in the vocabulary");

  std::shared_ptr<const SpmProcessor> source_spm = load_spm(source, origin + "source.spm");
  std::shared_ptr<const SpmProcessor> target_spm = load_spm(target, origin + "target.spm");
  const std::shared_ptr<const SpmProcessor>& decode_spm = separate ? target_spm : source_spm;
  auto p = std::make_unique<Pipeline>();
  p->model = std::make_unique<MarianModel>(source_spm, encoder, separate ? *target_vocab : encoder,
                                           *decode_spm, *unk);

  AddedTokenList added(config_added_tokens(config, cwhere));
  std::vector<std::string> specials;  // all_special_tokens: the named ones, then the extra ones
  for (const char* key :
       {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"})
    if (auto it = names.find(key); it != names.end()) specials.push_back(it->second);
  for (const char* key : {"extra_special_tokens", "additional_special_tokens"})
    for (const std::string& c : config_token_list(config, key)) specials.push_back(c);
  for (const std::string& c : specials) added.add(c, true);
  p->added.add_tokens(added.tokens(), *p->model);
  p->added.rebuild(nullptr);

  std::set<int64_t> mask_ids;
  for (const std::string& c : specials)
    if (const auto id = p->added.token_to_id(c); id && *id != *unk) mask_ids.insert(*id);
  const std::string& eos = names["eos_token"];
  const std::optional<uint32_t> eos_id = p->added.token_to_id(eos);
  p->post_processor = std::make_unique<MarianPostProcessor>(*eos_id, eos, std::move(mask_ids));
  p->decoder = std::make_unique<MarianDecoder>(
      decode_spm, std::set<std::string>(specials.begin(), specials.end()));
  resolve_special_ids(*p, files, origin, &names);
  return p;
}

// MarianTokenizer is AutoTokenizer's class: tokenizer_config.json's tokenizer_class, else
// config.json's tokenizer_class or model_type "marian"; or no class is named and the files are
// Marian's (source.spm or target.spm).
bool is_marian(const TokenizerFiles& files, const std::string& origin) {
  std::string cls = declared_class(files, origin);
  if (cls.empty())
    if (const std::string* text = find_file(files, "config.json")) {
      const json model = parse_json(*text, origin + "config.json");
      if (model.is_object() &&
          get_or(model, "model_type", std::string(), origin + "config.json") == "marian")
        cls = "MarianTokenizer";
    }
  if (!cls.empty()) return cls.starts_with("MarianTokenizer");
  return files.count("source.spm") || files.count("target.spm");
}

std::unique_ptr<Tokenizer> sentencepiece_tokenizer(const std::string& proto,
                                                   const std::string& origin) {
  auto p = std::make_unique<Pipeline>();
  auto model = std::make_unique<SentencePieceModel>(proto, origin);
  p->decoder = std::make_unique<SentencePieceDecoder>(model->processor());
  p->model = std::move(model);
  p->added.add_tokens({}, *p->model);
  p->added.rebuild(nullptr);
  return std::make_unique<Tokenizer>(std::move(p));
}

}  // namespace tokenizers

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names = {"tokenizer.json",
                                                 "tokenizer_config.json",
                                                 "special_tokens_map.json",
                                                 "added_tokens.json",
                                                 "vocab.txt",
                                                 "vocab.json",
                                                 "merges.txt",
                                                 "spiece.model",
                                                 "tokenizer.model",
                                                 "sentencepiece.bpe.model",
                                                 "spm.model",
                                                 "source.spm",
                                                 "target.spm",
                                                 "target_vocab.json"};
  return names;
}

std::unique_ptr<Tokenizer> load_tokenizer_from_files(const TokenizerFiles& files,
                                                     const std::string& origin) {
  using namespace tokenizers;
  std::unique_ptr<Pipeline> p;
  if (is_marian(files, origin)) {  // a Python tokenizer in transformers: tokenizer.json unused
    p = marian_pipeline(files, origin);
  } else if (auto it = files.find("tokenizer.json"); it != files.end()) {
    // The special tokens of a class that names its own (else guessed from the usual names).
    std::optional<std::map<std::string, std::string>> class_names;
    const std::string where = origin + "tokenizer.json";
    const json config = config_of(files, origin);
    const std::string cwhere = origin + "tokenizer_config.json";
    const std::string cls = declared_class(files, origin);
    if (cls.starts_with("LlamaTokenizer") &&
        it->second.find("\"ByteLevel\"") == std::string::npos) {
      // transformers 5's LlamaTokenizer keeps tokenizer.json's vocabulary, merges, added tokens
      // and post-processor (add_bos_token and add_eos_token are not read then), and builds the
      // rest itself: BPE(fuse_unk, byte_fallback, no unk token) and set_llama_components
      // (transformers 4 converted a legacy Llama's tokenizer.model with a Prepend + Replace
      // normalizer and no pre-tokenizer). A tokenizer.json with ByteLevel (Llama 3's, whose
      // config may still say LlamaTokenizer) is loaded as it is, as AutoTokenizer then loads it
      // (TokenizersBackend).
      json j = parse_json(it->second, where);
      if (!j.is_object()) throw Error(where + ": not a JSON object");
      if (j.contains("model") && j["model"].is_object() && j["model"].value("type", "") == "BPE") {
        json& m = j["model"];
        m["unk_token"] = nullptr;
        m["continuing_subword_prefix"] = nullptr;
        m["end_of_word_suffix"] = nullptr;
        m["fuse_unk"] = true;
        m["byte_fallback"] = true;
        m["ignore_merges"] = false;
      }
      j["normalizer"] = nullptr;
      p = pipeline_from_json(j, where);
      set_llama_components(*p, config, cwhere);
      p->added.rebuild(nullptr);
      class_names = llama_special_token_names(files, origin);
    } else {
      p = pipeline_from_tokenizer_json(it->second, where);
    }
    // transformers 5's DebertaV2Tokenizer keeps tokenizer.json's vocabulary, added tokens and
    // post-processor but builds its own normalizer, pre-tokenizer and decoder (transformers 4
    // converted spm.model with others: Strip, the proto's charsmap, Replace(" {2,}", " ")).
    if (get_or(config, "tokenizer_class", std::string(), cwhere).starts_with("DebertaV2")) {
      set_deberta_v2_components(*p, config, cwhere);
      p->added.rebuild(p->normalizer.get());
    }
    resolve_special_ids(*p, files, origin, class_names ? &*class_names : nullptr);
  } else if (files.count("vocab.txt")) {
    p = pipeline_from_wordpiece_files(files, origin);
  } else if (files.count("vocab.json")) {
    p = pipeline_from_bpe_files(files, origin);
  } else {
    for (const char* model :
         {"spiece.model", "tokenizer.model", "sentencepiece.bpe.model", "spm.model"})
      if (files.count(model)) {
        p = pipeline_from_sentencepiece_files(files, model, origin);
        break;
      }
  }
  if (!p)
    throw Error((origin.empty() ? std::string("tokenizer") : origin) +
                ": no tokenizer files (tokenizer.json, vocab.txt, vocab.json + merges.txt or "
                "spiece.model)");
  return std::make_unique<Tokenizer>(std::move(p));
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw Error(dir + ": not a folder");
  TokenizerFiles files;
  // The tokenizer files, and config.json: AutoTokenizer's choice of class reads it too.
  std::vector<std::string> names = tokenizer_file_names();
  names.push_back("config.json");
  for (const std::string& name : names) {
    const fs::path path = fs::path(dir) / name;
    if (!fs::is_regular_file(path)) continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path.string() + ": cannot open");
    std::ostringstream buf;
    buf << in.rdbuf();
    files[name] = buf.str();
  }
  std::string origin = dir;
  if (!origin.empty() && origin.back() != '/') origin += '/';
  return load_tokenizer_from_files(files, origin);
}

}  // namespace hfjit
