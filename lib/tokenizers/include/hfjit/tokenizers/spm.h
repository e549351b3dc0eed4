#pragma once
// libsentencepiece behind a shim loaded on first use.
//
// Debian's libsentencepiece.so carries (and exports) its own copy of
// protobuf-lite. In a process that also loads libtorch, which links the system
// libprotobuf, the two protobufs' symbols interpose and the process crashes
// while the libraries initialise. So nothing of ours links libsentencepiece:
// the shim libhfjit_spm.so does, and it is dlopen'ed with RTLD_LOCAL |
// RTLD_DEEPBIND, which makes sentencepiece bind to its own protobuf and keeps
// its symbols out of everybody else's way. The interface is virtual calls only.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hfjit::tokenizers {

struct SpmPiece {
  std::string piece;
  uint32_t id = 0;
  size_t begin = 0, end = 0;  // bytes of the input
};

class SpmProcessor {
 public:
  virtual ~SpmProcessor() = default;
  virtual int piece_size() const = 0;
  virtual std::string id_to_piece(int id) const = 0;
  virtual int unk_id() const = 0;
  // Pieces with their ids and byte ranges (EncodeAsImmutableProto).
  virtual void encode_pieces(std::string_view text, std::vector<SpmPiece>& out) const = 0;
  virtual std::vector<std::string> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<std::string>& pieces) const = 0;
};

// A processor for a serialized model. Throws hfjit::Error naming `origin` when
// the model does not load or the shim cannot be found (HFJIT_SPM_LIBRARY
// overrides where it is looked for).
std::shared_ptr<SpmProcessor> load_spm(const std::string& proto, const std::string& origin);

}  // namespace hfjit::tokenizers

// The shim's one entry point: a new processor, or null with `error` set.
extern "C" hfjit::tokenizers::SpmProcessor* hfjit_spm_load(const char* data, size_t size,
                                                           std::string* error);
