#include "hfjit/tokenizers/added_vocabulary.h"

#include <algorithm>

#include "hfjit/tokenizers/unicode.h"

namespace hfjit::tokenizers {

void AddedVocabulary::add_tokens(const std::vector<AddedToken>& tokens, const Model& model) {
  model_ = &model;
  for (const AddedToken& t : tokens) {
    if (t.special && !t.content.empty() && !special_set_.count(t.content)) {
      special_tokens_.push_back(t);
      special_set_.insert(t.content);
    }
  }
  auto key = [](const AddedToken& t) {
    return t.content + '\0' + char('0' + t.single_word) + char('0' + t.lstrip) +
           char('0' + t.rstrip) + char('0' + t.normalized) + char('0' + t.special);
  };
  for (const AddedToken& t : tokens) {
    if (t.content.empty() || !seen_.insert(key(t)).second)
      continue;  // the same token twice is ignored
    uint32_t new_id;
    if (const auto id = token_to_id(t.content)) {
      new_id = *id;
    } else {
      const auto vocab = static_cast<uint32_t>(model.vocab_size());
      new_id = !max_id_ ? vocab : (*max_id_ >= vocab || vocab == 0) ? *max_id_ + 1 : vocab;
    }
    max_id_ = max_id_ ? std::max(*max_id_, new_id) : new_id;
    map_[t.content] = new_id;
    map_r_[new_id] = t;
    by_order_.emplace_back(new_id, t);
    if (!special_set_.count(t.content)) added_tokens_.push_back(t);
  }
}

std::optional<uint32_t> AddedVocabulary::token_to_id(std::string_view token) const {
  auto it = map_.find(std::string(token));
  if (it != map_.end()) return it->second;
  if (model_) return model_->token_to_id(token);
  return std::nullopt;
}

const std::string* AddedVocabulary::id_to_token(uint32_t id) const {
  auto it = map_r_.find(id);
  return it == map_r_.end() ? nullptr : &it->second.content;
}

void AddedVocabulary::Matcher::build() {
  std::stable_sort(patterns.begin(), patterns.end(), [](const Pattern& a, const Pattern& b) {
    return a.text.size() > b.text.size();
  });
  by_byte.assign(256, {});
  for (size_t i = 0; i < patterns.size(); ++i)
    if (!patterns[i].text.empty())
      by_byte[static_cast<unsigned char>(patterns[i].text[0])].push_back(static_cast<uint32_t>(i));
}

void AddedVocabulary::rebuild(const Normalizer* normalizer) {
  raw_ = Matcher{};
  normalized_ = Matcher{};
  std::vector<const AddedToken*> all;
  for (const auto& t : special_tokens_) all.push_back(&t);
  for (const auto& t : added_tokens_) all.push_back(&t);
  for (const AddedToken* t : all) {
    const auto id = token_to_id(t->content);
    if (!id) continue;
    if (t->normalized) {
      NormalizedString content(t->content);
      if (normalizer) normalizer->normalize(content);
      normalized_.patterns.push_back({content.get(), *id});
    } else {
      raw_.patterns.push_back({t->content, *id});
    }
  }
  raw_.build();
  normalized_.build();
}

namespace {

bool ends_with_word(const std::string& s, size_t end) {
  if (end == 0) return false;
  size_t b = end - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  size_t i = b;
  return is_word_char(next_char(s, i));
}

bool starts_with_word(const std::string& s, size_t start) {
  if (start >= s.size()) return false;
  size_t i = start;
  return is_word_char(next_char(s, i));
}

}  // namespace

std::vector<AddedVocabulary::Match> AddedVocabulary::find_matches(const std::string& text,
                                                                  const Matcher& m) const {
  std::vector<Match> out;
  if (text.empty()) {
    out.push_back({false, 0, 0, 0});
    return out;
  }
  size_t start_offset = 0;
  if (!m.patterns.empty()) {
    for (size_t i = 0; i < text.size();) {
      const auto& candidates = m.by_byte[static_cast<unsigned char>(text[i])];
      const Pattern* hit = nullptr;
      for (uint32_t k : candidates) {
        const Pattern& p = m.patterns[k];
        if (text.compare(i, p.text.size(), p.text) == 0) {
          hit = &p;
          break;
        }
      }
      if (!hit) {
        ++i;
        continue;
      }
      size_t start = i, stop = i + hit->text.size();
      i = stop;  // the automaton resumes after the match itself
      const AddedToken& tok = map_r_.at(hit->id);
      if (tok.single_word) {
        const bool start_space = start == 0 || !ends_with_word(text, start);
        const bool stop_space = stop == text.size() || !starts_with_word(text, stop);
        if (!start_space || !stop_space) continue;
      }
      if (tok.lstrip) {
        size_t s = start;
        while (s > 0) {
          size_t b = s - 1;
          while (b > 0 && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) --b;
          size_t j = b;
          if (!is_whitespace(next_char(text, j))) break;
          s = b;
        }
        start = std::max(s, start_offset);
      }
      if (tok.rstrip) {
        size_t e = stop;
        while (e < text.size()) {
          size_t j = e;
          if (!is_whitespace(next_char(text, j))) break;
          e = j;
        }
        stop = e;
      }
      if (start_offset < start) out.push_back({false, 0, start_offset, start});
      out.push_back({true, hit->id, start, stop});
      start_offset = stop;
    }
  }
  if (start_offset != text.size()) out.push_back({false, 0, start_offset, text.size()});
  return out;
}

void AddedVocabulary::split_with(PreTokenizedString& p, const Matcher& m) const {
  p.split([&](NormalizedString&& n) {
    std::vector<Split> out;
    for (const Match& mt : find_matches(n.get(), m)) {
      NormalizedString piece = n.slice(mt.start, mt.end);
      if (mt.is_token) {
        std::vector<Token> toks;
        toks.push_back({mt.id, piece.get(), 0, piece.len()});
        out.push_back({std::move(piece), std::move(toks)});
      } else {
        out.push_back({std::move(piece), std::nullopt});
      }
    }
    return out;
  });
}

PreTokenizedString AddedVocabulary::extract_and_normalize(const Normalizer* normalizer,
                                                          std::string_view text) const {
  PreTokenizedString p{NormalizedString(text)};
  if (!raw_.patterns.empty()) split_with(p, raw_);
  if (normalizer) p.normalize([&](NormalizedString& n) { normalizer->normalize(n); });
  if (!normalized_.patterns.empty()) {
    split_with(p, normalized_);
  } else {
    p.split([](NormalizedString&& n) {  // drops empty splits, as the second split pass does
      std::vector<Split> out;
      out.push_back({std::move(n), std::nullopt});
      return out;
    });
  }
  return p;
}

}  // namespace hfjit::tokenizers
