#pragma once
// Shared between the Runner (loading, batching, forward) and the task
// post-processing (tasks.cpp). Not a public header.

#include <ATen/ATen.h>
#include <torch/script.h>

#include <map>
#include <memory>
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

// Code-point slicing of UTF-8 text (offsets count code points, as Python's str does).
std::string substr_chars(const std::string& text, size_t start, size_t end);
size_t count_code_points(const std::string& text);

}  // namespace hfjit::run
