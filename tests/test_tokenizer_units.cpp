// The Tokenizer API around the parity-tested core: loading, windows,
// padding, batches, decoding, vocabulary and special tokens, threads.
#include <catch2/catch.hpp>

#include <thread>

#include "hfjit/error.h"
#include "hfjit/tokenizer.h"
#include "hfjit/tokenizers/normalizers.h"
#include "hfjit/tokenizers/pipeline.h"
#include "hfjit/tokenizers/regex.h"
#include "hfjit/tokenizers/unicode.h"
#include "test_tokenizer_util.h"
#include "test_util.h"

using namespace hfjit::test;

namespace {
std::unique_ptr<hfjit::Tokenizer> plain(const std::string& folder) {
  auto t = hfjit::load_tokenizer_from_files(tokenizer_files(folder), folder + "/");
  t->set_padding(std::nullopt);
  t->set_truncation(std::nullopt);
  return t;
}
}  // namespace

TEST_CASE("load_tokenizer reads a folder like load_tokenizer_from_files", "[tokenizer]") {
  for (const char* folder : {"bert-mlm", "gpt2-lm", "roberta-mlm", "albert-mlm", "t5-lm",
                             "xlm-roberta-mlm", "camembert-mlm", "modernbert-mlm"}) {
    INFO(folder);
    auto from_dir = hfjit::load_tokenizer(fixture(std::string("models/") + folder));
    auto from_files = hfjit::load_tokenizer_from_files(tokenizer_files(folder), folder);
    const std::string text = "The cat sat on the <mask> [MASK] mat, caf\xC3\xA9!";
    CHECK(canonical(from_dir->encode(text)) == canonical(from_files->encode(text)));
  }
}

TEST_CASE("lowercase_input puts Lowercase first, as sentence-transformers' do_lower_case",
          "[tokenizer]") {
  using hfjit::tokenizers::LowercaseNormalizer;
  using hfjit::tokenizers::SequenceNormalizer;
  auto first_is_lowercase = [](const hfjit::Tokenizer& t) {
    const auto* seq = dynamic_cast<const SequenceNormalizer*>(t.pipeline().normalizer.get());
    return seq && !seq->parts().empty() &&
           dynamic_cast<const LowercaseNormalizer*>(seq->parts()[0].get());
  };
  // NFC (keeps case): Sequence([Lowercase, NFC]); the normalized added token
  // |||IP_ADDRESS||| (id 0) is then matched in lowercase (tokenizers 0.23's ids).
  auto modernbert = hfjit::load_tokenizer(fixture("models/modernbert-base"));
  modernbert->set_padding(std::nullopt);
  modernbert->set_truncation(std::nullopt);
  const std::string text = "Send It To |||IP_ADDRESS||| Now, CAF\xC3\x89!";
  CHECK(modernbert->encode(text).ids == std::vector<int64_t>{587, 52,  70, 264, 503, 222, 53,
                                                             80,  222, 0,  445, 329, 13,  222,
                                                             36,  34,  39, 129, 233, 2,   588});
  modernbert->lowercase_input();
  CHECK(first_is_lowercase(*modernbert));
  CHECK(modernbert->encode(text).ids == std::vector<int64_t>{587, 436, 264, 350, 293, 222, 0, 287,
                                                             329, 13, 354, 71, 129, 104, 2, 588});
  // Calling it again changes nothing (Lowercase is in the Sequence now).
  const auto* before = modernbert->pipeline().normalizer.get();
  modernbert->lowercase_input();
  CHECK(modernbert->pipeline().normalizer.get() == before);

  // No normalizer: Sequence([Lowercase]).
  auto roberta = plain("roberta-mlm");
  const std::vector<int64_t> lower = roberta->encode("the cat sat on the <mask>").ids;
  roberta->lowercase_input();
  CHECK(first_is_lowercase(*roberta));
  CHECK(roberta->encode("The CAT sat on the <mask>").ids == lower);

  // A Sequence with a Lowercase in it is left as it is; a BertNormalizer that lowercases
  // does not count (_has_lowercase looks for Lowercase only).
  auto misc = plain("misc-bpe");
  const auto* misc_before = misc->pipeline().normalizer.get();
  misc->lowercase_input();
  CHECK(misc->pipeline().normalizer.get() == misc_before);
  auto bert = plain("bert-mlm");
  const std::vector<int64_t> bert_ids = bert->encode("The CAT sat, caf\xC3\xA9.").ids;
  bert->lowercase_input();
  CHECK(first_is_lowercase(*bert));
  CHECK(bert->encode("The CAT sat, caf\xC3\xA9.").ids == bert_ids);
}

