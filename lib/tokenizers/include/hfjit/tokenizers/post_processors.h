#pragma once
// The post-processors of tokenizer.json: they add the special tokens around
// the encoded sequence(s) and set the type ids. Ports of `tokenizers`'
// TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hfjit/tokenizer.h"

namespace hfjit::tokenizers {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual size_t added_tokens(bool is_pair) const = 0;
  virtual std::vector<Encoding> process_encodings(std::vector<Encoding> encodings,
                                                  bool add_special_tokens) const = 0;
  // Sets the sequence and type ids, runs process_encodings, merges the result.
  Encoding process(Encoding encoding, std::optional<Encoding> pair, bool add_special_tokens) const;
};

// "[CLS]:0 $A:0 [SEP]:0" style templates.
class TemplateProcessor : public PostProcessor {
 public:
  struct Piece {
    bool is_sequence;
    std::string id;  // "A"/"B" for a sequence, the special token's name otherwise
    uint32_t type_id;
  };
  struct SpecialToken {
    std::vector<int64_t> ids;
    std::vector<std::string> tokens;
  };
  TemplateProcessor(std::vector<Piece> single, std::vector<Piece> pair,
                    std::map<std::string, SpecialToken> special);
  size_t added_tokens(bool is_pair) const override { return is_pair ? added_pair_ : added_single_; }
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings,
                                          bool add_special_tokens) const override;

 private:
  std::vector<Piece> single_, pair_;
  std::map<std::string, SpecialToken> special_;
  size_t added_single_ = 0, added_pair_ = 0;
};

// BERT ([CLS] A [SEP] B [SEP]) and RoBERTa (<s> A </s></s> B </s>, offsets trimmed of spaces).
class BertProcessor : public PostProcessor {
 public:
  BertProcessor(std::pair<std::string, int64_t> sep, std::pair<std::string, int64_t> cls,
                bool roberta, bool trim_offsets = false, bool add_prefix_space = false)
      : sep_(std::move(sep)),
        cls_(std::move(cls)),
        roberta_(roberta),
        trim_(trim_offsets),
        prefix_(add_prefix_space) {}
  size_t added_tokens(bool is_pair) const override { return is_pair ? (roberta_ ? 4 : 3) : 2; }
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings,
                                          bool add_special_tokens) const override;

 private:
  std::pair<std::string, int64_t> sep_, cls_;
  bool roberta_, trim_, prefix_;
};

// GPT-2's: only trims the spaces off the offsets when asked.
class ByteLevelProcessor : public PostProcessor {
 public:
  ByteLevelProcessor(bool trim_offsets, bool add_prefix_space)
      : trim_(trim_offsets), prefix_(add_prefix_space) {}
  size_t added_tokens(bool) const override { return 0; }
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings,
                                          bool add_special_tokens) const override;

 private:
  bool trim_, prefix_;
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts)
      : parts_(std::move(parts)) {}
  size_t added_tokens(bool is_pair) const override;
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings,
                                          bool add_special_tokens) const override;

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

// tokenizers' Encoding operations.
void set_sequence_id(Encoding& e, size_t id);
void merge_into(Encoding& self, const Encoding& pair);
Encoding merge_encodings(std::vector<Encoding>& encodings);
// Cuts to max_len tokens; the rest goes to `overflowing` in windows overlapping by `stride`.
void truncate_encoding(Encoding& e, size_t max_len, size_t stride, Direction direction);
void pad_encoding(Encoding& e, size_t target, int64_t pad_id, int64_t pad_type_id,
                  const std::string& pad_token, Direction direction);
// Removes the leading/trailing spaces of each token from its offsets (byte-level 'Ġ' included).
void trim_offsets(Encoding& e, bool add_prefix_space);

}  // namespace hfjit::tokenizers
