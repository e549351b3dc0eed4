// Parity with the reference libraries on the whole corpus
// (tests/fixtures/tokenizers, made by scripts/fixtures/make_tokenizer_fixtures.py):
// every line, every mode, ids, type ids, offsets, masks and word ids.
#include <catch2/catch.hpp>

#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "hfjit/error.h"
#include "hfjit/tokenizer.h"
#include "hfjit/tokenizers/loaders.h"
#include "test_tokenizer_util.h"
#include "test_util.h"

using hfjit::Encoding;
using hfjit::Tokenizer;
using namespace hfjit::test;

namespace {

using Mode = std::function<std::string(const std::string&, const std::string&)>;

const nlohmann::json& manifest() {
  static const nlohmann::json m =
      nlohmann::json::parse(read_text(fixture("tokenizers/manifest.json")));
  return m;
}

std::shared_ptr<Tokenizer> load(const std::string& folder, const std::string& how) {
  if (how == "tokenizer.json") {
    std::shared_ptr<Tokenizer> t =
        hfjit::load_tokenizer_from_files(tokenizer_files(folder), folder + "/");
    return t;
  }
  if (how.rfind("sentencepiece:", 0) == 0) {
    const std::string file = how.substr(14);
    return hfjit::tokenizers::sentencepiece_tokenizer(
        read_text(fixture("tokenizers/" + folder + "/" + file)), file);
  }
  if (how == "config.json") {
    // The model file and config.json only: the class comes from config.json's model_type.
    hfjit::TokenizerFiles files = tokenizer_files(folder, false);
    for (const char* name :
         {"tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"})
      files.erase(name);
    files["config.json"] = read_text(fixture("tokenizers/" + folder + "/config.json"));
    return hfjit::load_tokenizer_from_files(files, folder + "/");
  }
  // "legacy" and "spiece.model": the classic files only.
  return hfjit::load_tokenizer_from_files(tokenizer_files(folder, false), folder + "/");
}

std::map<std::string, Mode> tokenizers_modes(std::shared_ptr<Tokenizer> tok) {
  return {
      {"single_special",
       [tok](const std::string& t, const std::string&) { return canonical(tok->encode(t, true)); }},
      {"single", [tok](const std::string& t,
                       const std::string&) { return canonical(tok->encode(t, false)); }},
      {"pair_special",
       [tok](const std::string& t, const std::string& p) {
         return canonical(tok->encode_pair(t, p, true));
       }},
      {"pair", [tok](const std::string& t,
                     const std::string& p) { return canonical(tok->encode_pair(t, p, false)); }},
      {"decode",
       [tok](const std::string& t, const std::string&) {
         const auto ids = tok->encode(t, true).ids;
         return tok->decode(ids, true) + std::string(1, '\0') + tok->decode(ids, false);
       }},
  };
}

std::map<std::string, Mode> slow_modes(std::shared_ptr<Tokenizer> tok) {
  auto fmt = [](const Encoding& e) {
    std::string out;
    for (size_t i = 0; i < e.ids.size(); ++i) out += (i ? "," : "") + std::to_string(e.ids[i]);
    out += "|";
    for (size_t i = 0; i < e.type_ids.size(); ++i)
      out += (i ? "," : "") + std::to_string(e.type_ids[i]);
    return out;
  };
  return {
      {"single_special",
       [tok, fmt](const std::string& t, const std::string&) { return fmt(tok->encode(t, true)); }},
      {"single",
       [tok, fmt](const std::string& t, const std::string&) { return fmt(tok->encode(t, false)); }},
      {"pair_special",
       [tok, fmt](const std::string& t, const std::string& p) {
         return fmt(tok->encode_pair(t, p, true));
       }},
      {"pair", [tok, fmt](const std::string& t,
                          const std::string& p) { return fmt(tok->encode_pair(t, p, false)); }},
  };
}

// transformers 5's MarianTokenizer (a Python tokenizer: no offsets or word ids to compare):
// ids|type_ids|tokens|special_tokens_mask|attention_mask (no tokens for pairs), and decode.
std::map<std::string, Mode> marian_modes(std::shared_ptr<Tokenizer> tok) {
  auto fmt = [](const Encoding& e, bool with_tokens) {
    std::string out;
    auto join = [&](const auto& v) {
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ",";
        if constexpr (std::is_same_v<std::decay_t<decltype(v[i])>, std::string>)
          out += v[i];
        else
          out += std::to_string(v[i]);
      }
    };
    join(e.ids);
    out += "|";
    join(e.type_ids);
    if (with_tokens) {
      out += "|";
      join(e.tokens);
    }
    out += "|";
    join(e.special_tokens_mask);
    out += "|";
    join(e.attention_mask);
    return out;
  };
  return {
      {"single_special",
       [tok, fmt](const std::string& t, const std::string&) {
         return fmt(tok->encode(t, true), true);
       }},
      {"single", [tok, fmt](const std::string& t,
                            const std::string&) { return fmt(tok->encode(t, false), true); }},
      {"pair_special",
       [tok, fmt](const std::string& t, const std::string& p) {
         return fmt(tok->encode_pair(t, p, true), false);
       }},
      {"pair",
       [tok, fmt](const std::string& t, const std::string& p) {
         return fmt(tok->encode_pair(t, p, false), false);
       }},
      {"decode",
       [tok](const std::string& t, const std::string&) {
         const auto ids = tok->encode(t, true).ids;
         return tok->decode(ids, true) + std::string(1, '\0') + tok->decode(ids, false);
       }},
  };
}

