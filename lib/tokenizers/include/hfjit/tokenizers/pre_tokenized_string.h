#pragma once
// PreTokenizedString: the input cut into splits (NormalizedStrings), each
// later tokenized by the model. A port of `tokenizers::PreTokenizedString`;
// splits that already hold tokens (added tokens) are left alone.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hfjit/tokenizers/normalized_string.h"

namespace hfjit::tokenizers {

// A model output: id, piece, and byte offsets in the split's normalized text.
struct Token {
  uint32_t id;
  std::string value;
  size_t start;
  size_t end;
};

struct Split {
  NormalizedString normalized;
  std::optional<std::vector<Token>> tokens;
};

class PreTokenizedString {
 public:
  explicit PreTokenizedString(NormalizedString whole) {
    splits_.push_back({std::move(whole), std::nullopt});
  }

  std::vector<Split>& splits() { return splits_; }
  const std::vector<Split>& splits() const { return splits_; }

  // Replaces each untokenized split with fn(split) (empty results are dropped).
  template <typename Fn>
  void split(Fn fn) {
    std::vector<Split> out;
    out.reserve(splits_.size() * 2);
    for (Split& s : splits_) {
      if (s.tokens) {
        out.push_back(std::move(s));
        continue;
      }
      for (auto& piece : fn(std::move(s.normalized)))
        if (!piece.normalized.empty()) out.push_back(std::move(piece));
    }
    splits_ = std::move(out);
  }

  // Applies fn to each untokenized split in place.
  template <typename Fn>
  void normalize(Fn fn) {
    for (Split& s : splits_)
      if (!s.tokens) fn(s.normalized);
  }

 private:
  std::vector<Split> splits_;
};

// Wraps NormalizedStrings as untokenized splits.
inline std::vector<Split> as_splits(std::vector<NormalizedString>&& parts) {
  std::vector<Split> out;
  out.reserve(parts.size());
  for (auto& p : parts) out.push_back({std::move(p), std::nullopt});
  return out;
}

}  // namespace hfjit::tokenizers
