#pragma once
// Shared between the Runner (loading, batching, forward) and the task
// post-processing (tasks.cpp). Not a public header.

#include <ATen/ATen.h>
#include <torch/script.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hfjit/io/artifact_meta.h"
#include "hfjit/run/runner.h"
#include "hfjit/sentence_transformers.h"
#include "hfjit/tokenizer.h"

namespace hfjit::run {

struct Method {
  std::string name;
  int64_t length = 0;  // 0: any length (a module without hfjit metadata)
};

// The module and the shapes it takes: from hfjit/meta.json, or for a plain
// TorchScript file from the options (--batch-size, --max-length) and its
// forward's argument names.
struct Traced {
  torch::jit::Module module;
  bool has_meta = false;
  std::vector<Method> methods;  // ascending length
  int64_t batch = 1;            // rows per forward
  bool dynamic_batch = false;   // no fixed batch: rows = inputs
  int64_t dynamic_limit = 0;    // a --dynamic trace: any length up to this
  std::vector<std::string> input_names;
  std::vector<std::string> output_names;
  std::optional<ArtifactGeneration> generation;  // a static-cache generation artifact
  std::optional<ArtifactSeq2Seq> seq2seq;        // an encoder-decoder's encode and decode
};

// An encoder-decoder's decoding defaults, as transformers' generate takes them:
// generation_config.json's (config.json's when the folder has none), else
// GenerationConfig's defaults. The options override them (seq2seq.cpp).
struct Seq2SeqConfig {
  std::optional<int64_t> decoder_start;
  std::optional<int64_t> pad;
  std::vector<int64_t> eos;
  std::optional<int64_t> forced_eos;
  std::vector<std::vector<int64_t>> bad_words;
  // Decoder tokens, the start token included. Unset: transformers 5's default,
  // 20 new tokens (max_length 21), capped by config.json's max_position_embeddings.
  std::optional<int64_t> max_length;
  std::optional<int64_t> max_position_embeddings;
  std::optional<int64_t> max_new_tokens;
  int64_t min_length = 0;
  int64_t num_beams = 1;
  double length_penalty = 1.0;
  std::string early_stopping = "false";  // "true", "false" or "never"
  int64_t no_repeat_ngram_size = 0;
  int64_t num_return_sequences = 1;
  bool renormalize_logits = false;  // log_softmax after the processors (opus-mt sets it)
  std::string prefix;  // config.json's "prefix", put before each source (as the pipeline does)
};

// What the post-processing needs from config.json, tokenizer_config.json and
// generation_config.json.
struct TaskConfig {
  std::map<int64_t, std::string> id2label;
  int64_t num_labels = 0;
  std::string problem_type;
  bool clean_up = false;  // tokenizer_config's clean_up_tokenization_spaces
  int64_t pad_id = 0;
  std::vector<int64_t> eos_ids;
  std::vector<std::string> stop_strings;  // generation_config.json's, unless --stop
  Seq2SeqConfig seq2seq;                  // encoder-decoders only
};

struct Context {
  std::string path;
  RunOptions opt;
  std::string task;
  std::string hf_class;  // for messages
  Traced traced;
  std::unique_ptr<Tokenizer> tok;
  TaskConfig cfg;
  st::Modules st_modules;             // sentence-embedding: modules.json's, else mean pooling
  std::vector<std::string> warnings;  // of the current run() call

  // The longest input a forward takes (0: no limit).
  int64_t max_length() const {
    return traced.methods.back().length ? traced.methods.back().length : traced.dynamic_limit;
  }
  // Index of an output by name (or `fallback` for modules without metadata); throws when absent.
  size_t output_index(const std::string& name, size_t fallback) const;
  std::string label(int64_t id) const;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
    return tok->decode(ids, skip_special_tokens, cfg.clean_up);
  }
  // Runs the encodings (each no longer than max_length()) through the smallest
  // method that fits them all, `batch` rows per forward; returns the outputs
  // asked for, rows in encoding order, length the method's.
  std::vector<at::Tensor> forward(const std::vector<const Encoding*>& encodings,
                                  const std::vector<size_t>& outputs);
  // Encodes one input for a single-sequence task, truncated to max_length()
  // with a warning (or an error with --truncation error).
  Encoding encode(const RunInput& in);
  void warn(const std::string& where, const std::string& message);
};

// Task post-processing (tasks.cpp): one result per input.
std::vector<FillMaskResult> fill_mask(Context& c, const std::vector<RunInput>& inputs);
std::vector<ClassificationResult> text_classification(Context& c,
                                                      const std::vector<RunInput>& inputs);
std::vector<TokenClassificationResult> token_classification(Context& c,
                                                            const std::vector<RunInput>& inputs);
std::vector<QuestionAnsweringResult> question_answering(Context& c,
                                                        const std::vector<RunInput>& inputs);
std::vector<TokenEmbeddings> token_embeddings(Context& c, const std::vector<RunInput>& inputs);
std::vector<Embedding> sentence_embeddings(Context& c, const std::vector<RunInput>& inputs);
std::vector<Generation> text_generation(Context& c, const std::vector<RunInput>& inputs);
// text-generation through a static-cache artifact's prefill and decode methods (generate.cpp).
std::vector<Generation> cached_generation(Context& c, const std::vector<RunInput>& inputs);
// translation, summarization, text2text-generation through an encoder-decoder
// artifact's encode and decode methods (seq2seq.cpp).
std::vector<TextToText> seq2seq_generation(Context& c, const std::vector<RunInput>& inputs);
// Seq2SeqConfig from generation_config.json (`generation`, null when absent)
// and config.json; Error naming a key of the wrong type.
Seq2SeqConfig read_seq2seq_config(const nlohmann::json& generation, const nlohmann::json& config,
                                  const std::string& where);
// The next token of each row of `scores` [rows, vocab] (float32): argmax, or
// sampled after transformers' warpers (temperature, top-k, top-p) when sampling.
at::Tensor next_tokens(const RunOptions& o, at::Tensor scores, at::Generator& gen);
// transformers' RepetitionPenaltyLogitsProcessor: scores [rows, vocab] of the ids
// [rows, n] so far divided by `penalty` (multiplied where negative).
at::Tensor repetition_penalty(at::Tensor scores, const at::Tensor& ids, double penalty);
// Whether a sequence (`ids`: the prompt and the new tokens) should stop: its last
// token is an eos id, or its text has a stop string that overlaps the last token
// (transformers' EosTokenCriteria, StopStringCriteria).
bool should_stop(const Context& c, const std::vector<int64_t>& ids);

// `run_batch` over consecutive chunks of at most `batch` inputs, results in order.
template <typename Result, typename Fn>
std::vector<Result> in_batches(const std::vector<RunInput>& inputs, int64_t batch, Fn run_batch) {
  std::vector<Result> results;
  const size_t n = static_cast<size_t>(std::max<int64_t>(batch, 1));
  for (size_t first = 0; first < inputs.size(); first += n) {
    const std::vector<RunInput> chunk(
        inputs.begin() + static_cast<std::ptrdiff_t>(first),
        inputs.begin() + static_cast<std::ptrdiff_t>(std::min(inputs.size(), first + n)));
    for (Result& r : run_batch(chunk)) results.push_back(std::move(r));
  }
  return results;
}

// Code-point slicing of UTF-8 text (offsets count code points, as Python's str does).
std::string substr_chars(const std::string& text, size_t start, size_t end);
size_t count_code_points(const std::string& text);

}  // namespace hfjit::run
