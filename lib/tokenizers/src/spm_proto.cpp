#include "hfjit/tokenizers/spm_proto.h"

#include <cstring>

#include "hfjit/error.h"

namespace hfjit::tokenizers {
namespace {

class ProtoReader {
 public:
  ProtoReader(std::string_view data, const std::string& where) : d_(data), where_(where) {}
  bool done() const { return i_ >= d_.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i_ >= d_.size()) fail();
      const uint8_t b = static_cast<uint8_t>(d_[i_++]);
      v |= uint64_t(b & 0x7F) << shift;
      if (b < 0x80) return v;
    }
    fail();
  }
  std::string_view bytes(size_t n) {
    if (n > d_.size() - i_) fail();
    std::string_view out = d_.substr(i_, n);
    i_ += n;
    return out;
  }
  // One field: its number and wire type; the value is read with value_*.
  std::pair<uint32_t, int> key() {
    const uint64_t k = varint();
    return {static_cast<uint32_t>(k >> 3), static_cast<int>(k & 7)};
  }
  std::string_view length_delimited() { return bytes(varint()); }
  void skip(int wire) {
    switch (wire) {
      case 0:
        varint();
        break;
      case 1:
        bytes(8);
        break;
      case 2:
        length_delimited();
        break;
      case 5:
        bytes(4);
        break;
      default:
        fail();
    }
  }
  [[noreturn]] void fail() const {
    throw Error(where_ + ": not a SentencePiece model (malformed protobuf)");
  }

 private:
  std::string_view d_;
  size_t i_ = 0;
  const std::string& where_;
};

}  // namespace

SpmProto parse_spm_proto(std::string_view data, const std::string& where) {
  SpmProto out;
  ProtoReader r(data, where);
  while (!r.done()) {
    auto [field, wire] = r.key();
    if (wire != 2) {
      r.skip(wire);
      continue;
    }
    const std::string_view sub = r.length_delimited();
    ProtoReader s(sub, where);
    if (field == 1) {  // SentencePiece pieces
      SpmProto::Piece p;
      while (!s.done()) {
        auto [f, w] = s.key();
        if (f == 1 && w == 2) {
          p.piece = std::string(s.length_delimited());
        } else if (f == 2 && w == 5) {
          const std::string_view b = s.bytes(4);
          uint32_t u = 0;
          for (int k = 3; k >= 0; --k) u = (u << 8) | static_cast<uint8_t>(b[k]);
          std::memcpy(&p.score, &u, 4);
        } else if (f == 3 && w == 0) {
          p.type = static_cast<int>(s.varint());
        } else {
          s.skip(w);
        }
      }
      out.pieces.push_back(std::move(p));
    } else if (field == 2) {  // TrainerSpec: model_type 3, byte_fallback 35, unk_id 40
      while (!s.done()) {
        auto [f, w] = s.key();
        if (f == 3 && w == 0)
          out.model_type = static_cast<int>(s.varint());
        else if (f == 35 && w == 0)
          out.byte_fallback = s.varint() != 0;
        else if (f == 40 && w == 0)
          out.unk_id = static_cast<int32_t>(static_cast<uint32_t>(s.varint()));
        else
          s.skip(w);
      }
    } else if (field == 3) {  // NormalizerSpec: precompiled_charsmap = 2
      while (!s.done()) {
        auto [f, w] = s.key();
        if (f == 2 && w == 2)
          out.precompiled_charsmap = std::string(s.length_delimited());
        else
          s.skip(w);
      }
    }
  }
  if (out.pieces.empty()) throw Error(where + ": not a SentencePiece model (no pieces)");
  return out;
}

}  // namespace hfjit::tokenizers
