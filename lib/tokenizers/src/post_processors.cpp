#include "hfjit/tokenizers/post_processors.h"

#include <algorithm>

#include "hfjit/error.h"
#include "hfjit/tokenizers/unicode.h"

namespace hfjit::tokenizers {

// ---------------------------------------------------------------- Encoding ops

void set_sequence_id(Encoding& e, size_t id) {
  e.sequence_ranges[id] = {0, e.size()};
}

void merge_into(Encoding& self, const Encoding& pair) {
  std::vector<Encoding> overflowings;
  for (const Encoding& self_o : self.overflowing) {
    Encoding n = self_o;
    merge_into(n, pair);
    overflowings.push_back(std::move(n));
    for (const Encoding& other_o : pair.overflowing) {
      Encoding m = self_o;
      merge_into(m, other_o);
      overflowings.push_back(std::move(m));
    }
  }
  for (const Encoding& other_o : pair.overflowing) {
    Encoding n = self;
    merge_into(n, other_o);
    overflowings.push_back(std::move(n));
  }
  const size_t len = self.size();
  for (const auto& [seq, range] : pair.sequence_ranges)
    self.sequence_ranges[seq] = {len + range.first, len + range.second};
  auto extend = [](auto& a, const auto& b) { a.insert(a.end(), b.begin(), b.end()); };
  extend(self.ids, pair.ids);
  extend(self.type_ids, pair.type_ids);
  extend(self.tokens, pair.tokens);
  extend(self.word_ids, pair.word_ids);
  extend(self.offsets, pair.offsets);
  extend(self.special_tokens_mask, pair.special_tokens_mask);
  extend(self.attention_mask, pair.attention_mask);
  self.overflowing = std::move(overflowings);
}

Encoding merge_encodings(std::vector<Encoding>& encodings) {
  Encoding out;
  for (const Encoding& e : encodings) merge_into(out, e);
  return out;
}

namespace {

Encoding range_of(const Encoding& e, size_t start, size_t stop) {
  Encoding o;
  auto cut = [&](auto& dst, const auto& src) {
    dst.assign(src.begin() + start, src.begin() + stop);
  };
  cut(o.ids, e.ids);
  cut(o.type_ids, e.type_ids);
  cut(o.tokens, e.tokens);
  cut(o.word_ids, e.word_ids);
  cut(o.offsets, e.offsets);
  cut(o.special_tokens_mask, e.special_tokens_mask);
  cut(o.attention_mask, e.attention_mask);
  return o;
}

}  // namespace

void truncate_encoding(Encoding& e, size_t max_len, size_t stride, Direction direction) {
  const size_t len = e.size();
  if (max_len >= len) return;
  if (max_len == 0) {
    Encoding whole = std::move(e);
    e = Encoding{};
    e.overflowing.push_back(std::move(whole));
    return;
  }
  if (stride >= max_len)
    throw Error("truncation: stride (" + std::to_string(stride) +
                ") must be less than the length left for the "
                "sequence (" +
                std::to_string(max_len) + ", after the special tokens)");
  e.sequence_ranges.clear();
  const size_t step = max_len - stride;
  std::vector<std::pair<size_t, size_t>> parts;
  if (direction == Direction::Right) {
    for (size_t start = 0; start < len; start += step) {
      const size_t stop = std::min(start + max_len, len);
      parts.emplace_back(start, stop);
      if (stop == len) break;
    }
  } else {
    for (size_t i = 0; i < len; i += step) {
      const size_t stop = len - i;
      const size_t start = stop > max_len ? stop - max_len : 0;
      if (start >= stop) break;
      parts.emplace_back(start, stop);
      if (start == 0) break;
    }
  }
  Encoding result = range_of(e, parts[0].first, parts[0].second);
  for (size_t i = 1; i < parts.size(); ++i)
    result.overflowing.push_back(range_of(e, parts[i].first, parts[i].second));
  e = std::move(result);
}

void pad_encoding(Encoding& e, size_t target, int64_t pad_id, int64_t pad_type_id,
                  const std::string& pad_token, Direction direction) {
  for (Encoding& o : e.overflowing)
    pad_encoding(o, target, pad_id, pad_type_id, pad_token, direction);
  if (e.size() >= target) return;
  const size_t n = target - e.size();
  auto grow = [&](auto& v, auto value) {
    if (direction == Direction::Left)
      v.insert(v.begin(), n, value);
    else
      v.insert(v.end(), n, value);
  };
  grow(e.ids, pad_id);
  grow(e.type_ids, pad_type_id);
  grow(e.tokens, pad_token);
  grow(e.word_ids, int64_t(-1));
  grow(e.attention_mask, int64_t(0));
  grow(e.special_tokens_mask, int64_t(1));
  grow(e.offsets, std::pair<size_t, size_t>(0, 0));
  if (direction == Direction::Left)
    for (auto& [seq, range] : e.sequence_ranges) range = {range.first + n, range.second + n};
}

void trim_offsets(Encoding& e, bool add_prefix_space) {
  for (size_t i = 0; i < e.size(); ++i) {
    const std::u32string chars = to_u32(e.tokens[i]);
    auto is_space = [](char32_t c) { return c == 0x120 || is_whitespace(c); };
    size_t leading = 0, trailing = 0;
    while (leading < chars.size() && is_space(chars[leading])) ++leading;
    while (trailing < chars.size() && is_space(chars[chars.size() - 1 - trailing])) ++trailing;
    auto& off = e.offsets[i];
    if (leading == 0 && trailing == 0) continue;
    if (leading > 0) {
      const bool is_first = i == 0 || off.first == 0;
      if (is_first && add_prefix_space && leading == 1) leading = 0;
      off.first = std::min(off.first + leading, off.second);
    }
    if (trailing > 0 && off.second >= trailing)
      off.second = std::max(off.second - trailing, off.first);
  }
}

// ---------------------------------------------------------------- PostProcessor

Encoding PostProcessor::process(Encoding encoding, std::optional<Encoding> pair,
                                bool add_special_tokens) const {
  std::vector<Encoding> encodings;
  encodings.push_back(std::move(encoding));
  if (pair) encodings.push_back(std::move(*pair));
  for (size_t i = 0; i < encodings.size(); ++i) {
    Encoding& e = encodings[i];
    set_sequence_id(e, i);
    for (Encoding& o : e.overflowing) set_sequence_id(o, i);
    e.type_ids.assign(e.size(), static_cast<int64_t>(i));
  }
  std::vector<Encoding> processed = process_encodings(std::move(encodings), add_special_tokens);
  return merge_encodings(processed);
}

TemplateProcessor::TemplateProcessor(std::vector<Piece> single, std::vector<Piece> pair,
                                     std::map<std::string, SpecialToken> special)
    : single_(std::move(single)), pair_(std::move(pair)), special_(std::move(special)) {
  auto count = [&](const std::vector<Piece>& pieces) {
    size_t n = 0;
    for (const Piece& p : pieces) {
      if (p.is_sequence) continue;
      auto it = special_.find(p.id);
      if (it != special_.end()) n += it->second.ids.size();
    }
    return n;
  };
  added_single_ = count(single_);
  added_pair_ = count(pair_);
}

std::vector<Encoding> TemplateProcessor::process_encodings(std::vector<Encoding> encodings,
                                                           bool add_special_tokens) const {
  const std::vector<Piece>& tpl = encodings.size() == 2 ? pair_ : single_;
  std::vector<Encoding> out;
  for (const Piece& p : tpl) {
    if (p.is_sequence) {
      const size_t i = p.id == "A" ? 0 : 1;
      if (i >= encodings.size()) continue;
      Encoding& e = encodings[i];
      e.type_ids.assign(e.size(), p.type_id);
      set_sequence_id(e, i);
      out.push_back(e);
    } else if (add_special_tokens) {
      const SpecialToken& tok = special_.at(p.id);
      Encoding s;
      const size_t n = tok.ids.size();
      s.ids = tok.ids;
      s.type_ids.assign(n, p.type_id);
      s.tokens = tok.tokens;
      s.word_ids.assign(n, -1);
      s.offsets.assign(n, {0, 0});
      s.special_tokens_mask.assign(n, 1);
      s.attention_mask.assign(n, 1);
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<Encoding> BertProcessor::process_encodings(std::vector<Encoding> encodings,
                                                       bool add_special_tokens) const {
  if (roberta_) {
    if (trim_)
      for (Encoding& e : encodings) {
        trim_offsets(e, prefix_);
        for (Encoding& o : e.overflowing) trim_offsets(o, prefix_);
      }
    for (Encoding& e : encodings) e.type_ids.assign(e.size(), 0);
  }
  if (!add_special_tokens) return encodings;
  auto wrap = [&](const Encoding& e, bool first) {
    Encoding out;
    const int64_t type = roberta_ || first ? 0 : 1;
    auto push_special = [&](const std::pair<std::string, int64_t>& tok) {
      out.ids.push_back(tok.second);
      out.type_ids.push_back(type);
      out.tokens.push_back(tok.first);
      out.word_ids.push_back(-1);
      out.offsets.push_back({0, 0});
      out.special_tokens_mask.push_back(1);
    };
    if (first)
      push_special(cls_);
    else if (roberta_)
      push_special(sep_);
    const size_t body = out.size();
    out.ids.insert(out.ids.end(), e.ids.begin(), e.ids.end());
    for (size_t k = 0; k < e.size(); ++k)
      out.type_ids.push_back(roberta_ && !first ? 0 : e.type_ids[k]);
    out.tokens.insert(out.tokens.end(), e.tokens.begin(), e.tokens.end());
    out.word_ids.insert(out.word_ids.end(), e.word_ids.begin(), e.word_ids.end());
    out.offsets.insert(out.offsets.end(), e.offsets.begin(), e.offsets.end());
    out.special_tokens_mask.insert(out.special_tokens_mask.end(), e.size(), 0);
    push_special(sep_);
    out.attention_mask.assign(out.size(), 1);
    out.sequence_ranges[first ? 0 : 1] = {body, body + e.size()};
    return out;
  };
  std::vector<Encoding> out;
  for (size_t i = 0; i < encodings.size(); ++i) {
    Encoding w = wrap(encodings[i], i == 0);
    for (const Encoding& o : encodings[i].overflowing) w.overflowing.push_back(wrap(o, i == 0));
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<Encoding> ByteLevelProcessor::process_encodings(std::vector<Encoding> encodings,
                                                            bool) const {
  if (trim_)
    for (Encoding& e : encodings) {
      trim_offsets(e, prefix_);
      for (Encoding& o : e.overflowing) trim_offsets(o, prefix_);
    }
  for (size_t i = 0; i < encodings.size(); ++i) set_sequence_id(encodings[i], i);
  return encodings;
}

size_t SequenceProcessor::added_tokens(bool is_pair) const {
  size_t n = 0;
  for (const auto& p : parts_) n += p->added_tokens(is_pair);
  return n;
}

std::vector<Encoding> SequenceProcessor::process_encodings(std::vector<Encoding> encodings,
                                                           bool add_special_tokens) const {
  for (const auto& p : parts_)
    encodings = p->process_encodings(std::move(encodings), add_special_tokens);
  return encodings;
}

}  // namespace hfjit::tokenizers
