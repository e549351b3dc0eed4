#include "hfjit/tokenizers/normalizers.h"

#include <cstring>

#include "hfjit/error.h"
#include "hfjit/tokenizers/unicode.h"

namespace hfjit::tokenizers {

namespace {

bool bert_is_whitespace(char32_t c) {
  return c == '\t' || c == '\n' || c == '\r' || is_whitespace(c);
}
bool bert_is_control(char32_t c) {
  return !(c == '\t' || c == '\n' || c == '\r') && is_other(c);
}

bool any_char(const std::string& s, bool (*pred)(char32_t)) {
  for (size_t i = 0; i < s.size();)
    if (pred(next_char(s, i))) return true;
  return false;
}

}  // namespace

void BertNormalizer::normalize(NormalizedString& s) const {
  if (clean_text_) {
    const std::string& text = s.get();
    bool needs_filter = false, needs_map = false;
    for (size_t i = 0; i < text.size();) {
      const char32_t c = next_char(text, i);
      if (c == 0 || c == 0xFFFD || bert_is_control(c))
        needs_filter = true;
      else if (c != ' ' && bert_is_whitespace(c))
        needs_map = true;
    }
    if (needs_filter)
      s.filter([](char32_t c) { return !(c == 0 || c == 0xFFFD || bert_is_control(c)); });
    if (needs_map) s.map([](char32_t c) { return bert_is_whitespace(c) ? char32_t(' ') : c; });
  }
  if (chinese_ && any_char(s.get(), is_chinese_char)) {
    std::vector<CharChange> dest;
    dest.reserve(s.len() + 16);
    const std::string& text = s.get();
    for (size_t i = 0; i < text.size();) {
      const char32_t c = next_char(text, i);
      if (is_chinese_char(c)) {
        dest.push_back({' ', 0});
        dest.push_back({c, 1});
        dest.push_back({' ', 1});
      } else {
        dest.push_back({c, 0});
      }
    }
    s.transform(dest, 0);
  }
  if (strip_accents_.value_or(lowercase_)) {
    s.nfd();
    if (any_char(s.get(), is_mark_nonspacing))
      s.filter([](char32_t c) { return !is_mark_nonspacing(c); });
  }
  if (lowercase_) s.lowercase();
}

void UnicodeNormalizer::normalize(NormalizedString& s) const {
  switch (form_) {
    case Form::NFD:
      s.nfd();
      break;
    case Form::NFKD:
      s.nfkd();
      break;
    case Form::NFC:
      s.nfc();
      break;
    case Form::NFKC:
      s.nfkc();
      break;
  }
}

void StripAccentsNormalizer::normalize(NormalizedString& s) const {
  s.filter([](char32_t c) { return !is_combining_mark(c); });
}

std::vector<Span> ReplaceNormalizer::matches(const std::string& text) const {
  return regex_ ? regex_->find_matches(text) : find_literal_matches(text, literal_);
}

void ReplaceNormalizer::normalize(NormalizedString& s) const {
  s.replace(matches(s.get()), content_);
}

std::string ReplaceNormalizer::apply(const std::string& text) const {
  std::string out;
  for (const Span& m : matches(text)) {
    if (m.is_match)
      out += content_;
    else
      out.append(text, m.start, m.end - m.start);
  }
  return out;
}

void NmtNormalizer::normalize(NormalizedString& s) const {
  s.filter([](char32_t c) {
    return !((c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F ||
             c == 0x8F || c == 0x9F);
  });
  s.map([](char32_t c) -> char32_t {
    switch (c) {
      case 0x9:
      case 0xA:
      case 0xC:
      case 0xD:
      case 0x1680:
      case 0x2028:
      case 0x2029:
      case 0x2581:
      case 0xFEFF:
      case 0xFFFD:
        return ' ';
      default:
        return c >= 0x200B && c <= 0x200F ? char32_t(' ') : c;
    }
  });
}

void ByteLevelNormalizer::normalize(NormalizedString& s) const {
  if (s.empty()) return;
  const std::string& text = s.get();
  std::vector<CharChange> dest;
  dest.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_len(static_cast<unsigned char>(text[i]));
    for (size_t k = 0; k < n; ++k)
      dest.push_back({byte_to_char(static_cast<unsigned char>(text[i + k])), k > 0});
    i += n;
  }
  s.transform(dest, 0);
}

// ---------------------------------------------------------------- Precompiled

PrecompiledNormalizer::PrecompiledNormalizer(const std::string& blob, const std::string& origin) {
  if (blob.size() < 4)
    throw Error(origin + ": precompiled_charsmap is too short (" + std::to_string(blob.size()) +
                " bytes)");
  uint32_t trie_size = 0;
  for (int k = 3; k >= 0; --k) trie_size = (trie_size << 8) | static_cast<unsigned char>(blob[k]);
  if (trie_size % 4 != 0 || 4 + uint64_t(trie_size) > blob.size())
    throw Error(origin + ": precompiled_charsmap declares a trie of " + std::to_string(trie_size) +
                " bytes in a blob of " + std::to_string(blob.size()));
  trie_.resize(trie_size / 4);
  for (size_t i = 0; i < trie_.size(); ++i) {
    uint32_t v = 0;
    for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(blob[4 + 4 * i + k]);
    trie_[i] = v;
  }
  normalized_ = blob.substr(4 + trie_size);
  if (find_invalid_utf8(normalized_) != std::string::npos)
    throw Error(origin + ": precompiled_charsmap holds invalid UTF-8");
}

bool PrecompiledNormalizer::transform(std::string_view chunk, std::string_view& out) const {
  // darts-clone common prefix search; the first (shortest) result wins.
  if (trie_.empty()) return false;
  auto offset = [](uint32_t u) -> size_t { return (u >> 10) << ((u & (1u << 9)) >> 6); };
  auto has_leaf = [](uint32_t u) { return ((u >> 8) & 1) == 1; };
  auto value = [](uint32_t u) { return u & ((1u << 31) - 1); };
  auto label = [](uint32_t u) { return u & ((1u << 31) | 0xFF); };
  size_t node = 0;
  uint32_t unit = trie_[node];
  node ^= offset(unit);
  for (unsigned char c : chunk) {
    if (c == 0) break;
    node ^= c;
    if (node >= trie_.size()) return false;
    unit = trie_[node];
    if (label(unit) != c) return false;
    node ^= offset(unit);
    if (node >= trie_.size()) return false;
    if (has_leaf(unit)) {
      const size_t index = value(trie_[node]);
      if (index > normalized_.size()) return false;
      const size_t stop = normalized_.find('\0', index);
      out = std::string_view(normalized_)
                .substr(index, (stop == std::string::npos ? normalized_.size() : stop) - index);
      return true;
    }
  }
  return false;
}

namespace {

// tokenizers' precompiled `replace`: new chars replace old ones; extra new
// chars are marked inserted, missing ones are removed by the last change.
void replace_part(std::vector<CharChange>& tr, std::string_view old_part,
                  std::string_view new_part) {
  const int64_t old_count = static_cast<int64_t>(count_chars(old_part));
  const int64_t new_count = static_cast<int64_t>(count_chars(new_part));
  const int64_t diff = new_count - old_count;
  for (size_t i = 0; i < new_part.size();) tr.push_back({next_char(new_part, i), 0});
  if (diff > 0) {
    for (int64_t k = 0; k < diff && k < static_cast<int64_t>(tr.size()); ++k)
      tr[tr.size() - 1 - k].change = 1;
  } else if (diff < 0 && !tr.empty()) {
    tr.back().change += diff;
  }
}

}  // namespace

void PrecompiledNormalizer::normalize(NormalizedString& s) const {
  const std::string& text = s.get();
  std::vector<CharChange> tr;
  tr.reserve(text.size());
  bool modified = false;
  std::string_view norm;
  auto per_char = [&](size_t start, size_t end) {
    for (size_t i = start; i < end;) {
      const size_t b = i;
      const char32_t c = next_char(text, i);
      const std::string_view part(text.data() + b, i - b);
      if (transform(part, norm)) {
        modified = true;
        replace_part(tr, part, norm);
      } else {
        tr.push_back({c, 0});
      }
    }
  };
  size_t g_start = 0;
  int32_t state = 0;
  char32_t prev = 0;
  auto grapheme = [&](size_t start, size_t end) {
    const std::string_view g(text.data() + start, end - start);
    if (g.size() < 6 && transform(g, norm)) {
      modified = true;
      replace_part(tr, g, norm);
      return;
    }
    per_char(start, end);
  };
  for (size_t i = 0; i < text.size();) {
    const size_t b = i;
    const char32_t c = next_char(text, i);
    if (b > 0 && grapheme_break(prev, c, &state)) {
      grapheme(g_start, b);
      g_start = b;
    }
    prev = c;
  }
  if (!text.empty()) grapheme(g_start, text.size());
  if (modified) s.transform(tr, 0);
}

}  // namespace hfjit::tokenizers
