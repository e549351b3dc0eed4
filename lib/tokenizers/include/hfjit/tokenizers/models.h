#pragma once
// The models: each turns one pre-token (a split's normalized text) into
// tokens. WordPiece (BERT), BPE (GPT-2, RoBERTa, SentencePiece-converted BPE),
// Unigram (SentencePiece-converted unigram, Viterbi) and WordLevel, each a
// port of the `tokenizers` model of the same name.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hfjit/tokenizers/pre_tokenized_string.h"
#include "hfjit/tokenizers/vocab.h"

namespace hfjit::tokenizers {

class Model {
 public:
  virtual ~Model() = default;
  // Appends the tokens of `sequence` (offsets are bytes of `sequence`).
  virtual void tokenize(std::string_view sequence, std::vector<Token>& out) const = 0;
  virtual std::optional<uint32_t> token_to_id(std::string_view token) const = 0;
  virtual const std::string* id_to_token(uint32_t id) const = 0;
  virtual size_t vocab_size() const = 0;
  // The prefix of word-continuing pieces ("##"), empty when the model has none.
  virtual std::string continuing_subword_prefix() const { return std::string(); }
};

// Greedy longest-match-first subwords with a continuing prefix ("##").
class WordPieceModel : public Model {
 public:
  WordPieceModel(Vocab vocab, std::string unk_token, std::string continuing_subword_prefix = "##",
                 size_t max_input_chars_per_word = 100);
  void tokenize(std::string_view sequence, std::vector<Token>& out) const override;
  std::optional<uint32_t> token_to_id(std::string_view token) const override {
    return vocab_.find(token);
  }
  const std::string* id_to_token(uint32_t id) const override { return vocab_.token(id); }
  size_t vocab_size() const override { return vocab_.size(); }
  std::string continuing_subword_prefix() const override { return prefix_; }

 private:
  Vocab vocab_;
  std::string unk_token_;
  std::string prefix_;
  size_t max_chars_;
  Fnv64 prefix_hash_;
};

// Ranked merges over chars (byte-level chars for GPT-2), with a word cache.
class BpeModel : public Model {
 public:
  struct Options {
    std::optional<std::string> unk_token;
    std::string continuing_subword_prefix;
    std::string end_of_word_suffix;
    bool fuse_unk = false;
    bool byte_fallback = false;
    bool ignore_merges = false;
  };
  // `merges` are (left, right) token pairs, highest priority first.
  // Throws hfjit::Error naming `origin` when a merge uses an unknown token.
  BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           Options options, const std::string& origin);
  void tokenize(std::string_view sequence, std::vector<Token>& out) const override;
  std::optional<uint32_t> token_to_id(std::string_view token) const override {
    return vocab_.find(token);
  }
  const std::string* id_to_token(uint32_t id) const override { return vocab_.token(id); }
  size_t vocab_size() const override { return vocab_.size(); }
  std::string continuing_subword_prefix() const override { return opt_.continuing_subword_prefix; }

 private:
  struct Symbol {
    uint32_t id;
    uint32_t len;
  };
  struct MergeEntry {
    uint32_t rank;
    uint32_t new_id;
  };
  const MergeEntry* find_merge(uint32_t a, uint32_t b) const;
  std::vector<Symbol> merge_word(std::string_view word) const;

  Vocab vocab_;
  Options opt_;
  std::unordered_map<uint64_t, MergeEntry> merges_;
  uint32_t byte_ids_[256];
  bool have_byte_ids_[256];
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<Symbol>> cache_;
};

// SentencePiece unigram: the best segmentation by summed log-probabilities.
class UnigramModel : public Model {
 public:
  // Throws hfjit::Error naming `origin` when unk_id is out of range or the vocab is empty.
  UnigramModel(std::vector<std::pair<std::string, double>> pieces, std::optional<uint32_t> unk_id,
               bool byte_fallback, const std::string& origin);
  void tokenize(std::string_view sequence, std::vector<Token>& out) const override;
  std::optional<uint32_t> token_to_id(std::string_view token) const override {
    return vocab_.find(token);
  }
  const std::string* id_to_token(uint32_t id) const override {
    return id < pieces_.size() ? &pieces_[id].first : nullptr;
  }
  size_t vocab_size() const override { return pieces_.size(); }

 private:
  // Viterbi: the pieces of the best path, unknown runs fused.
  void encode(std::string_view sentence, std::vector<std::pair<size_t, size_t>>& pieces) const;

  std::vector<std::pair<std::string, double>> pieces_;
  Vocab vocab_;
  PrefixTrie trie_;
  std::optional<uint32_t> unk_id_;
  bool byte_fallback_;
  double min_score_;
};

// Whole words looked up in a vocabulary, else the unknown token.
class WordLevelModel : public Model {
 public:
  WordLevelModel(Vocab vocab, std::string unk_token)
      : vocab_(std::move(vocab)), unk_token_(std::move(unk_token)) {}
  void tokenize(std::string_view sequence, std::vector<Token>& out) const override;
  std::optional<uint32_t> token_to_id(std::string_view token) const override {
    return vocab_.find(token);
  }
  const std::string* id_to_token(uint32_t id) const override { return vocab_.token(id); }
  size_t vocab_size() const override { return vocab_.size(); }

 private:
  Vocab vocab_;
  std::string unk_token_;
};

}  // namespace hfjit::tokenizers
