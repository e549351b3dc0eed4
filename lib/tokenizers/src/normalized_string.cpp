#include "hfjit/tokenizers/normalized_string.h"

#include <algorithm>

#include "hfjit/tokenizers/unicode.h"

namespace hfjit::tokenizers {

NormalizedString::NormalizedString(std::string_view original, size_t shift)
    : normalized_(original), orig_start_(shift), orig_end_(shift + original.size()) {
  align_.resize(original.size());
  for (size_t i = 0; i < original.size();) {
    const size_t n = utf8_len(static_cast<unsigned char>(original[i]));
    const Align a{static_cast<uint32_t>(shift + i), static_cast<uint32_t>(shift + i + n)};
    for (size_t k = 0; k < n && i + k < original.size(); ++k) align_[i + k] = a;
    i += n;
  }
}

bool NormalizedString::original_range(size_t start, size_t end, size_t& out_start,
                                      size_t& out_end) const {
  if (start == end) {  // tokenizers returns the target itself, in normalized coordinates
    out_start = orig_start_ + start;
    out_end = orig_start_ + end;
    return true;
  }
  if (start > end || end > align_.size()) return false;
  out_start = align_[start].first;
  out_end = align_[end - 1].second;
  return true;
}

void NormalizedString::full_range(size_t& start, size_t& end) const {
  // convert_offsets(Range::Original(0..len_original)), with relative alignments.
  const uint64_t len_original = orig_end_ - orig_start_;
  if (len_original == 0) {
    start = end = 0;
    return;
  }
  bool has_start = false, has_end = false;
  size_t s = 0, e = 0;
  for (size_t i = 0; i < align_.size(); ++i) {
    const uint64_t a0 = uint64_t(align_[i].first) - orig_start_;
    const uint64_t a1 = uint64_t(align_[i].second) - orig_start_;
    if (!(len_original >= a1)) break;
    if (!has_start && a0 != a1) {
      s = i;
      has_start = true;
    }
    e = i + 1;
    has_end = true;
  }
  if (has_start && has_end) {
    start = s;
    end = e;
  } else if (has_start) {
    start = end = s;
  } else if (has_end) {
    start = end = e;
  } else {
    start = end = size_t(-1);  // nothing to transform
  }
}

void NormalizedString::transform(const std::vector<CharChange>& dest, size_t initial_offset) {
  size_t start, end;
  full_range(start, end);
  if (start == size_t(-1)) return;
  transform_range(start, end, dest, initial_offset);
}

void NormalizedString::transform_range(size_t n_start, size_t n_end,
                                       const std::vector<CharChange>& dest, size_t initial_offset) {
  // Byte sizes of the replaced chars, consumed in order.
  size_t cursor = n_start;
  auto next_replaced = [&]() -> size_t {
    if (cursor >= n_end) return 0;
    const size_t n = utf8_len(static_cast<unsigned char>(normalized_[cursor]));
    cursor += n;
    return n;
  };
  size_t initial_removed = 0;
  for (size_t k = 0; k < initial_offset; ++k) initial_removed += next_replaced();

  size_t offset = initial_removed + n_start;
  std::string text;
  std::vector<Align> aligns;
  text.reserve(dest.size() + 8);
  aligns.reserve(dest.size() + 8);
  const Align zero{static_cast<uint32_t>(orig_start_), static_cast<uint32_t>(orig_start_)};
  for (const CharChange& ch : dest) {
    const size_t idx = offset;
    Align align;
    if (ch.change > 0) {
      align = idx < 1 ? zero : align_[std::min(idx - 1, align_.size() - 1)];
    } else {
      align = idx < align_.size() ? align_[idx] : (align_.empty() ? zero : align_.back());
    }
    size_t replaced = 0;
    if (ch.change <= 0) replaced = next_replaced();
    size_t removed = 0;
    if (ch.change < 0)
      for (int64_t k = 0; k < -ch.change; ++k) removed += next_replaced();
    offset += replaced + removed;
    const size_t before = text.size();
    append_utf8(text, ch.c);
    aligns.insert(aligns.end(), text.size() - before, align);
  }
  normalized_.replace(n_start, n_end - n_start, text);
  align_.erase(align_.begin() + n_start, align_.begin() + n_end);
  align_.insert(align_.begin() + n_start, aligns.begin(), aligns.end());
}

NormalizedString NormalizedString::slice(size_t n_start, size_t n_end) const {
  NormalizedString out;
  size_t o_start, o_end;
  if (n_start == n_end) {
    o_start = o_end = orig_start_ + n_start;
  } else {
    o_start = align_[n_start].first;
    o_end = align_[n_end - 1].second;
  }
  out.orig_start_ = o_start;
  out.orig_end_ = std::max(o_start, o_end);
  out.normalized_.assign(normalized_, n_start, n_end - n_start);
  out.align_.assign(align_.begin() + n_start, align_.begin() + n_end);
  return out;
}

std::vector<NormalizedString> NormalizedString::split(const std::vector<Span>& matches,
                                                      SplitBehavior behavior) const {
  std::vector<Span> splits;  // is_match here means "remove"
  splits.reserve(matches.size());
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const Span& m : matches) splits.push_back({m.start, m.end, false});
      break;
    case SplitBehavior::Removed:
      splits = matches;
      break;
    case SplitBehavior::Contiguous: {
      bool previous = false;
      for (const Span& m : matches) {
        if (m.is_match == previous && !splits.empty()) {
          splits.back().end = m.end;
        } else {
          splits.push_back({m.start, m.end, false});
        }
        previous = m.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool previous = false;
      for (const Span& m : matches) {
        if (m.is_match && !previous && !splits.empty()) {
          splits.back().end = m.end;
        } else {
          splits.push_back({m.start, m.end, false});
        }
        previous = m.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool previous = false;
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->is_match && !previous && !splits.empty()) {
          splits.back().start = it->start;
        } else {
          splits.push_back({it->start, it->end, false});
        }
        previous = it->is_match;
      }
      std::reverse(splits.begin(), splits.end());
      break;
    }
  }
  std::vector<NormalizedString> out;
  out.reserve(splits.size());
  for (const Span& s : splits)
    if (!s.is_match) out.push_back(slice(s.start, s.end));
  return out;
}

