#pragma once
// The normalizers of tokenizer.json, each a port of the `tokenizers`
// normalizer of the same name. They rewrite a NormalizedString in place
// (its alignments keep the offsets right).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hfjit/tokenizers/normalized_string.h"
#include "hfjit/tokenizers/regex.h"

namespace hfjit::tokenizers {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString& s) const = 0;
};

// BERT: clean text (drop controls, whitespace to ' '), space out CJK
// ideographs, strip accents (NFD, drop Mn), lowercase.
class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool handle_chinese_chars, std::optional<bool> strip_accents,
                 bool lowercase)
      : clean_text_(clean_text),
        chinese_(handle_chinese_chars),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}
  void normalize(NormalizedString& s) const override;

 private:
  bool clean_text_, chinese_;
  std::optional<bool> strip_accents_;
  bool lowercase_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override { s.lowercase(); }
};

// NFD, NFKD, NFC or NFKC.
class UnicodeNormalizer : public Normalizer {
 public:
  enum class Form { NFD, NFKD, NFC, NFKC };
  explicit UnicodeNormalizer(Form form) : form_(form) {}
  void normalize(NormalizedString& s) const override;

 private:
  Form form_;
};

// Drops every combining mark (M*).
class StripAccentsNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override;
};

// Removes leading and/or trailing whitespace.
class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(NormalizedString& s) const override { s.strip(left_, right_); }

 private:
  bool left_, right_;
};

// Replaces a literal string or a regex with `content`.
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::string literal, std::unique_ptr<Regex> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  void normalize(NormalizedString& s) const override;
  // The same replacement on a plain string (the Replace decoder).
  std::string apply(const std::string& text) const;

 private:
  std::vector<Span> matches(const std::string& text) const;
  std::string literal_;
  std::unique_ptr<Regex> regex_;  // null for a literal
  std::string content_;
};

// Prepends a string to non-empty text.
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(NormalizedString& s) const override {
    if (!s.empty()) s.prepend(prefix_);
  }

 private:
  std::string prefix_;
};

// SentencePiece's nmt_nfkc clean-up: drops some controls, maps odd spaces to ' '.
class NmtNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override;
};

// Each byte to its byte-level char (GPT-2's bytes_to_unicode).
class ByteLevelNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override;
};

// SentencePiece's precompiled charsmap (a darts-clone double-array trie of
// rewrite rules), applied per grapheme cluster as `tokenizers` does.
class PrecompiledNormalizer : public Normalizer {
 public:
  // `charsmap` is the raw blob (base64-decoded). Throws hfjit::Error naming `origin` if malformed.
  PrecompiledNormalizer(const std::string& charsmap, const std::string& origin);
  void normalize(NormalizedString& s) const override;
  // The replacement of the shortest rule that prefixes `chunk`, if any.
  bool transform(std::string_view chunk, std::string_view& out) const;

 private:
  std::vector<uint32_t> trie_;
  std::string normalized_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  void normalize(NormalizedString& s) const override {
    for (const auto& p : parts_) p->normalize(s);
  }
  const std::vector<std::unique_ptr<Normalizer>>& parts() const { return parts_; }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace hfjit::tokenizers
