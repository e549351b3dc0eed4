#pragma once
// `hfjit trace`: a Hugging Face model folder -> one verified, self-describing
// TorchScript file.
//
//   resolve -> config + checkpoint -> native model (registry) -> untie
//   -> dummy inputs [batch, length] -> torch::jit tracer (the model's
//   parameters as attributes of a torch::jit::Module) -> verify the trace
//   against the eager model on fresh inputs -> save atomically with
//   hfjit/meta.json, config.json and the tokenizer files as extra files.

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hfjit {

struct TraceOptions {
  std::string task;      // "" = from config.json's architectures[0]
  std::string revision;  // for hub ids
  int64_t batch_size = 1;
  std::optional<int64_t>
      max_length;  // unset: 128 (or the largest of lengths), capped by the model's positions
  std::vector<int64_t> lengths;  // extra traced lengths (methods forward_<L>), sharing weights
  // Encoder-decoders (translation, summarization, text2text-generation): the
  // decoder cache's slots, the start token and the new tokens; unset: 128,
  // capped by the decoder's positions. --max-length bounds the source.
  std::optional<int64_t> target_length;
  bool keep_tied = false;  // keep tied weights as one shared tensor instead of clones
  bool dynamic =
      false;  // one shape-polymorphic trace, verified at three lengths and two batch sizes
  bool optimize = false;  // torch.jit.freeze + optimize_for_inference, then verified as usual
  std::string dtype = "float32";  // or "bfloat16": weights and compute (outputs stay float32)
  // bfloat16 on a CPU without native bf16 (cpu_kernels.h) is refused unless this is set.
  bool allow_slow_bf16 = false;
  std::optional<bool> native_bf16;  // unset: the CPU's (cpu_has_native_bf16); tests set it
  std::string quantize = "none";    // or "int8": dynamic quantization of the Linear layers
  double min_cosine = 0.99;  // bf16 / int8: the least cosine of any output to the float32 eager one
  bool verify = true;
  double atol = 1e-5;
  bool force = false;  // replace an existing output
  bool for_triton = false;
  // text-generation: "static" (prefill and decode over a static key/value cache),
  // "none" (the full forward: logits and presents), "" (the family's default:
  // static for the Llama family, none for GPT-2).
  std::string cache;  // a Triton entry follows (trace --triton): refuse what it cannot serve
  uint64_t seed = 0;  // for the dummy and verification inputs
};

struct TraceStage {
  std::string name;  // resolve, load, build, trace, verify, save
  double ms = 0;
  std::string detail;
};

struct TraceReport {
  std::string model;
  std::string output;
  std::string model_type;
  std::string task;
  std::string hf_class;
  int64_t batch_size = 0;
  std::vector<int64_t> lengths;  // traced lengths, ascending; the last is max_length
  std::vector<std::string> input_names;
  std::vector<std::string> output_names;
  std::map<std::string, double> max_abs_diff;  // per output, over the verification inputs
  // bf16 / int8: each output against the float32 eager model, on the unpadded
  // verification inputs (the worst over them): the cosine of the whole output
  // (flattened), the largest difference, and for logits the share of rows
  // (vectors along the last dimension) whose argmax agrees (top1 < 0 when not
  // computed).
  struct Accuracy {
    double cosine = 1, max_abs_diff = 0, top1 = -1;
  };
  std::map<std::string, Accuracy> accuracy;
  std::string dtype = "float32", quantization = "none";
  std::vector<TraceStage> stages;
  std::vector<std::string> warnings;
  std::vector<std::string> extra_files;
  std::vector<std::string> untied;  // parameters cloned (or kept shared with keep_tied)
  uint64_t file_bytes = 0;
  bool verified = false;
};

// The accuracy against float32 as JSON, {output: {cosine, max_abs_diff[,
// top1_agreement]}}: hfjit/meta.json's "against_float32" and `trace --json`'s.
nlohmann::json accuracy_json(const std::map<std::string, TraceReport::Accuracy>& accuracy);

// Runs the whole export. `on_stage` is called as each stage ends (for progress).
// Throws Error for bad input, VerifyError when the trace differs from the
// eager model by more than atol (nothing is written then).
TraceReport trace_model(const std::string& model, const std::string& output,
                        const TraceOptions& opts,
                        const std::function<void(const TraceStage&)>& on_stage = {});

// The files of a model folder that `run` needs besides the weights: tokenizer
// files and sentence-transformers configuration, as paths relative to the folder.
std::vector<std::string> artifact_files(const std::string& model_dir);

}  // namespace hfjit
