#include "hfjit/config.h"

#include <filesystem>

#include "hfjit/error.h"
#include "hfjit/io/file.h"

namespace hfjit {
namespace {

using json = nlohmann::json;

// The first of `keys` present in `j`, or nullptr.
const json* first_of(const json& j, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (j.contains(k) && !j[k].is_null()) return &j[k];
  return nullptr;
}

[[noreturn]] void bad_type(const std::string& where, const std::string& key, const char* want) {
  throw Error(context(where, "\"" + key + "\" should be " + want));
}

int64_t as_int(const json& v, const std::string& where, const std::string& key) {
  if (!v.is_number_integer()) bad_type(where, key, "an integer");
  return v.get<int64_t>();
}

int64_t int_field(const json& j, std::initializer_list<const char*> keys,
                  const std::string& where) {
  const json* v = first_of(j, keys);
  return v ? as_int(*v, where, *keys.begin()) : 0;
}

}  // namespace

int64_t ModelConfig::get_int(const std::string& key, int64_t fallback) const {
  return has(key) ? as_int(raw[key], path, key) : fallback;
}

double ModelConfig::get_double(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  if (!raw[key].is_number()) bad_type(path, key, "a number");
  return raw[key].get<double>();
}

bool ModelConfig::get_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  if (!raw[key].is_boolean()) bad_type(path, key, "true or false");
  return raw[key].get<bool>();
}

std::string ModelConfig::get_string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  if (!raw[key].is_string()) bad_type(path, key, "a string");
  return raw[key].get<std::string>();
}

std::map<int64_t, std::string> parse_id2label(const json& map, const std::string& where) {
  std::map<int64_t, std::string> out;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it.value().is_string()) bad_type(where, "id2label", "a map of ids to label names");
    try {
      size_t used = 0;
      int64_t id = std::stoll(it.key(), &used);
      if (used != it.key().size()) throw std::invalid_argument("id");
      out[id] = it.value().get<std::string>();
    } catch (const std::exception&) {
      bad_type(where, "id2label", "a map of integer ids to label names");
    }
  }
  return out;
}

ModelConfig parse_config(const std::string& text, const std::string& where) {
  ModelConfig c;
  c.path = where;
  try {
    c.raw = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(context(where, "is not valid JSON (" + std::string(e.what()).substr(0, 120) + ")"));
  }
  if (!c.raw.is_object()) throw Error(context(where, "is not a JSON object"));
  const json& j = c.raw;
  if (!j.contains("model_type") || !j["model_type"].is_string())
    throw Error(context(where, "has no \"model_type\""));
  c.model_type = j["model_type"].get<std::string>();
  if (j.contains("architectures") && !j["architectures"].is_null()) {
    if (!j["architectures"].is_array()) bad_type(where, "architectures", "a list of class names");
    for (const json& a : j["architectures"]) {
      if (!a.is_string()) bad_type(where, "architectures", "a list of class names");
      c.architectures.push_back(a.get<std::string>());
    }
  }
  c.vocab_size = int_field(j, {"vocab_size"}, where);
  c.hidden_size = int_field(j, {"hidden_size", "n_embd", "d_model", "dim"}, where);
  c.num_hidden_layers =
      int_field(j, {"num_hidden_layers", "n_layer", "num_layers", "n_layers"}, where);
  c.num_attention_heads =
      int_field(j, {"num_attention_heads", "n_head", "num_heads", "n_heads"}, where);
  c.max_position_embeddings = int_field(j, {"max_position_embeddings", "n_positions"}, where);
  if (const json* v = first_of(j, {"pad_token_id"}))
    c.pad_token_id = as_int(*v, where, "pad_token_id");
  if (j.contains("tie_word_embeddings") && !j["tie_word_embeddings"].is_null()) {
    if (!j["tie_word_embeddings"].is_boolean())
      bad_type(where, "tie_word_embeddings", "true or false");
    c.tie_word_embeddings = j["tie_word_embeddings"].get<bool>();
  }
  if (j.contains("id2label") && j["id2label"].is_object())
    c.id2label = parse_id2label(j["id2label"], where);
  return c;
}

ModelConfig load_config(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(context(dir, "no config.json"));
  return parse_config(read_text_file(path), path);
}

}  // namespace hfjit
