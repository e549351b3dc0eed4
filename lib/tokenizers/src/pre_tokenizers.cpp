#include "hfjit/tokenizers/pre_tokenizers.h"

#include "hfjit/tokenizers/unicode.h"

namespace hfjit::tokenizers {

namespace {

template <typename Pred>
void split_on_chars(PreTokenizedString& s, Pred pred, SplitBehavior behavior) {
  s.split([&](NormalizedString&& n) {
    return as_splits(n.split(find_char_matches(n.get(), pred), behavior));
  });
}

bool bert_punct(char32_t c) {
  return is_ascii_punctuation(c) || is_punctuation(c);
}

}  // namespace

void BertPreTokenizer::pre_tokenize(PreTokenizedString& s) const {
  split_on_chars(s, is_whitespace, SplitBehavior::Removed);
  split_on_chars(s, bert_punct, SplitBehavior::Isolated);
}

std::shared_ptr<const Regex> gpt2_regex() {
  static const std::shared_ptr<const Regex> re = std::make_shared<const Regex>(
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
  return re;
}

ByteLevelPreTokenizer::ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
    : add_prefix_space_(add_prefix_space), use_regex_(use_regex), regex_(gpt2_regex()) {}

void ByteLevelPreTokenizer::pre_tokenize(PreTokenizedString& s) const {
  s.split([&](NormalizedString&& n) {
    if (add_prefix_space_ && (n.get().empty() || n.get()[0] != ' ')) n.prepend(" ");
    if (!use_regex_) {
      std::vector<Split> out;
      out.push_back({std::move(n), std::nullopt});
      return out;
    }
    return as_splits(n.split(regex_->find_matches(n.get()), SplitBehavior::Isolated));
  });
  std::vector<CharChange> dest;
  s.normalize([&](NormalizedString& n) {
    const std::string& text = n.get();
    dest.clear();
    bool identity = true;
    for (size_t i = 0; i < text.size();) {
      const size_t len = utf8_len(static_cast<unsigned char>(text[i]));
      for (size_t k = 0; k < len; ++k) {
        const char32_t c = byte_to_char(static_cast<unsigned char>(text[i + k]));
        identity &= c < 0x80;
        dest.push_back({c, k > 0 ? 1 : 0});
      }
      i += len;
    }
    if (!identity) n.transform(dest, 0);
  });
}

void WhitespacePreTokenizer::pre_tokenize(PreTokenizedString& s) const {
  // Rust regex \w+|[^\w\s]+, inverted and removed: the matches are kept.
  s.split([&](NormalizedString&& n) {
    const std::string& text = n.get();
    std::vector<Span> spans;
    if (text.empty()) spans.push_back({0, 0, false});
    size_t i = 0, gap = 0;
    while (i < text.size()) {
      size_t j = i;
      const char32_t c = next_char(text, j);
      const bool word = is_word_char(c);
      if (!word && is_whitespace(c)) {
        i = j;
        continue;
      }
      size_t end = j;
      while (end < text.size()) {
        size_t k = end;
        const char32_t d = next_char(text, k);
        if (word ? !is_word_char(d) : (is_word_char(d) || is_whitespace(d))) break;
        end = k;
      }
      if (gap < i) spans.push_back({gap, i, true});  // inverted: non-matches are removed
      spans.push_back({i, end, false});
      gap = i = end;
    }
    if (gap < text.size()) spans.push_back({gap, text.size(), true});
    return as_splits(n.split(spans, SplitBehavior::Removed));
  });
}

void WhitespaceSplitPreTokenizer::pre_tokenize(PreTokenizedString& s) const {
  split_on_chars(s, is_whitespace, SplitBehavior::Removed);
}

MetaspacePreTokenizer::MetaspacePreTokenizer(char32_t replacement, Prepend prepend, bool split)
    : replacement_(replacement), prepend_(prepend), split_(split) {
  append_utf8(rep_, replacement_);
}

void MetaspacePreTokenizer::pre_tokenize(PreTokenizedString& s) const {
  s.split([&](NormalizedString&& n) {
    n.replace(find_char_matches(n.get(), [](char32_t c) { return c == ' '; }), rep_);
    const bool starts = n.get().compare(0, rep_.size(), rep_) == 0;
    if (prepend_ == Prepend::Always && !starts) n.prepend(rep_);
    if (prepend_ == Prepend::First && !starts && n.original_start() == 0) n.prepend(rep_);
    if (!split_) {
      std::vector<Split> out;
      out.push_back({std::move(n), std::nullopt});
      return out;
    }
    const char32_t r = replacement_;
    return as_splits(n.split(find_char_matches(n.get(), [r](char32_t c) { return c == r; }),
                             SplitBehavior::MergedWithNext));
  });
}

void PunctuationPreTokenizer::pre_tokenize(PreTokenizedString& s) const {
  split_on_chars(s, bert_punct, behavior_);
}

void SplitPreTokenizer::pre_tokenize(PreTokenizedString& s) const {
  s.split([&](NormalizedString&& n) {
    std::vector<Span> spans =
        regex_ ? regex_->find_matches(n.get()) : find_literal_matches(n.get(), literal_);
    if (invert_)
      for (Span& sp : spans) sp.is_match = !sp.is_match;
    return as_splits(n.split(spans, behavior_));
  });
}

void DigitsPreTokenizer::pre_tokenize(PreTokenizedString& s) const {
  split_on_chars(s, is_numeric, individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
}

void CharDelimiterSplitPreTokenizer::pre_tokenize(PreTokenizedString& s) const {
  const char32_t d = delimiter_;
  split_on_chars(
      s, [d](char32_t c) { return c == d; }, SplitBehavior::Removed);
}

}  // namespace hfjit::tokenizers
