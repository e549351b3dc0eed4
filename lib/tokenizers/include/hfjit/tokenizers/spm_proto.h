#pragma once
// A serialized sentencepiece ModelProto, the parts hfjit reads without
// libsentencepiece: the pieces (what transformers 5's
// convert_slow_tokenizer.SentencePieceExtractor reads), the normalizer's
// precompiled charsmap, and the trainer's model type and byte fallback (which
// encoder libsentencepiece runs).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hfjit::tokenizers {

struct SpmProto {
  // SentencePiece.Type
  enum Type { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };
  struct Piece {
    std::string piece;
    float score = 0;
    int type = kNormal;
  };
  std::vector<Piece> pieces;
  int64_t unk_id = 0;
  std::string precompiled_charsmap;
  int model_type = 1;  // TrainerSpec.ModelType: UNIGRAM 1, BPE 2, WORD 3, CHAR 4
  bool byte_fallback = false;
};

// Throws hfjit::Error naming `where` on malformed protobuf or a model without pieces.
SpmProto parse_spm_proto(std::string_view data, const std::string& where);

}  // namespace hfjit::tokenizers
