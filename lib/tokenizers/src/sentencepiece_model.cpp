#include "hfjit/tokenizers/sentencepiece_model.h"

#include "hfjit/error.h"
#include "hfjit/tokenizers/unicode.h"

namespace hfjit::tokenizers {

SentencePieceModel::SentencePieceModel(const std::string& proto, const std::string& origin)
    : sp_(load_spm(proto, origin)) {
  const int n = sp_->piece_size();
  pieces_.reserve(n);
  for (int i = 0; i < n; ++i) {
    pieces_.push_back(sp_->id_to_piece(i));
    vocab_.insert(pieces_.back(), static_cast<uint32_t>(i));
  }
}

SentencePieceModel::~SentencePieceModel() = default;

std::optional<uint32_t> SentencePieceModel::token_to_id(std::string_view token) const {
  return vocab_.find(token);
}

const std::string* SentencePieceModel::id_to_token(uint32_t id) const {
  return id < pieces_.size() ? &pieces_[id] : nullptr;
}

void SentencePieceModel::tokenize(std::string_view seq, std::vector<Token>& out) const {
  std::vector<SpmPiece> pieces;
  sp_->encode_pieces(seq, pieces);
  for (const auto& p : pieces) out.push_back({p.id, p.piece, p.begin, p.end});
}

}  // namespace hfjit::tokenizers
