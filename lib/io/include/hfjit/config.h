#pragma once
// config.json, typed: the fields every architecture shares (with the GPT-2
// style aliases n_embd, n_layer, ... resolved as transformers' attribute_map
// does), plus the raw JSON for the family-specific ones.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hfjit {

struct ModelConfig {
  nlohmann::json raw;
  std::string path;  // where it came from, for errors

  std::string model_type;
  std::vector<std::string> architectures;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t max_position_embeddings = 0;
  std::optional<int64_t> pad_token_id;
  std::optional<bool> tie_word_embeddings;  // absent means the class default (true for most)
  std::map<int64_t, std::string> id2label;

  bool has(const std::string& key) const { return raw.contains(key) && !raw[key].is_null(); }
  // A field of the raw JSON with a default; a value of the wrong type is an Error naming it.
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
};

ModelConfig parse_config(const std::string& text, const std::string& where);
// config.json's id2label object: keys integers (as strings), values names.
std::map<int64_t, std::string> parse_id2label(const nlohmann::json& map, const std::string& where);
// Reads <dir>/config.json.
ModelConfig load_config(const std::string& dir);

}  // namespace hfjit
