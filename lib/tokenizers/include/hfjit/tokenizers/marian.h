#pragma once
// The parts of transformers 5's MarianTokenizer (Helsinki-NLP/opus-mt-*), a Python tokenizer
// over two SentencePiece models and a vocabulary of its own (vocab.json), as Pipeline parts:
//   MarianModel          a chunk between special tokens: a leading ">>xx<<" language code as one
//                        token, the rest as source.spm's pieces, each mapped through vocab.json
//                        (<unk> when not in it); ids back through the decoding vocabulary.
//   MarianPostProcessor  A </s> and A B </s>, with the class's type ids and special tokens mask.
//   MarianDecoder        convert_tokens_to_string: pieces through the decoding model, special
//                        tokens as they are followed by a space, "▁" to spaces, Python's strip().
// loaders.cpp (marian_pipeline) reads the files and puts them together.

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "hfjit/tokenizers/decoders.h"
#include "hfjit/tokenizers/models.h"
#include "hfjit/tokenizers/post_processors.h"
#include "hfjit/tokenizers/spm.h"
#include "hfjit/tokenizers/vocab.h"

namespace hfjit::tokenizers {

class MarianModel : public Model {
 public:
  // `encoder`: vocab.json (piece -> id); `decoder`: the vocabulary ids decode through (vocab.json,
  // or target_vocab.json with separate_vocabs); ids in neither fall back to `decode_spm`'s pieces
  // (MarianTokenizer._convert_id_to_token).
  MarianModel(std::shared_ptr<const SpmProcessor> source_spm, Vocab encoder, const Vocab& decoder,
              const SpmProcessor& decode_spm, uint32_t unk_id);
  void tokenize(std::string_view sequence, std::vector<Token>& out) const override;
  std::optional<uint32_t> token_to_id(std::string_view token) const override {
    return encoder_.find(token);
  }
  const std::string* id_to_token(uint32_t id) const override;
  size_t vocab_size() const override { return encoder_.size(); }

 private:
  std::shared_ptr<const SpmProcessor> spm_;
  Vocab encoder_;
  std::unordered_map<uint32_t, std::string> decoder_;
  std::vector<std::string> spm_pieces_;
  uint32_t unk_id_;
};

class MarianPostProcessor : public PostProcessor {
 public:
  // `mask_ids`: the ids the special tokens mask marks in the text (every special token but unk).
  MarianPostProcessor(int64_t eos_id, std::string eos_token, std::set<int64_t> mask_ids)
      : eos_id_(eos_id), eos_token_(std::move(eos_token)), mask_ids_(std::move(mask_ids)) {}
  size_t added_tokens(bool) const override { return 1; }
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings,
                                          bool add_special_tokens) const override;

 private:
  int64_t eos_id_;
  std::string eos_token_;
  std::set<int64_t> mask_ids_;
};

class MarianDecoder : public Decoder {
 public:
  MarianDecoder(std::shared_ptr<const SpmProcessor> spm, std::set<std::string> special_tokens)
      : spm_(std::move(spm)), special_(std::move(special_tokens)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override;

 private:
  std::shared_ptr<const SpmProcessor> spm_;
  std::set<std::string> special_;
};

}  // namespace hfjit::tokenizers
