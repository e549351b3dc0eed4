#pragma once
// sentencepiece 0.2.x's unigram encoder, over what libsentencepiece normalized.
//
// hfjit links Debian's libsentencepiece 0.1.97; transformers 5 calls PyPI's
// sentencepiece (0.2.3 in the reference venv). Their unigram encoders
// (Model::EncodeOptimized) walk the same lattice but add scores differently:
// 0.1.x sums a path's score in double (its user-defined-symbol bonus is a
// double, which makes every candidate one) and compares it with the float it
// stored, 0.2.x sums and compares in float. Between segmentations of equal
// score, such as those of a repeated word ("andandand..."), rounding then
// picks different ones: 50 of the 10,000 corpus lines on the Marian fixture's
// source.spm. 0.2.x also scores a user-defined symbol 0.1 x (bytes - 1) where
// 0.1.x gave it bytes x the highest score - 0.1. So hfjit keeps libsentencepiece
// for loading, normalizing and offsets, and segments the normalized text again
// as 0.2.x does.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hfjit/tokenizers/spm.h"
#include "hfjit/tokenizers/spm_proto.h"
#include "hfjit/tokenizers/vocab.h"

namespace hfjit::tokenizers {

class SpmUnigramEncoder {
 public:
  explicit SpmUnigramEncoder(const SpmProto& proto);

  struct Segment {
    size_t begin = 0, end = 0;  // bytes of the normalized text
    int id = 0;
  };
  // The best path over `normalized`, as 0.2.x's EncodeOptimized finds it
  // (unknown characters one segment each, with the unknown id).
  std::vector<Segment> segment(std::string_view normalized) const;

  // libsentencepiece's pieces of one text (`pieces`, from EncodeAsImmutableProto:
  // normalized piece text, id, input byte range) segmented again: the same
  // list where 0.2.x agrees, else 0.2.x's pieces, consecutive unknowns merged
  // as the processor merges them, each with the input range its normalized
  // bytes came from.
  std::vector<SpmPiece> resegment(std::string_view input, std::vector<SpmPiece> pieces) const;

  int unk_id() const { return unk_id_; }

 private:
  PrefixTrie trie_;  // normal, user-defined and unused pieces -> ids
  std::vector<float> score_;
  std::vector<int> type_;
  float unk_score_ = 0;
  int unk_id_ = 0;
};

}  // namespace hfjit::tokenizers