void NormalizedString::decompose(bool compat, std::vector<CharChange>& out) const {
  // unicode-normalization-alignments' Decompositions: the first char of each
  // decomposition replaces the old one (0), the rest are inserted (+1), and
  // each run of non-starters is stably sorted by combining class.
  struct Item {
    int ccc;
    CharChange ch;
  };
  std::vector<Item> buf;
  buf.reserve(normalized_.size() + 4);
  size_t pending = 0;
  auto sort_pending = [&]() {
    std::stable_sort(buf.begin() + pending, buf.end(),
                     [](const Item& a, const Item& b) { return a.ccc < b.ccc; });
    pending = buf.size();
  };
  std::u32string parts;
  for (size_t i = 0; i < normalized_.size();) {
    const char32_t c = next_char(normalized_, i);
    parts.clear();
    decompose_char(c, compat, parts);
    for (size_t k = 0; k < parts.size(); ++k) {
      const int ccc = combining_class(parts[k]);
      if (ccc == 0) sort_pending();
      buf.push_back({ccc, {parts[k], k == 0 ? 0 : 1}});
    }
  }
  sort_pending();
  out.clear();
  out.reserve(buf.size());
  for (const Item& it : buf) out.push_back(it.ch);
}

namespace {

// unicode-normalization-alignments' Recompositions over (char, change) pairs.
std::vector<CharChange> recompose(const std::vector<CharChange>& in) {
  std::vector<CharChange> out;
  out.reserve(in.size());
  std::vector<CharChange> buffer;
  bool has_composee = false;
  CharChange composee{0, 0};
  int last_ccc = -1;  // -1: none
  for (const CharChange& cur : in) {
    const int ch_class = combining_class(cur.c);
    if (!has_composee) {
      if (ch_class != 0) {
        out.push_back(cur);
        continue;
      }
      composee = cur;
      has_composee = true;
      continue;
    }
    const CharChange k = composee;
    if (last_ccc < 0) {
      if (const char32_t r = compose_pair(k.c, cur.c)) {
        composee = {r, k.change + cur.change - 1};
        continue;
      }
      if (ch_class == 0) {
        composee = cur;
        out.push_back(k);
        continue;
      }
      buffer.push_back(cur);
      last_ccc = ch_class;
    } else {
      if (last_ccc >= ch_class) {
        if (ch_class == 0) {
          composee = cur;
          last_ccc = -1;
          out.push_back(k);
          out.insert(out.end(), buffer.begin(), buffer.end());
          buffer.clear();
          continue;
        }
        buffer.push_back(cur);
        last_ccc = ch_class;
        continue;
      }
      if (const char32_t r = compose_pair(k.c, cur.c)) {
        composee = {r, k.change + cur.change - 1};
        continue;
      }
      buffer.push_back(cur);
      last_ccc = ch_class;
    }
  }
  if (has_composee) out.push_back(composee);
  out.insert(out.end(), buffer.begin(), buffer.end());
  return out;
}

bool is_ascii(const std::string& s) {
  for (unsigned char b : s)
    if (b >= 0x80) return false;
  return true;
}

}  // namespace

void NormalizedString::nfd() {
  if (is_ascii(normalized_))
    return;  // ASCII is its own normal form: transform would change nothing
  std::vector<CharChange> dest;
  decompose(false, dest);
  transform(dest, 0);
}

