// libFuzzer: the restricted unpickler on the bytes of a data.pkl.
#include <cstddef>
#include <cstdint>

#include "hfjit/error.h"
#include "hfjit/io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hfjit::PickleLimits limits;
  limits.max_values = 1u << 16;  // small bounds keep each input fast; the checks are the same
  limits.max_string = 1u << 16;
  try {
    for (const auto& t : hfjit::unpickle_state_dict(data, size, "fuzz/data.pkl", limits))
      if (t.shape.size() != t.stride.size()) __builtin_trap();
  } catch (const hfjit::Error&) {
  }
  return 0;
}
