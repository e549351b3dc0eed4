// libFuzzer: the encoders on arbitrary bytes (invalid UTF-8, control
// characters, huge words), through real tokenizers: WordPiece (bert-mlm) and
// byte-level BPE (roberta-mlm, gpt2-lm) of the fixtures, with truncation,
// overflowing windows and padding, then decoded.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hfjit/error.h"
#include "hfjit/tokenizer.h"

namespace {
std::vector<std::unique_ptr<hfjit::Tokenizer>>& tokenizers() {
  static std::vector<std::unique_ptr<hfjit::Tokenizer>> t = [] {
    std::vector<std::unique_ptr<hfjit::Tokenizer>> v;
    for (const char* m : {"bert-mlm", "roberta-mlm", "gpt2-lm"})
      v.push_back(hfjit::load_tokenizer(std::string(HFJIT_FIXTURES) + "/models/" + m));
    return v;
  }();
  return t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto& tok = *tokenizers()[data[0] % tokenizers().size()];
  try {
    tok.set_truncation(std::nullopt);
    tok.set_padding(std::nullopt);
    const hfjit::Encoding e = tok.encode(text);
    if (e.ids.size() != e.offsets.size()) __builtin_trap();
    for (const auto& [s, t] : e.offsets)
      if (s > t) __builtin_trap();
    (void)tok.decode(e.ids, data[0] & 4, data[0] & 8);
    hfjit::TruncationParams tp;
    tp.max_length = 8 + data[0] % 8;
    tp.stride = data[0] % 4;
    tp.strategy = hfjit::TruncationStrategy::OnlySecond;
    tok.set_truncation(tp);
    hfjit::PaddingParams pp;
    pp.length = 16;
    tok.set_padding(pp);
    for (const auto& w : tok.encode_windows("q?", text))
      if (w.ids.size() != 16) __builtin_trap();
  } catch (const hfjit::Error&) {
  }
  return 0;
}