std::map<std::string, Mode> sentencepiece_modes(std::shared_ptr<Tokenizer> tok) {
  return {{"sentencepiece", [tok](const std::string& t, const std::string&) {
             const Encoding e = tok->encode(t, false);
             std::string out;
             for (size_t i = 0; i < e.ids.size(); ++i)
               out += (i ? "," : "") + std::to_string(e.ids[i]);
             out += "|";
             for (size_t i = 0; i < e.offsets.size(); ++i)
               out += (i ? "," : "") + std::to_string(e.offsets[i].first) + ":" +
                      std::to_string(e.offsets[i].second);
             return out + "|" + tok->decode(e.ids, false);
           }}};
}

std::map<std::string, Mode> truncation_modes(const std::string& folder) {
  using hfjit::Direction;
  using hfjit::PaddingParams;
  using hfjit::TruncationParams;
  using hfjit::TruncationStrategy;
  auto configured = [&](std::function<void(Tokenizer&)> setup, bool paired) -> Mode {
    std::shared_ptr<Tokenizer> tok = load(folder, "tokenizer.json");
    tok->set_padding(std::nullopt);
    tok->set_truncation(std::nullopt);
    setup(*tok);
    return [tok, paired](const std::string& t, const std::string& p) -> std::string {
      try {
        return canonical(paired ? tok->encode_pair(t, p) : tok->encode(t));
      } catch (const hfjit::Error&) {
        return "ERR";
      }
    };
  };
  auto trunc = [](size_t max, size_t stride, TruncationStrategy s, Direction d) {
    TruncationParams p;
    p.max_length = max;
    p.stride = stride;
    p.strategy = s;
    p.direction = d;
    return p;
  };
  return {
      {"single_16_stride4", configured(
                                [&](Tokenizer& t) {
                                  t.set_truncation(trunc(16, 4, TruncationStrategy::LongestFirst,
                                                         Direction::Right));
                                },
                                false)},
      {"pair_only_second_32_stride8",
       configured(
           [&](Tokenizer& t) {
             t.set_truncation(trunc(32, 8, TruncationStrategy::OnlySecond, Direction::Right));
           },
           true)},
      {"pair_longest_first_24",
       configured(
           [&](Tokenizer& t) {
             t.set_truncation(trunc(24, 0, TruncationStrategy::LongestFirst, Direction::Right));
           },
           true)},
      {"pair_only_first_20_left_stride2",
       configured(
           [&](Tokenizer& t) {
             t.set_truncation(trunc(20, 2, TruncationStrategy::OnlyFirst, Direction::Left));
           },
           true)},
      {"single_pad40_right", configured(
                                 [](Tokenizer& t) {
                                   PaddingParams p;
                                   p.length = 40;
                                   p.pad_token = "[PAD]";
                                   t.set_padding(p);
                                 },
                                 false)},
      {"pair_trunc30_pad_multiple8_left",
       configured(
           [&](Tokenizer& t) {
             t.set_truncation(trunc(30, 0, TruncationStrategy::LongestFirst, Direction::Right));
             PaddingParams p;
             p.pad_to_multiple_of = 8;
             p.direction = Direction::Left;
             p.pad_type_id = 1;
             p.pad_token = "<pad>";
             t.set_padding(p);
           },
           true)},
  };
}

