// libFuzzer: the safetensors header and layout checks (parse_safetensors).
#include <cstddef>
#include <cstdint>

#include "hfjit/error.h"
#include "hfjit/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hfjit::SafetensorsHeader h = hfjit::parse_safetensors(data, size, "fuzz.safetensors");
    // Every entry must lie inside the data section the parser accepted.
    for (const auto& t : h.tensors)
      if (h.data_start + t.end > size || t.begin > t.end) __builtin_trap();
  } catch (const hfjit::Error&) {
  }
  return 0;
}
