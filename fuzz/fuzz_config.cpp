// libFuzzer: config.json parsing into ModelConfig (typed getters, aliases, id2label).
#include <cstddef>
#include <cstdint>
#include <string>

#include "hfjit/config.h"
#include "hfjit/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hfjit::ModelConfig c =
        hfjit::parse_config(std::string(reinterpret_cast<const char*>(data), size), "config.json");
    (void)c.get_int("num_attention_heads", 1);
    (void)c.get_double("layer_norm_eps", 1e-12);
    (void)c.get_bool("tie_word_embeddings", true);
    (void)c.get_string("hidden_act", "gelu");
  } catch (const hfjit::Error&) {
  }
  return 0;
}