TEST_CASE("offsets count code points of the input", "[tokenizer]") {
  auto minilm = plain("minilm");
  // U+1F600 is 4 bytes but 1 code point: "the" starts at code point 7.
  const auto e = minilm->encode("caf\xC3\xA9 \xF0\x9F\x98\x80 the", false);
  REQUIRE(e.size() == 3);
  CHECK(e.offsets[0] == std::pair<size_t, size_t>(0, 4));
  CHECK(e.offsets[1] == std::pair<size_t, size_t>(5, 6));
  CHECK(e.offsets[2] == std::pair<size_t, size_t>(7, 10));
  CHECK(e.tokens == std::vector<std::string>{"cafe", "[UNK]", "the"});
}

TEST_CASE("special tokens, vocabulary, ids and tokens", "[tokenizer]") {
  auto minilm = plain("minilm");
  const auto& s = minilm->special_tokens();
  CHECK(s.pad == 0);
  CHECK(s.unk == 100);
  CHECK(s.cls == 101);
  CHECK(s.sep == 102);
  CHECK(s.mask == 103);
  CHECK(minilm->vocab_size() == 30522);
  CHECK(minilm->token_to_id("hello") == 7592);
  CHECK(minilm->id_to_token(7592) == "hello");
  CHECK(!minilm->token_to_id("no such token"));
  CHECK(!minilm->id_to_token(-1));
  auto roberta = plain("roberta-mlm");
  CHECK(roberta->special_tokens().cls == roberta->token_to_id("<s>"));
  CHECK(roberta->special_tokens().mask == roberta->token_to_id("<mask>"));
  auto t5 = plain("t5-lm");
  CHECK(t5->special_tokens().eos == 1);
  CHECK(t5->special_tokens().pad == 0);
  CHECK(t5->vocab_size() == 303);
}

TEST_CASE("pair encoding: type ids and sequence ids", "[tokenizer]") {
  auto minilm = plain("minilm");
  const auto e = minilm->encode_pair("where is it?", "here");
  CHECK(e.type_ids == std::vector<int64_t>{0, 0, 0, 0, 0, 0, 1, 1});
  CHECK(e.sequence_ids() == std::vector<int64_t>{-1, 0, 0, 0, 0, -1, 1, -1});
  CHECK(e.special_tokens_mask == std::vector<int64_t>{1, 0, 0, 0, 0, 1, 0, 1});
}

TEST_CASE("truncation windows with stride (question answering)", "[tokenizer]") {
  auto minilm = plain("minilm");
  hfjit::TruncationParams p;
  p.max_length = 12;
  p.stride = 2;
  p.strategy = hfjit::TruncationStrategy::OnlySecond;
  minilm->set_truncation(p);
  const std::string question = "who sat?";
  const std::string context =
      "the cat sat on the warm mat near the kitchen door and waited for the sun";
  const auto windows = minilm->encode_windows(question, context);
  REQUIRE(windows.size() > 1);
  const auto full = plain("minilm")->encode(context, false);
  size_t covered = 0;
  for (const auto& w : windows) {
    CHECK(w.size() <= 12);
    CHECK(w.ids.front() == 101);
    CHECK(w.ids.back() == 102);
    CHECK(w.overflowing.empty());
    const auto seq = w.sequence_ids();
    std::vector<int64_t> ctx;
    for (size_t i = 0; i < w.size(); ++i)
      if (seq[i] == 1) ctx.push_back(w.ids[i]);
    REQUIRE(!ctx.empty());
    // Each window continues the previous one with `stride` tokens of overlap.
    const size_t start = covered == 0 ? 0 : covered - 2;
    CHECK(std::equal(ctx.begin(), ctx.end(), full.ids.begin() + start));
    covered = start + ctx.size();
  }
  CHECK(covered == full.size());
}

