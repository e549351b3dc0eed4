#pragma once
// `hfjit run`: text in, the task's answer out, through one .pt.
//
// A Runner loads a TorchScript file (its hfjit/meta.json, config.json and
// tokenizer files), tokenizes each input natively, pads batches to a traced
// shape (the smallest traced length that fits, missing rows filled), runs the
// module and post-processes the outputs with the semantics of the Hugging Face
// pipelines (fill-mask, text-classification, token-classification,
// question-answering, feature-extraction, text-generation) plus
// sentence-transformers' sentence-embedding. Each input gets a typed result
// (results.h) whose to_json() is the Python pipeline's answer for it.
//
// The rest of the engine is beside it: InputSource (input.h) reads the inputs,
// Batcher (batcher.h) feeds them to run() in length-sorted batches, and a
// ResultSink (sinks.h) writes the results. See docs/run.md.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hfjit/cpu_kernels.h"
#include "hfjit/run/input.h"
#include "hfjit/run/results.h"

namespace hfjit {

struct RunOptions {
  std::string task;           // empty: the artifact's task
  std::string tokenizer_dir;  // empty: the tokenizer files embedded in the artifact
  // fill-mask: 5; text-classification: 1 (0 = every label); question-answering: 1;
  // text-generation: sample among the k most likely tokens (50 when sampling).
  std::optional<int64_t> top_k;
  bool truncation_error = false;  // input longer than the traced length: error instead of warning
  std::string aggregation = "none";  // token-classification: none, simple, first, max, average
  std::vector<std::string> ignore_labels = {"O"};
  std::optional<int64_t> doc_stride;  // question-answering; default min(length / 2, 128)
  int64_t max_answer_len = 15;
  bool handle_impossible_answer = false;
  // Generation: new tokens at most. Unset: 20 for text-generation; for an
  // encoder-decoder generation_config.json's max_new_tokens or max_length - 1.
  std::optional<int64_t> max_new_tokens;
  // Encoder-decoders (translation, summarization, text2text-generation): beam
  // search as transformers' generate; unset: generation_config.json's, else
  // transformers' defaults (1 beam, length penalty 1, early stopping false,
  // no n-gram ban, one sequence per input). early_stopping: "true", "false", "never".
  std::optional<int64_t> num_beams;
  std::optional<double> length_penalty;
  std::optional<std::string> early_stopping;
  std::optional<int64_t> no_repeat_ngram_size;
  std::optional<int64_t> num_return_sequences;
  std::optional<double> temperature;  // sampling when set (or top_p, or top_k for generation)
  std::optional<double> top_p;
  uint64_t seed = 0;
  // text-generation: transformers' RepetitionPenaltyLogitsProcessor (1: off).
  double repetition_penalty = 1.0;
  // text-generation: stop a sequence once its text ends in one of these (as
  // transformers' StopStringCriteria: the string overlaps the last token). Empty:
  // generation_config.json's "stop_strings".
  std::vector<std::string> stop_strings;
  // text-generation through a static cache, one input at a time (batch size 1):
  // called with the input's new text as it is decoded; the pieces concatenate
  // to its generated text past the prompt.
  std::function<void(const RunInput& input, const std::string& piece)> on_text;
  // Plain TorchScript files (no hfjit metadata): the shape to pad to.
  std::optional<int64_t> batch_size;
  std::optional<int64_t> max_length;
  // Run a file whose code calls operators off hfjit's pure-compute list
  // (graph_check.h); without it such a file is refused before any call.
  bool trust = false;
  // The fp32 Linear kernels on the CPU (cpu_kernels.h).
  LinearKernel linear = LinearKernel::Auto;
};

class Runner {
 public:
  // Throws Error: not a TorchScript file, no metadata and no --task, no
  // tokenizer, a task the artifact cannot do, bad options.
  Runner(const std::string& model_path, RunOptions options);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  const std::string& task() const;
  // Inputs per run() call that make one forward pass (the traced batch size).
  size_t batch_size() const;
  // One result per input, in order; the alternative of RunResult is the
  // task's (FillMaskResult for fill-mask, ...). Throws Error naming the
  // input's `where` for bad input (no mask token, question without context,
  // too long with truncation_error).
  std::vector<RunResult> run(const std::vector<RunInput>& inputs);
  // Warnings for the inputs of the last run() call ("line 3: truncated to 128 tokens").
  const std::vector<std::string>& warnings() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Task names `hfjit run` knows, as the Hugging Face pipelines name them, plus sentence-embedding.
const std::vector<std::string>& run_task_names();

}  // namespace hfjit
