#include "hfjit/tokenizer.h"

#include <algorithm>

#include "hfjit/error.h"
#include "hfjit/tokenizers/pipeline.h"
#include "hfjit/tokenizers/unicode.h"

namespace hfjit {

namespace tokenizers {

namespace {

// Byte offsets to char offsets as the Python binding converts them
// (tokenizers' BytesToCharOffsetConverter), quirks included.
class CharOffsets {
 public:
  explicit CharOffsets(std::string_view text) : size_(text.size()) {
    for (unsigned char b : text) ascii_ &= b < 0x80;
    if (ascii_) return;
    char_of_.resize(text.size());
    size_t c = 0;
    for (size_t i = 0; i < text.size();) {
      const size_t n = utf8_len(static_cast<unsigned char>(text[i]));
      for (size_t k = 0; k < n && i + k < text.size(); ++k)
        char_of_[i + k] = static_cast<uint32_t>(c);
      i += n;
      ++c;
    }
  }
  std::pair<size_t, size_t> convert(size_t start, size_t end) const {
    if (ascii_) return {start, end};
    if (start >= size_) return {start, end};  // not in the map: left as bytes
    const size_t s = char_of_[start];
    if (end < size_) return {s, char_of_[end]};
    const size_t last = end >= 1 && end - 1 < size_ ? char_of_[end - 1] : s + 1;
    return {s, last + 1};
  }