// Runs one set through one loading path; returns the number of mismatching lines.
size_t run_set(const std::string& name, const std::string& how) {
  const nlohmann::json& spec = manifest()["sets"][name];
  const std::string folder = spec["folder"];
  const std::vector<std::string> mode_names = spec["modes"];
  const size_t lines = spec["lines"];
  std::map<std::string, Mode> modes;
  if (name.find("-truncation") != std::string::npos) {
    modes = truncation_modes(folder);
  } else if (how.rfind("sentencepiece:", 0) == 0) {
    modes = sentencepiece_modes(load(folder, how));
  } else if (name.rfind("marian", 0) == 0) {
    modes = marian_modes(load(folder, how));
  } else if (name.find("-slow") != std::string::npos) {
    modes = slow_modes(load(folder, how));
  } else {
    std::shared_ptr<Tokenizer> tok = load(folder, how);
    if (name != "minilm-configured") {
      tok->set_padding(std::nullopt);
      tok->set_truncation(std::nullopt);
    }
    modes = tokenizers_modes(tok);
  }
  std::istringstream expected(
      read_text(fixture("tokenizers/" + spec["expected"].get<std::string>())));
  const auto& text = corpus();
  std::map<std::string, size_t> bad_by_mode;
  size_t bad_lines = 0, shown = 0;
  std::string line;
  for (size_t i = 0; i < lines; ++i) {
    std::getline(expected, line);
    const std::string& t = text[i];
    const std::string& p = text[(7 * i + 3) % text.size()];
    bool bad = false;
    for (size_t m = 0; m < mode_names.size(); ++m) {
      std::string got;
      try {
        got = modes.at(mode_names[m])(t, p);
      } catch (const std::exception& e) {
        got = std::string("EXCEPTION: ") + e.what();
      }
      if (crc_digits(got) != line.substr(6 * m, 6)) {
        bad = true;
        ++bad_by_mode[mode_names[m]];
        if (shown++ < 5)
          std::cout << "  " << name << " [" << how << "] line " << i << " mode " << mode_names[m]
                    << ": " << got
                    << "\n    (reference: .venv-ref/bin/python "
                       "scripts/fixtures/make_tokenizer_fixtures.py --show "
                    << name << " " << i << ")\n";
      }
    }
    bad_lines += bad;
  }
  std::cout << "parity " << name << " [" << how << "]: " << lines << " lines x "
            << mode_names.size() << " modes, " << bad_lines << " lines differ";
  for (const auto& [m, n] : bad_by_mode) std::cout << ", " << m << ": " << n;
  std::cout << std::endl;
  return bad_lines;
}

void check_set(const std::string& name) {
  REQUIRE(manifest()["sets"].contains(name));
  for (const std::string how : manifest()["sets"][name]["load"]) {
    INFO(name << " loaded from " << how);
    CHECK(run_set(name, how) == 0);
  }
}

}  // namespace

TEST_CASE("corpus: at least 10,000 lines", "[tokenizer][parity]") {
  CHECK(corpus().size() >= 10000);
}

#define PARITY_TEST(set)                             \
  TEST_CASE("parity: " set, "[tokenizer][parity]") { \
    check_set(set);                                  \
  }

PARITY_TEST("minilm")
PARITY_TEST("minilm-configured")
PARITY_TEST("bert-cased")
PARITY_TEST("bert-mlm")
PARITY_TEST("misc-wordpiece")
PARITY_TEST("bytelevel-bpe")
PARITY_TEST("gpt2-lm")
PARITY_TEST("roberta-mlm")
PARITY_TEST("misc-bpe")
PARITY_TEST("bert-cased-truncation")
PARITY_TEST("bytelevel-bpe-truncation")
PARITY_TEST("albert-mlm")
PARITY_TEST("t5-lm")
PARITY_TEST("spm-unigram")
PARITY_TEST("spm-bpe")
PARITY_TEST("spm-unigram-raw")
PARITY_TEST("spm-bpe-raw")
PARITY_TEST("albert-mlm-raw")
PARITY_TEST("t5-lm-raw")
PARITY_TEST("albert-mlm-slow")
PARITY_TEST("t5-lm-slow")
PARITY_TEST("xlm-roberta-mlm")
PARITY_TEST("camembert-mlm")
PARITY_TEST("modernbert-mlm")
PARITY_TEST("deberta-v2-mlm")
PARITY_TEST("mpnet-mlm")
PARITY_TEST("llama3-bpe")
PARITY_TEST("qwen2-bpe")
PARITY_TEST("llama2-spm")
PARITY_TEST("marian-spm")

TEST_CASE("parity: every fixture set has a test", "[tokenizer][parity]") {
  const std::vector<std::string> covered = {"minilm",
                                            "minilm-configured",
                                            "bert-cased",
                                            "bert-mlm",
                                            "misc-wordpiece",
                                            "bytelevel-bpe",
                                            "gpt2-lm",
                                            "roberta-mlm",
                                            "misc-bpe",
                                            "bert-cased-truncation",
                                            "bytelevel-bpe-truncation",
                                            "albert-mlm",
                                            "t5-lm",
                                            "spm-unigram",
                                            "spm-bpe",
                                            "spm-unigram-raw",
                                            "spm-bpe-raw",
                                            "albert-mlm-raw",
                                            "t5-lm-raw",
                                            "albert-mlm-slow",
                                            "t5-lm-slow",
                                            "xlm-roberta-mlm",
                                            "camembert-mlm",
                                            "modernbert-mlm",
                                            "deberta-v2-mlm",
                                            "mpnet-mlm",
                                            "llama3-bpe",
                                            "qwen2-bpe",
                                            "llama2-spm",
                                            "marian-spm"};
  for (auto it = manifest()["sets"].begin(); it != manifest()["sets"].end(); ++it) {
    INFO(it.key());
    CHECK(std::find(covered.begin(), covered.end(), it.key()) != covered.end());
  }
}