TEST_CASE("padding to a length, and batches padded to the longest", "[tokenizer]") {
  auto minilm = plain("minilm");
  hfjit::PaddingParams pad;
  pad.length = 10;
  minilm->set_padding(pad);
  const auto e = minilm->encode("a b c");
  CHECK(e.size() == 10);
  CHECK(e.attention_mask == std::vector<int64_t>{1, 1, 1, 1, 1, 0, 0, 0, 0, 0});
  CHECK(e.ids[9] == 0);
  pad.length.reset();
  minilm->set_padding(pad);
  const auto batch = minilm->encode_batch({"a", "a b c d e", "a b"});
  for (const auto& b : batch) CHECK(b.size() == 7);
  CHECK(batch[0].attention_mask == std::vector<int64_t>{1, 1, 1, 0, 0, 0, 0});
}

TEST_CASE("decode with and without special tokens and clean-up", "[tokenizer]") {
  auto minilm = plain("minilm");
  const auto ids = minilm->encode("Hello , world ! I don 't know .").ids;
  // The WordPiece decoder cleans up each token alone; transformers' clean-up sees the whole text.
  CHECK(minilm->decode(ids, false) == "[CLS] hello, world! i don ' t know. [SEP]");
  CHECK(minilm->decode(ids, true) == "hello, world! i don ' t know.");
  CHECK(minilm->decode(ids, true, true) == "hello, world! i don't know.");
  auto gpt2 = plain("bytelevel-bpe");
  const std::string text = "Hello , world! caf\xC3\xA9 \xF0\x9F\x98\x80";
  CHECK(gpt2->decode(gpt2->encode(text).ids) == " " + text);
  // transformers 5 skips the clean-up for BPE models ("Ignoring clean_up_tokenization_spaces=True
  // for BPE tokenizer GPT2Tokenizer"): the text keeps " ,".
  CHECK(gpt2->decode(gpt2->encode(text).ids, true, true) == " " + text);
  // ModernBERT's tokenizer_config.json has clean_up_tokenization_spaces true (transformers 5:
  // "Hello , world .").
  auto modernbert = plain("modernbert-mlm");
  CHECK(modernbert->decode(modernbert->encode("Hello , world .").ids, true, true) ==
        "Hello , world .");
}

TEST_CASE("a tokenizer is safe to share between threads", "[tokenizer]") {
  auto bpe = plain("bytelevel-bpe");
  const auto& lines = corpus();
  std::vector<std::string> expected;
  for (size_t i = 0; i < 500; ++i) expected.push_back(canonical(bpe->encode(lines[i])));
  auto fresh = plain("bytelevel-bpe");  // empty word cache: both threads fill it
  std::vector<int> bad(2, 0);
  auto work = [&](int t) {
    for (size_t i = 0; i < 500; ++i) bad[t] += canonical(fresh->encode(lines[i])) != expected[i];
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  CHECK(bad[0] == 0);
  CHECK(bad[1] == 0);
}

TEST_CASE("Oniguruma patterns are rewritten for PCRE2", "[tokenizer]") {
  using hfjit::tokenizers::onig_to_pcre2;
  CHECK(onig_to_pcre2("a\\sb") ==
        "a[\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
        "\\x{202F}\\x{205F}\\x{3000}]b");
  CHECK(onig_to_pcre2("[^\\s\\p{L}]").find("[^\\t") == 0);
  CHECK(onig_to_pcre2("\\h") == "[0-9a-fA-F]");
  hfjit::tokenizers::Regex re(R"(\s+(?!\S)|\s+)");
  const auto m = re.find_all("a  \xE3\x80\x80 b");
  REQUIRE(m.size() == 2);
  CHECK(m[0] == std::pair<size_t, size_t>(1, 6));  // the run minus the space before "b"
  CHECK(m[1] == std::pair<size_t, size_t>(6, 7));
}

TEST_CASE("the precompiled charsmap rewrites by its shortest matching rule", "[tokenizer]") {
  auto t5 = plain("t5-lm");
  auto& norm = *t5->pipeline().normalizer;
  hfjit::tokenizers::NormalizedString s("\xEF\xAC\x81ne\xE2\x80\xA6 \xEF\xBC\xA1");  // "ﬁne… Ａ"
  norm.normalize(s);
  CHECK(s.get() == "fine... A");
  size_t a, b;
  REQUIRE(s.original_range(0, 2, a, b));  // "fi" comes from the 3-byte ligature
  CHECK(a == 0);
  CHECK(b == 3);
}
