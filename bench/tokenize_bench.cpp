// hfjit_tokenize_bench: encode throughput of one tokenizer on one thread.
//
//   hfjit_tokenize_bench TOKENIZER_DIR CORPUS.jsonl [--repeat N] [--pairs] [--no-special]
//
// CORPUS.jsonl holds one JSON string per line (tests/fixtures/tokenizers/corpus.jsonl).
// Padding and truncation from tokenizer.json are turned off, as in
// scripts/bench/bench_tokenizers.py, so both sides do the same work. Prints one line
// per mode: lines/s, tokens/s and MB/s (best of --repeat runs).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "hfjit/error.h"
#include "hfjit/tokenizer.h"

namespace {

std::vector<std::string> read_corpus(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw hfjit::Error(path + ": cannot open");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(nlohmann::json::parse(line).get<std::string>());
  return lines;
}

template <typename F>
double best_seconds(int repeat, F run) {
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s TOKENIZER_DIR CORPUS.jsonl [--repeat N] [--pairs] [--no-special]\n",
                 argv[0]);
    return 2;
  }
  int repeat = 5;
  bool pairs = false, special = true;
  for (int i = 3; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeat = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--pairs"))
      pairs = true;
    else if (!std::strcmp(argv[i], "--no-special"))
      special = false;
  }
  try {
    auto tok = hfjit::load_tokenizer(argv[1]);
    tok->set_padding(std::nullopt);
    tok->set_truncation(std::nullopt);
    const auto lines = read_corpus(argv[2]);
    size_t bytes = 0;
    for (const auto& l : lines) bytes += l.size();
    size_t tokens = 0;
    for (const auto& l : lines)
      tokens += tok->encode(l, special).size();  // warm-up (and the BPE cache)
    const double single = best_seconds(repeat, [&] {
      size_t n = 0;
      for (const auto& l : lines) n += tok->encode(l, special).size();
      if (n != tokens) std::abort();
    });
    std::printf(
        "%-28s %9.0f lines/s %11.0f tokens/s %7.2f MB/s  (%zu lines, %zu tokens, best of %d)\n",
        "encode (one line at a time)", lines.size() / single, tokens / single, bytes / single / 1e6,
        lines.size(), tokens, repeat);
    const double batch = best_seconds(repeat, [&] {
      const auto out = tok->encode_batch(lines, special);
      if (out.size() != lines.size()) std::abort();
    });
    std::printf("%-28s %9.0f lines/s %11.0f tokens/s %7.2f MB/s\n", "encode_batch (1 thread)",
                lines.size() / batch, tokens / batch, bytes / batch / 1e6);
    if (pairs) {
      const double paired = best_seconds(repeat, [&] {
        for (size_t i = 0; i < lines.size(); ++i)
          tok->encode_pair(lines[i], lines[(7 * i + 3) % lines.size()], special);
      });
      std::printf("%-28s %9.0f pairs/s\n", "encode_pair", lines.size() / paired);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hfjit_tokenize_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
