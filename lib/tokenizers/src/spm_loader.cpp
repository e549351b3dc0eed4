// Finds and dlopens libhfjit_spm.so (see hfjit/tokenizers/spm.h).

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "hfjit/error.h"
#include "hfjit/tokenizers/spm.h"

namespace hfjit::tokenizers {
namespace {

using LoadFn = SpmProcessor* (*)(const char*, size_t, std::string*);

// AddressSanitizer refuses RTLD_DEEPBIND (it would bypass its interceptors). The
// sanitized builds only load SentencePiece models in processes without libtorch
// (the tokenizer tests), where there is no second protobuf to keep apart.
#if defined(__SANITIZE_ADDRESS__)
#define HFJIT_NO_DEEPBIND 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HFJIT_NO_DEEPBIND 1
#endif
#endif
#ifdef HFJIT_NO_DEEPBIND
constexpr int kDlopenFlags = RTLD_NOW | RTLD_LOCAL;
#else
constexpr int kDlopenFlags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
#endif

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
      void* h = ::dlopen(path.c_str(), kDlopenFlags);
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

}  // namespace

std::shared_ptr<SpmProcessor> load_spm(const std::string& proto, const std::string& origin) {
  std::string error;
  SpmProcessor* p = shim(origin)(proto.data(), proto.size(), &error);
  if (!p) throw Error(origin + ": not a SentencePiece model: " + error);
  return std::shared_ptr<SpmProcessor>(p);
}

}  // namespace hfjit::tokenizers
