// libFuzzer: an artifact's hfjit/meta.json, as `run` and `bench` read it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hfjit/error.h"
#include "hfjit/io/artifact_meta.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hfjit::ArtifactMeta m =
        hfjit::parse_artifact_meta(std::string(reinterpret_cast<const char*>(data), size), "m.pt");
    // What the readers then rely on.
    if (m.batch_size < 1) __builtin_trap();
    for (const auto& x : m.methods)
      if (x.length < 1 || x.name.empty()) __builtin_trap();
  } catch (const hfjit::Error&) {
  }
  return 0;
}