 private:
  size_t size_;
  bool ascii_ = true;
  std::vector<uint32_t> char_of_;
};

}  // namespace

Encoding Pipeline::encode_sequence(std::string_view text, int64_t type_id) const {
  PreTokenizedString pre = added.extract_and_normalize(normalizer.get(), text);
  if (pre_tokenizer) pre_tokenizer->pre_tokenize(pre);
  const CharOffsets chars(text);
  Encoding e;
  std::vector<Token> tokens;
  size_t word = 0;
  for (Split& split : pre.splits()) {
    if (!split.tokens) {
      tokens.clear();
      model->tokenize(split.normalized.get(), tokens);
      split.tokens = std::move(tokens);
      tokens = {};
    }
    for (Token& t : *split.tokens) {
      size_t s, end;
      if (!split.normalized.original_range(t.start, t.end, s, end)) {
        s = t.start;
        end = t.end;
      }
      e.ids.push_back(t.id);
      e.tokens.push_back(std::move(t.value));
      e.offsets.push_back(chars.convert(s, end));
      e.word_ids.push_back(static_cast<int64_t>(word));
    }
    ++word;
  }
  const size_t n = e.ids.size();
  e.type_ids.assign(n, type_id);
  e.special_tokens_mask.assign(n, 0);
  e.attention_mask.assign(n, 1);
  return e;
}

Encoding Pipeline::post_process(Encoding encoding, std::optional<Encoding> pair,
                                bool add_special_tokens) const {
  if (truncation) {
    TruncationParams p = *truncation;
    const size_t added_n = post_processor ? post_processor->added_tokens(pair.has_value()) : 0;
    if (add_special_tokens && added_n > 0)
      p.max_length -= added_n;  // wraps like the Rust release build
    if (p.max_length == 0) {
      truncate_encoding(encoding, 0, p.stride, p.direction);
      if (pair) truncate_encoding(*pair, 0, p.stride, p.direction);
    } else {
      const size_t total = encoding.size() + (pair ? pair->size() : 0);
      if (total > p.max_length) {
        const size_t to_remove = total - p.max_length;
        if (p.strategy == TruncationStrategy::LongestFirst) {
          if (pair) {
            size_t n1 = encoding.size(), n2 = pair->size();
            const bool swap = n1 > n2;
            if (swap) std::swap(n1, n2);
            if (n1 > p.max_length)
              n2 = n1;
            else
              n2 = std::max(n1, p.max_length - n1);
            if (n1 + n2 > p.max_length) {
              n1 = p.max_length / 2;
              n2 = n1 + p.max_length % 2;
            }
            if (swap) std::swap(n1, n2);
            truncate_encoding(encoding, n1, p.stride, p.direction);
            truncate_encoding(*pair, n2, p.stride, p.direction);
          } else {
            truncate_encoding(encoding, total - to_remove, p.stride, p.direction);
          }
        } else {
          Encoding* target = nullptr;
          if (p.strategy == TruncationStrategy::OnlyFirst)
            target = &encoding;
          else if (pair)
            target = &*pair;
          else
            throw Error("truncation: only_second needs a second sequence");
          if (target->size() <= to_remove)
            throw Error("truncation: the sequence to truncate is too short to respect max_length " +
                        std::to_string(truncation->max_length));
          truncate_encoding(*target, target->size() - to_remove, p.stride, p.direction);
        }
      }
    }
  }
  Encoding out;
  if (post_processor) {
    out = post_processor->process(std::move(encoding), std::move(pair), add_special_tokens);
  } else if (pair) {
    std::vector<Encoding> both;
    both.push_back(std::move(encoding));
    both.push_back(std::move(*pair));
    out = Encoding{};
    for (size_t i = 0; i < both.size(); ++i) {
      set_sequence_id(both[i], i);
      merge_into(out, both[i]);
    }
  } else {
    out = std::move(encoding);
  }
  if (padding && padding->length) {
    size_t target = *padding->length;
    if (padding->pad_to_multiple_of && *padding->pad_to_multiple_of > 0 &&
        target % *padding->pad_to_multiple_of)
      target += *padding->pad_to_multiple_of - target % *padding->pad_to_multiple_of;
    pad_encoding(out, target, padding->pad_id, padding->pad_type_id, padding->pad_token,
                 padding->direction);
  } else if (padding) {  // the batch's longest is this encoding
    size_t target = out.size();
    if (padding->pad_to_multiple_of && *padding->pad_to_multiple_of > 0 &&
        target % *padding->pad_to_multiple_of)
      target += *padding->pad_to_multiple_of - target % *padding->pad_to_multiple_of;
    pad_encoding(out, target, padding->pad_id, padding->pad_type_id, padding->pad_token,
                 padding->direction);
  }
  return out;
}

}  // namespace tokenizers

std::vector<int64_t> Encoding::sequence_ids() const {
  std::vector<int64_t> out(size(), -1);
  if (sequence_ranges.empty()) {
    std::fill(out.begin(), out.end(), 0);
    return out;
  }
  for (const auto& [seq, range] : sequence_ranges)
    for (size_t i = range.first; i < range.second && i < out.size(); ++i)
      out[i] = static_cast<int64_t>(seq);
  return out;
}

Tokenizer::Tokenizer(std::unique_ptr<tokenizers::Pipeline> pipeline)
    : pipeline_(std::move(pipeline)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

namespace {

// The text as valid UTF-8: `storage` holds the repaired copy when needed.
std::string_view valid_text(std::string_view text, std::string& storage) {
  if (text.size() >= (size_t(1) << 31))
    throw Error("tokenizer: input of " + std::to_string(text.size()) +
                " bytes is over the 2 GiB limit");
  if (tokenizers::find_invalid_utf8(text) == std::string_view::npos) return text;
  storage = tokenizers::sanitize_utf8(text);
  return storage;
}

}  // namespace

Encoding Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::string storage;
  Encoding e = pipeline_->encode_sequence(valid_text(text, storage), 0);
  return pipeline_->post_process(std::move(e), std::nullopt, add_special_tokens);
}

Encoding Tokenizer::encode_pair(std::string_view text, std::string_view pair,
                                bool add_special_tokens) const {
  std::string s1, s2;
  Encoding a = pipeline_->encode_sequence(valid_text(text, s1), 0);
  Encoding b = pipeline_->encode_sequence(valid_text(pair, s2), 1);
  return pipeline_->post_process(std::move(a), std::move(b), add_special_tokens);
}

Encoding Tokenizer::encode_input(std::string_view text, std::optional<std::string_view> pair,
                                 bool add_special_tokens) const {
  // transformers (tokenization_utils_tokenizers.py): `[(text, text_pair)] if text_pair else
  // [text]`.
  if (pair && !pair->empty()) return encode_pair(text, *pair, add_special_tokens);
  return encode(text, add_special_tokens);
}

std::vector<Encoding> Tokenizer::encode_windows(std::string_view text,
                                                std::optional<std::string_view> pair,
                                                bool add_special_tokens) const {
  Encoding e =
      pair ? encode_pair(text, *pair, add_special_tokens) : encode(text, add_special_tokens);
  std::vector<Encoding> out;
  std::vector<Encoding> rest = std::move(e.overflowing);
  e.overflowing.clear();
  out.push_back(std::move(e));
  for (Encoding& o : rest) out.push_back(std::move(o));
  return out;
}

std::vector<Encoding> Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                              bool add_special_tokens) const {
  std::vector<Encoding> out;
  out.reserve(texts.size());
  for (const std::string& t : texts) out.push_back(encode(t, add_special_tokens));
  const auto& pad = pipeline_->padding;
  if (pad && !pad->length && !out.empty()) {
    size_t target = 0;
    for (const Encoding& e : out) target = std::max(target, e.size());
    if (pad->pad_to_multiple_of && *pad->pad_to_multiple_of > 0 &&
        target % *pad->pad_to_multiple_of)
      target += *pad->pad_to_multiple_of - target % *pad->pad_to_multiple_of;
    for (Encoding& e : out)
      tokenizers::pad_encoding(e, target, pad->pad_id, pad->pad_type_id, pad->pad_token,
                               pad->direction);
  }
  return out;
}

