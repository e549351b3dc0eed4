// libFuzzer: tokenizer files from strangers. The input picks which files it is
// (first byte) and, for vocab.json + merges.txt, where one ends and the other
// begins (a 0xFF byte); the tokenizer, when it loads, then encodes fixed probes,
// a pair, and the input's own bytes, and decodes what it got.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hfjit/error.h"
#include "hfjit/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  hfjit::TokenizerFiles files;
  switch (data[0] % 3) {
    case 0:
      files["tokenizer.json"] = body;
      break;
    case 1:
      files["vocab.txt"] = body;
      break;
    default: {
      const size_t cut = body.find('\xff');
      files["vocab.json"] = body.substr(0, cut);
      files["merges.txt"] = cut == std::string::npos ? std::string() : body.substr(cut + 1);
    }
  }
  try {
    auto tok = hfjit::load_tokenizer_from_files(files, "fuzz");
    for (const char* probe :
         {"Hello, world!", "", "   ", "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80",
          "\xff\xfe"}) {
      const hfjit::Encoding e = tok->encode(probe);
      if (e.ids.size() != e.offsets.size() || e.ids.size() != e.tokens.size()) __builtin_trap();
      (void)tok->decode(e.ids);
    }
    (void)tok->encode_pair("a question", "some context");
    (void)tok->encode(body.substr(0, 4096));
  } catch (const hfjit::Error&) {
  }
  return 0;
}
