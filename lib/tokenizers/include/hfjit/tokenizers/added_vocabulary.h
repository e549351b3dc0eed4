#pragma once
// AddedVocabulary: the tokens added on top of the model's vocabulary (special
// tokens and user tokens), found in the raw text before normalization (or in
// the normalized text for `normalized` ones) and never split by the model.
// A port of `tokenizers::AddedVocabulary`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "hfjit/tokenizers/models.h"
#include "hfjit/tokenizers/normalizers.h"
#include "hfjit/tokenizers/pre_tokenized_string.h"

namespace hfjit::tokenizers {

struct AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

class AddedVocabulary {
 public:
  // As tokenizers' add_tokens: a token keeps the id the model gives it, else
  // gets the next free id. Call rebuild() once all are added.
  void add_tokens(const std::vector<AddedToken>& tokens, const Model& model);
  // Builds the matchers; normalized tokens are matched in their normalized form.
  void rebuild(const Normalizer* normalizer);

  std::optional<uint32_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(uint32_t id) const;
  bool is_special(const std::string& token) const { return special_set_.count(token) > 0; }
  // Added tokens not in the model's vocabulary.
  size_t size() const { return map_.size(); }
  const std::vector<std::pair<uint32_t, AddedToken>>& tokens() const { return by_order_; }

  // Cuts the text around the added tokens (as splits that already hold their
  // token) and normalizes the rest.
  PreTokenizedString extract_and_normalize(const Normalizer* normalizer,
                                           std::string_view text) const;

 private:
  struct Pattern {
    std::string text;
    uint32_t id;
  };
  struct Matcher {
    std::vector<Pattern> patterns;               // longest first
    std::vector<std::vector<uint32_t>> by_byte;  // first byte -> pattern indices, longest first
    void build();
  };
  struct Match {
    bool is_token;
    uint32_t id;
    size_t start, end;
  };
  std::vector<Match> find_matches(const std::string& text, const Matcher& m) const;
  void split_with(PreTokenizedString& p, const Matcher& m) const;

  std::unordered_map<std::string, uint32_t> map_;
  std::unordered_map<uint32_t, AddedToken> map_r_;
  std::vector<AddedToken> special_tokens_, added_tokens_;
  std::unordered_set<std::string> special_set_;
  std::vector<std::pair<uint32_t, AddedToken>> by_order_;
  std::unordered_set<std::string> seen_;  // content and flags of each token added
  std::optional<uint32_t> max_id_;        // the largest id in map_
  const Model* model_ = nullptr;
  Matcher raw_, normalized_;
};

}  // namespace hfjit::tokenizers
