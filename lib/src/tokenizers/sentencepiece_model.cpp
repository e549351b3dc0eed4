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

std::optional<uint32_t> SentencePieceModel::token_to_id(std::string_view token) const { return vocab_.find(token); }

const std::string* SentencePieceModel::id_to_token(uint32_t id) const {
  return id < pieces_.size() ? &pieces_[id] : nullptr;
}

namespace {
constexpr std::string_view kUnderline = "\xE2\x96\x81";  // U+2581

bool is_ascii_digit_or_unicode_digit(std::string_view piece, size_t char_end) {
  // Python's str.isdigit on the char before the end.
  size_t b = char_end - 1;
  while (b > 0 && (static_cast<unsigned char>(piece[b]) & 0xC0) == 0x80) --b;
  size_t i = b;
  const char32_t c = next_char(piece, i);
  return is_numeric(c) && !(c >= 0x2150 && c <= 0x218F && c != 0x2189);  // no Roman numerals or fractions
}
}  // namespace

void SentencePieceModel::tokenize(std::string_view seq, std::vector<Token>& out) const {
  std::vector<SpmPiece> pieces;
  sp_->encode_pieces(seq, pieces);
  for (const auto& p : pieces) {
    const std::string& piece = p.piece;
    const uint32_t id = p.id;
    const size_t begin = p.begin, end = p.end;
    const size_t chars = count_chars(piece);
    if (digit_comma_ && chars > 1 && piece.back() == ',' && is_ascii_digit_or_unicode_digit(piece, piece.size() - 1)) {
      // AlbertTokenizer._tokenize: re-encode the piece without "▁" and its comma.
      std::string body = piece.substr(0, piece.size() - 1);
      for (size_t k = body.find(kUnderline); k != std::string::npos; k = body.find(kUnderline, k))
        body.erase(k, kUnderline.size());
      std::vector<std::string> sub = sp_->encode(body);
      if (piece.compare(0, kUnderline.size(), kUnderline) != 0 && !sub.empty() &&
          sub[0].compare(0, kUnderline.size(), kUnderline) == 0) {
        if (sub[0].size() == kUnderline.size()) sub.erase(sub.begin());
        else sub[0].erase(0, kUnderline.size());
      }
      const size_t comma = end > begin ? end - 1 : end;
      for (const std::string& s : sub) {
        const auto sid = vocab_.find(s);
        out.push_back({sid ? *sid : static_cast<uint32_t>(sp_->unk_id()), s, begin, comma});
      }
      const auto cid = vocab_.find(",");
      out.push_back({cid ? *cid : static_cast<uint32_t>(sp_->unk_id()), ",", comma, end});
      continue;
    }
    out.push_back({id, piece, begin, end});
  }
}

}  // namespace hfjit::tokenizers
