#pragma once
// The decoders of tokenizer.json: they turn token strings back into text.
// Ports of `tokenizers`' decoders (decode_chain maps tokens to tokens; the
// results are concatenated).

#include <memory>
#include <string>
#include <vector>

#include "hfjit/tokenizers/normalizers.h"
#include "hfjit/tokenizers/spm.h"

namespace hfjit::tokenizers {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
  std::string decode(std::vector<std::string> tokens) const;
};

// "##" pieces glued to the previous one, others after a space; optional clean-up.
class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;

 private:
  std::string prefix_;
  bool cleanup_;
};

// Byte-level chars back to bytes, invalid UTF-8 replaced.
class ByteLevelDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;
};

// "▁" back to spaces (dropped at the very start when the pre-tokenizer prepends it).
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool drop_first)
      : replacement_(replacement), drop_first_(drop_first) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;

 private:
  char32_t replacement_;
  bool drop_first_;
};

// The end-of-word suffix becomes a space (none after the last token).
class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;

 private:
  std::string suffix_;
};

class ReplaceDecoder : public Decoder {
 public:
  explicit ReplaceDecoder(std::unique_ptr<ReplaceNormalizer> replace)
      : replace_(std::move(replace)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;

 private:
  std::unique_ptr<ReplaceNormalizer> replace_;
};

// Removes up to `start` leading and `stop` trailing `content` chars from each token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;

 private:
  char32_t content_;
  size_t start_, stop_;
};

// All tokens into one.
class FuseDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;
};

// "<0xAB>" tokens back to bytes.
class ByteFallbackDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;
};

// CTC: repeats collapsed, pad tokens dropped, the word delimiter to spaces.
class CtcDecoder : public Decoder {
 public:
  CtcDecoder(std::string pad, std::string word_delimiter, bool cleanup)
      : pad_(std::move(pad)), delimiter_(std::move(word_delimiter)), cleanup_(cleanup) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;

 private:
  std::string pad_, delimiter_;
  bool cleanup_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts)
      : parts_(std::move(parts)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

// Pieces back to text through libsentencepiece.
class SentencePieceDecoder : public Decoder {
 public:
  explicit SentencePieceDecoder(std::shared_ptr<const SpmProcessor> sp) : sp_(std::move(sp)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;

 private:
  std::shared_ptr<const SpmProcessor> sp_;
};

// tokenizers' WordPiece clean-up (" ." -> ".", " do not" -> " don't", ...).
std::string wordpiece_cleanup(const std::string& text);
// transformers' clean_up_tokenization (the same without " do not").
std::string clean_up_tokenization(const std::string& text);

}  // namespace hfjit::tokenizers
