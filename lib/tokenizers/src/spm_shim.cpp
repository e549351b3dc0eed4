// libhfjit_spm.so: SpmProcessor over libsentencepiece (see hfjit/tokenizers/spm.h
// for why this is a separate, dlopen'ed library).

#include <sentencepiece_processor.h>

#include "hfjit/tokenizers/spm.h"

namespace {

class Processor : public hfjit::tokenizers::SpmProcessor {
 public:
  sentencepiece::SentencePieceProcessor sp;
  int piece_size() const override { return sp.GetPieceSize(); }
  std::string id_to_piece(int id) const override { return sp.IdToPiece(id); }
  int unk_id() const override { return sp.unk_id(); }
  void encode_pieces(std::string_view text,
                     std::vector<hfjit::tokenizers::SpmPiece>& out) const override {
    const auto spt = sp.EncodeAsImmutableProto(text);
    for (const auto& p : spt.pieces()) out.push_back({p.piece(), p.id(), p.begin(), p.end()});
  }
  std::vector<std::string> encode(std::string_view text) const override {
    std::vector<std::string> pieces;
    sp.Encode(text, &pieces).IgnoreError();
    return pieces;
  }
  std::string decode(const std::vector<std::string>& pieces) const override {
    std::string text;
    sp.Decode(pieces, &text).IgnoreError();
    return text;
  }
};

}  // namespace

extern "C" __attribute__((visibility("default"))) hfjit::tokenizers::SpmProcessor* hfjit_spm_load(
    const char* data, size_t size, std::string* error) {
  auto p = std::make_unique<Processor>();
  const auto status = p->sp.LoadFromSerializedProto(std::string_view(data, size));
  if (!status.ok()) {
    if (error) *error = status.ToString();
    return nullptr;
  }
  return p.release();
}
