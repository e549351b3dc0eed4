#pragma once
// Template members of NormalizedString (included by normalized_string.h).

#include "hfjit/tokenizers/unicode.h"

namespace hfjit::tokenizers {

template <typename Keep>
void NormalizedString::filter(Keep keep) {
  int64_t removed = 0;
  size_t removed_start = 0;
  std::vector<CharChange> transforms;
  transforms.reserve(normalized_.size());
  bool have_last = false;
  char32_t last_c = 0;
  for (size_t i = 0; i < normalized_.size();) {
    const char32_t c = next_char(normalized_, i);
    if (keep(c)) {
      if (have_last) {
        transforms.push_back({last_c, -removed});
      } else {
        removed_start = static_cast<size_t>(removed);
      }
      last_c = c;
      have_last = true;
      removed = 0;
    } else {
      ++removed;
    }
  }
  if (have_last) transforms.push_back({last_c, -removed});
  transform(transforms, removed_start);
}

template <typename Map>
void NormalizedString::map(Map fn) {
  std::vector<CharChange> transforms;
  transforms.reserve(normalized_.size());
  for (size_t i = 0; i < normalized_.size();)
    transforms.push_back({fn(next_char(normalized_, i)), 0});
  transform(transforms, 0);
}

template <typename Pred>
std::vector<Span> find_char_matches(const std::string& text, Pred pred) {
  std::vector<Span> out;
  if (text.empty()) {
    out.push_back({0, 0, false});
    return out;
  }
  size_t last_offset = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t b = i;
    const char32_t c = next_char(text, i);
    if (pred(c)) {
      if (last_offset < b) out.push_back({last_offset, b, false});
      out.push_back({b, i, true});
      last_offset = i;
    }
  }
  if (text.size() > last_offset) out.push_back({last_offset, text.size(), false});
  return out;
}

}  // namespace hfjit::tokenizers
