#pragma once
// Tokenizer: text to model inputs and back, with the exact ids, type ids and
// character offsets of the Hugging Face `tokenizers` library (and of
// `sentencepiece` for SentencePiece models). One pipeline, as in `tokenizers`:
//
//   added tokens -> normalizer -> pre-tokenizer -> model -> truncation
//   -> post-processor (special tokens) -> padding
//
// Build one with load_tokenizer(dir) or load_tokenizer_from_files(files):
// tokenizer.json when present, else vocab.txt (WordPiece), vocab.json +
// merges.txt (byte-level BPE) or a SentencePiece model; Marian's source.spm +
// vocab.json before all. See docs/tokenizers.md.
//
// Text is UTF-8; invalid sequences are replaced with U+FFFD first (what
// Python's bytes.decode("utf-8", "replace") gives), and offsets count code
// points of that text. A Tokenizer is safe to use from several threads.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hfjit {

namespace tokenizers {
struct Pipeline;
}

// One encoded sequence (or pair), with one entry per token in each vector.
struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> type_ids;
  std::vector<std::string> tokens;
  // [start, end) in code points of the input text (of its own sequence for a pair); (0, 0) for
  // special tokens.
  std::vector<std::pair<size_t, size_t>> offsets;
  std::vector<int64_t> special_tokens_mask;  // 1 for added special tokens and padding
  std::vector<int64_t> attention_mask;       // 0 for padding
  std::vector<int64_t> word_ids;             // index of the word in its sequence, -1 for none
  // Which tokens belong to sequence 0 / 1 (token index ranges, as tokenizers' sequence_ranges).
  std::map<size_t, std::pair<size_t, size_t>> sequence_ranges;
  // The windows truncation cut off (with `stride` tokens of overlap), each post-processed and
  // padded.
  std::vector<Encoding> overflowing;

  size_t size() const { return ids.size(); }
  // Per token: 0 or 1 for the sequence it comes from, -1 for special tokens and padding.
  std::vector<int64_t> sequence_ids() const;
};

enum class TruncationStrategy { LongestFirst, OnlyFirst, OnlySecond };
enum class Direction { Left, Right };

struct TruncationParams {
  size_t max_length = 512;  // including the special tokens
  TruncationStrategy strategy = TruncationStrategy::LongestFirst;
  size_t stride = 0;  // tokens repeated between consecutive overflowing windows
  Direction direction = Direction::Right;
};

struct PaddingParams {
  std::optional<size_t> length;  // pad to this length; unset: to the longest of the batch
  std::optional<size_t> pad_to_multiple_of;
  Direction direction = Direction::Right;
  int64_t pad_id = 0;
  int64_t pad_type_id = 0;
  std::string pad_token = "[PAD]";
};

// The special tokens a model declares (tokenizer_config.json / special_tokens_map.json), when
// known.
struct SpecialTokenIds {
  std::optional<int64_t> pad, cls, sep, mask, unk, bos, eos;
};

class Tokenizer {
 public:
  explicit Tokenizer(std::unique_ptr<tokenizers::Pipeline> pipeline);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Throws hfjit::Error when truncation cannot be done (e.g. only_second without a pair).
  Encoding encode(std::string_view text, bool add_special_tokens = true) const;
  // Both sequences, as tokenizers' Tokenizer.encode(text, pair): an empty pair still gets its
  // separator.
  Encoding encode_pair(std::string_view text, std::string_view pair,
                       bool add_special_tokens = true) const;
  // One input as transformers' tokenizer(text, text_pair=pair) encodes it (what its pipelines
  // call): transformers drops a falsy text_pair in Python, so an empty pair encodes `text` alone.
  Encoding encode_input(std::string_view text, std::optional<std::string_view> pair,
                        bool add_special_tokens = true) const;
  // The encoding followed by its overflowing windows, flattened (what QA needs).
  std::vector<Encoding> encode_windows(std::string_view text,
                                       std::optional<std::string_view> pair = std::nullopt,
                                       bool add_special_tokens = true) const;
  // Each text encoded; with padding and no fixed length, padded to the longest.
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts,
                                     bool add_special_tokens = true) const;

  // Ids back to text through the decoder; clean_up_tokenization_spaces applies
  // transformers' clean-up (" ." -> ".", " n't" -> "n't", ...) afterwards, except
  // to a BPE model's text, as transformers 5 does (ModernBERT's tokenizer_config
  // asks for it; clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output
  // is not read).
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true,
                     bool clean_up_tokenization_spaces = false) const;

  // Tokens back to text through the decoder (transformers' convert_tokens_to_string).
  std::string convert_tokens_to_string(std::vector<std::string> tokens) const;
  // The model marks word-continuing pieces ("##ing"), so tokens can be fused into words exactly.
  bool has_continuing_subword_prefix() const;

  std::optional<int64_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int64_t id) const;
  // The model's vocabulary plus the added tokens that are not in it.
  size_t vocab_size(bool with_added_tokens = true) const;
  const SpecialTokenIds& special_tokens() const;
  void set_special_tokens(const SpecialTokenIds& ids);

  const std::optional<TruncationParams>& truncation() const;
  void set_truncation(std::optional<TruncationParams> params);
  const std::optional<PaddingParams>& padding() const;
  void set_padding(std::optional<PaddingParams> params);

  // Lowercases the input text as sentence-transformers does for sentence_bert_config.json's
  // do_lower_case: a Lowercase normalizer goes first, unless the normalizer is Lowercase or a
  // Sequence with a Lowercase directly in it (its _has_lowercase: a BertNormalizer's lowercase
  // does not count). Added tokens are then matched under the new normalizer, as tokenizers'
  // normalizer setter does. Not thread-safe: call it before encoding.
  void lowercase_input();

  // The pipeline (normalizer, pre-tokenizer, model, ...), for tests and tools.
  const tokenizers::Pipeline& pipeline() const { return *pipeline_; }

 private:
  std::unique_ptr<tokenizers::Pipeline> pipeline_;
};

// Tokenizer files by name ("tokenizer.json", "vocab.txt", "tokenizer_config.json", ...) ->
// contents.
using TokenizerFiles = std::map<std::string, std::string>;

// Picks Marian's layout (source.spm, target.spm, vocab.json; MarianTokenizer or model_type marian)
// as transformers 5's MarianTokenizer builds it, else tokenizer.json when present, else vocab.txt
// (+ tokenizer_config.json), else vocab.json + merges.txt, else spiece.model / tokenizer.model /
// sentencepiece.bpe.model / spm.model, whose class is AutoTokenizer's:
// tokenizer_config.json's tokenizer_class, else the model's "config.json" (its
// tokenizer_class or model_type) when `files` has it. `origin` (a folder or
// artifact name) prefixes file names in error messages. Throws hfjit::Error
// naming the file at fault.
std::unique_ptr<Tokenizer> load_tokenizer_from_files(const TokenizerFiles& files,
                                                     const std::string& origin = "");
// Reads the tokenizer files of a model folder and its config.json, then
// load_tokenizer_from_files.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);
// The names load_tokenizer reads (those present in a folder are embedded in artifacts).
const std::vector<std::string>& tokenizer_file_names();

}  // namespace hfjit
