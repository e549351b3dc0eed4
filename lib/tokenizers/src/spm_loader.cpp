// Finds and dlopens libhfjit_spm.so (see hfjit/tokenizers/spm.h).

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "hfjit/error.h"
#include "hfjit/tokenizers/spm.h"
#include "hfjit/tokenizers/spm_proto.h"
#include "hfjit/tokenizers/spm_viterbi.h"

namespace hfjit::tokenizers {
namespace {

using LoadFn = SpmProcessor* (*)(const char*, size_t, std::string*);

// libsentencepiece is opened with RTLD_DEEPBIND: its own symbols before those
// already loaded. Without it, its names that libtorch also exports bind to
// libtorch's: its bundled protobuf to libtorch's, and its absl flag
// FLAGS_minloglevel (a 32-byte absl::Flag) to libc10's int of that name, whose
// constructor then overwrites the mutex next to that int (a process with
// libtorch hangs at its first TorchScript call). AddressSanitizer's dlopen
// refuses RTLD_DEEPBIND (a library bound deep could take libc's malloc over the
// sanitizer's); the sanitized libhfjit_spm.so names libasan first among its
// libraries, so bound deep it still allocates through the sanitizer, and the
// sanitized builds call libc's own dlopen.
#if defined(__SANITIZE_ADDRESS__)
#define HFJIT_ASAN_DLOPEN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HFJIT_ASAN_DLOPEN 1
#endif
#endif
constexpr int kDlopenFlags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;

void* open_shim(const char* path) {
#ifdef HFJIT_ASAN_DLOPEN
  using DlopenFn = void* (*)(const char*, int);
  static const DlopenFn libc_dlopen = [] {
    void* libc = ::dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    return libc ? reinterpret_cast<DlopenFn>(::dlsym(libc, "dlopen")) : nullptr;
  }();
  if (libc_dlopen) return libc_dlopen(path, kDlopenFlags);
  // No libc.so.6 to ask: the sanitizer's dlopen, not bound deep.
  return ::dlopen(path, RTLD_NOW | RTLD_LOCAL);
#else
  return ::dlopen(path, kDlopenFlags);
#endif
}

std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("HFJIT_SPM_LIBRARY")) out.push_back(env);
#ifdef HFJIT_SPM_BUILD_PATH
  out.push_back(HFJIT_SPM_BUILD_PATH);
#endif
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    const std::filesystem::path dir =
        std::filesystem::path(std::string(exe, static_cast<size_t>(n))).parent_path();
    out.push_back((dir / "libhfjit_spm.so").string());
    out.push_back((dir / ".." / "lib" / "libhfjit_spm.so").string());
  }
  return out;
}

LoadFn shim(const std::string& origin) {
  static std::once_flag once;
  static LoadFn fn = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    std::string errors;
    for (const std::string& path : candidates()) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) continue;
      void* h = open_shim(path.c_str());
      if (!h) {
        const char* e = ::dlerror();
        errors += std::string(errors.empty() ? "" : "; ") + (e ? e : path);
        continue;
      }
      fn = reinterpret_cast<LoadFn>(::dlsym(h, "hfjit_spm_load"));
      if (fn) return;
      errors += (errors.empty() ? "" : "; ") + path + " has no hfjit_spm_load";
    }
    failure = errors.empty() ? "libhfjit_spm.so not found (set HFJIT_SPM_LIBRARY)" : errors;
  });
  if (!fn) throw Error(origin + ": SentencePiece support unavailable: " + failure);
  return fn;
}

// libsentencepiece's processor with its unigram pieces segmented again as
// sentencepiece 0.2.x segments them (hfjit/tokenizers/spm_viterbi.h).
class Resegmenting : public SpmProcessor {
 public:
  Resegmenting(std::unique_ptr<SpmProcessor> inner, const SpmProto& proto)
      : inner_(std::move(inner)), encoder_(proto) {}
  int piece_size() const override { return inner_->piece_size(); }
  std::string id_to_piece(int id) const override { return inner_->id_to_piece(id); }
  int unk_id() const override { return inner_->unk_id(); }
  void encode_pieces(std::string_view text, std::vector<SpmPiece>& out) const override {
    std::vector<SpmPiece> pieces;
    inner_->encode_pieces(text, pieces);
    for (SpmPiece& p : encoder_.resegment(text, std::move(pieces))) out.push_back(std::move(p));
  }
  std::vector<std::string> encode(std::string_view text) const override {
    std::vector<SpmPiece> pieces;
    encode_pieces(text, pieces);
    std::vector<std::string> out;
    out.reserve(pieces.size());
    for (SpmPiece& p : pieces) out.push_back(std::move(p.piece));
    return out;
  }
  std::string decode(const std::vector<std::string>& pieces) const override {
    return inner_->decode(pieces);
  }

 private:
  std::unique_ptr<SpmProcessor> inner_;
  SpmUnigramEncoder encoder_;
};

}  // namespace

std::shared_ptr<SpmProcessor> load_spm(const std::string& proto, const std::string& origin) {
  std::string error;
  std::unique_ptr<SpmProcessor> p(shim(origin)(proto.data(), proto.size(), &error));
  if (!p) throw Error(origin + ": not a SentencePiece model: " + error);
  // A unigram model without byte fallback (the pieces sentencepiece's encoder
  // picks are the whole answer): segmented as sentencepiece 0.2.x does.
  const SpmProto parsed = parse_spm_proto(proto, origin);
  if (parsed.model_type == 1 && !parsed.byte_fallback)
    return std::make_shared<Resegmenting>(std::move(p), parsed);
  return std::shared_ptr<SpmProcessor>(std::move(p));
}

}  // namespace hfjit::tokenizers