void Tokenizer::lowercase_input() {
  using tokenizers::LowercaseNormalizer;
  using tokenizers::Normalizer;
  using tokenizers::SequenceNormalizer;
  // sentence_transformers/base/modules/transformer.py: _has_lowercase, then
  // NormalizerSequence([Lowercase(), *the old one]).
  auto is_lowercase = [](const Normalizer* n) {
    return dynamic_cast<const LowercaseNormalizer*>(n) != nullptr;
  };
  const Normalizer* old = pipeline_->normalizer.get();
  if (is_lowercase(old)) return;
  if (const auto* seq = dynamic_cast<const SequenceNormalizer*>(old))
    if (std::any_of(seq->parts().begin(), seq->parts().end(),
                    [&](const auto& p) { return is_lowercase(p.get()); }))
      return;
  std::vector<std::unique_ptr<Normalizer>> parts;
  parts.push_back(std::make_unique<LowercaseNormalizer>());
  if (pipeline_->normalizer) parts.push_back(std::move(pipeline_->normalizer));
  pipeline_->normalizer = std::make_unique<SequenceNormalizer>(std::move(parts));
  pipeline_->added.rebuild(pipeline_->normalizer.get());
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens,
                              bool clean_up_tokenization_spaces) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < 0 || id > UINT32_MAX) continue;
    const std::string* t = pipeline_->added.id_to_token(static_cast<uint32_t>(id));
    if (!t) t = pipeline_->model->id_to_token(static_cast<uint32_t>(id));
    if (!t) continue;
    if (skip_special_tokens && pipeline_->added.is_special(*t)) continue;
    tokens.push_back(*t);
  }
  std::string text = convert_tokens_to_string(std::move(tokens));
  // transformers 5 (TokenizersBackend._decode) skips the clean-up for BPE models, where it
  // would strip real spaces before punctuation.
  const bool bpe = dynamic_cast<const tokenizers::BpeModel*>(pipeline_->model.get()) != nullptr;
  return clean_up_tokenization_spaces && !bpe ? tokenizers::clean_up_tokenization(text) : text;
}

std::string Tokenizer::convert_tokens_to_string(std::vector<std::string> tokens) const {
  if (pipeline_->decoder) return pipeline_->decoder->decode(std::move(tokens));
  std::string text;
  for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
  return text;
}

bool Tokenizer::has_continuing_subword_prefix() const {
  return !pipeline_->model->continuing_subword_prefix().empty();
}

std::optional<int64_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const auto id = pipeline_->added.token_to_id(token)) return *id;
  if (const auto id = pipeline_->model->token_to_id(token)) return *id;
  return std::nullopt;
}

std::optional<std::string> Tokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id > UINT32_MAX) return std::nullopt;
  if (const std::string* t = pipeline_->added.id_to_token(static_cast<uint32_t>(id))) return *t;
  if (const std::string* t = pipeline_->model->id_to_token(static_cast<uint32_t>(id))) return *t;
  return std::nullopt;
}

size_t Tokenizer::vocab_size(bool with_added_tokens) const {
  size_t n = pipeline_->model->vocab_size();
  if (with_added_tokens)
    for (const auto& [id, tok] : pipeline_->added.tokens())
      if (!pipeline_->model->token_to_id(tok.content)) ++n;
  return n;
}

const SpecialTokenIds& Tokenizer::special_tokens() const {
  return pipeline_->special;
}
void Tokenizer::set_special_tokens(const SpecialTokenIds& ids) {
  pipeline_->special = ids;
}
const std::optional<TruncationParams>& Tokenizer::truncation() const {
  return pipeline_->truncation;
}
void Tokenizer::set_truncation(std::optional<TruncationParams> params) {
  pipeline_->truncation = std::move(params);
}
const std::optional<PaddingParams>& Tokenizer::padding() const {
  return pipeline_->padding;
}
void Tokenizer::set_padding(std::optional<PaddingParams> params) {
  pipeline_->padding = std::move(params);
}

}  // namespace hfjit