void NormalizedString::nfkd() {
  if (is_ascii(normalized_)) return;
  std::vector<CharChange> dest;
  decompose(true, dest);
  transform(dest, 0);
}

void NormalizedString::nfc() {
  if (is_ascii(normalized_)) return;
  std::vector<CharChange> dest;
  decompose(false, dest);
  transform(recompose(dest), 0);
}

void NormalizedString::nfkc() {
  if (is_ascii(normalized_)) return;
  std::vector<CharChange> dest;
  decompose(true, dest);
  transform(recompose(dest), 0);
}

void NormalizedString::lowercase() {
  bool ascii = true;
  for (char& b : normalized_) {
    if (static_cast<unsigned char>(b) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {  // byte-for-byte: alignments unchanged
    for (char& b : normalized_)
      if (b >= 'A' && b <= 'Z') b = char(b + 32);
    return;
  }
  std::vector<CharChange> dest;
  dest.reserve(normalized_.size());
  std::u32string lower;
  for (size_t i = 0; i < normalized_.size();) {
    lower.clear();
    append_lowercase(next_char(normalized_, i), lower);
    for (size_t k = 0; k < lower.size(); ++k) dest.push_back({lower[k], k > 0 ? 1 : 0});
  }
  transform(dest, 0);
}

void NormalizedString::prepend(std::string_view s) {
  if (normalized_.empty()) return;
  size_t i = 0;
  const char32_t next = next_char(normalized_, i);
  std::vector<CharChange> dest;
  size_t k = 0;
  for (size_t j = 0; j < s.size(); ++k) dest.push_back({next_char(s, j), k != 0 ? 1 : 0});
  dest.push_back({next, 1});
  transform_range(0, i, dest, 0);
}

void NormalizedString::append(std::string_view s) {
  std::vector<CharChange> dest;
  if (!normalized_.empty()) {
    size_t b = normalized_.size() - 1;
    while (b > 0 && (static_cast<unsigned char>(normalized_[b]) & 0xC0) == 0x80) --b;
    size_t i = b;
    dest.push_back({next_char(normalized_, i), 0});
    for (size_t j = 0; j < s.size();) dest.push_back({next_char(s, j), 1});
    transform_range(b, normalized_.size(), dest, 0);
  } else {
    for (size_t j = 0; j < s.size();) dest.push_back({next_char(s, j), 1});
    transform_range(0, 0, dest, 0);
  }
}

void NormalizedString::replace(const std::vector<Span>& matches, std::string_view content) {
  bool any = false;
  for (const Span& m : matches) any |= m.is_match;
  if (!any) return;
  std::string text;
  std::vector<Align> aligns;
  text.reserve(normalized_.size());
  aligns.reserve(align_.size());
  const Align zero{static_cast<uint32_t>(orig_start_), static_cast<uint32_t>(orig_start_)};
  size_t last_end = 0;
  for (const Span& m : matches) {
    if (!m.is_match) continue;
    text.append(normalized_, last_end, m.start - last_end);
    aligns.insert(aligns.end(), align_.begin() + last_end, align_.begin() + m.start);
    // Every inserted char takes the alignment of the byte before the match end.
    const Align align = m.end < 1 ? zero : align_[m.end - 1];
    const size_t before = text.size();
    text.append(content);
    aligns.insert(aligns.end(), text.size() - before, align);
    last_end = m.end;
  }
  text.append(normalized_, last_end, std::string::npos);
  aligns.insert(aligns.end(), align_.begin() + last_end, align_.end());
  normalized_ = std::move(text);
  align_ = std::move(aligns);
}

void NormalizedString::strip(bool left, bool right) {
  const std::u32string chars = to_u32(normalized_);
  size_t leading = 0, trailing = 0;
  if (left)
    while (leading < chars.size() && is_whitespace(chars[leading])) ++leading;
  if (right)
    while (trailing < chars.size() && is_whitespace(chars[chars.size() - 1 - trailing])) ++trailing;
  if (leading == 0 && trailing == 0) return;
  const int64_t count = static_cast<int64_t>(chars.size());
  // tokenizers compares the char index with the *byte* length here; kept as is.
  const int64_t last =
      static_cast<int64_t>(normalized_.size()) - static_cast<int64_t>(trailing) - 1;
  std::vector<CharChange> dest;
  dest.reserve(chars.size());
  for (int64_t i = 0; i < count; ++i) {
    if (i < static_cast<int64_t>(leading) || i >= count - static_cast<int64_t>(trailing)) continue;
    dest.push_back({chars[i], i == last ? -static_cast<int64_t>(trailing) : 0});
  }
  transform(dest, leading);
}

}  // namespace hfjit::tokenizers
