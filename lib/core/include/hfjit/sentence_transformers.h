#pragma once
// sentence-transformers' modules after the encoder, as a model's modules.json
// lists them, read the way sentence-transformers 6.2 loads them:
//
//   Pooling    sentence_transformer/modules/pooling.py: cls, max, mean,
//              mean_sqrt_len_tokens, weightedmean, lasttoken, concatenated in
//              the config's order; the new "pooling_mode" key and the old
//              boolean pooling_mode_*_tokens keys
//   Dense      base/modules/dense.py: activation(linear(x)) (+ the residual),
//              weights in model.safetensors or pytorch_model.bin
//   Normalize  base/modules/normalize.py: L2 normalization
//   Dropout    nothing at inference
//
// `hfjit trace` reads them from the model folder, so a bad configuration fails
// there, and carries each Dense's weights in the .pt as the extra file
// <path>/model.safetensors; `hfjit run` reads them back from the .pt and
// applies them to the encoder's token embeddings.

#include <ATen/core/Tensor.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hfjit::st {

// A module's weights and the file they came from (for errors).
struct Weights {
  std::string file;
  std::map<std::string, at::Tensor> tensors;  // float32
};

// The files of a sentence-transformers model by relative name ("modules.json",
// "1_Pooling/config.json"): a model folder's, or an artifact's extra files.
class ModelFiles {
 public:
  virtual ~ModelFiles() = default;
  // The file's bytes; nullopt when it is absent.
  virtual std::optional<std::string> read(const std::string& name) const = 0;
  // The file as errors name it: "DIR/1_Pooling/config.json", "model.pt: 1_Pooling/config.json".
  virtual std::string where(const std::string& name) const = 0;
  // A module folder's weights: <module>/model.safetensors, else <module>/pytorch_model.bin.
  virtual std::optional<Weights> weights(const std::string& module) const;
};

// A model folder on disk.
class FolderFiles : public ModelFiles {
 public:
  explicit FolderFiles(std::string dir) : dir_(std::move(dir)) {}
  std::optional<std::string> read(const std::string& name) const override;
  std::string where(const std::string& name) const override;
  std::optional<Weights> weights(const std::string& module) const override;

 private:
  std::string dir_;
};

// The weights of a module folder of `dir`: model.safetensors, else pytorch_model.bin.
std::optional<Weights> folder_weights(const std::string& dir, const std::string& module);

enum class PoolingMode { Cls, Max, Mean, MeanSqrtLen, WeightedMean, LastToken };

// Pooling: token embeddings [batch, length, hidden] and their attention mask
// [batch, length] (1 for a token, 0 for padding) -> [batch, modes x hidden].
struct Pooling {
  std::vector<PoolingMode> modes = {PoolingMode::Mean};
  at::Tensor forward(const at::Tensor& tokens, const at::Tensor& mask) const;
};

// An activation of Dense, by the name its config gives ("torch.nn.modules.activation.Tanh",
// "torch.nn.Tanh"): torch.nn's class built with no arguments. Null when not supported.
using Activation = at::Tensor (*)(const at::Tensor&);
Activation activation(const std::string& name);
// The torch.nn class names supported, for messages.
std::string activation_names();

// Dense: [batch, in_features] -> [batch, out_features].
struct Dense {
  std::string config;  // its config.json as errors name it
  int64_t in_features = 0, out_features = 0;
  std::string activation_function = "torch.nn.modules.activation.Tanh";
  bool use_residual = false;
  at::Tensor weight, bias, residual;  // residual: use_residual and in != out
  at::Tensor forward(const at::Tensor& x) const;
  // The weights as an artifact carries them: a float32 safetensors image.
  std::string safetensors() const;
};

// What comes after Pooling, in modules.json's order.
struct Step {
  enum class Kind { Dense, Normalize } kind;
  std::string path;  // the module's folder
  Dense dense;       // Kind::Dense
};

// The modules after the encoder; without a modules.json, mean pooling alone
// (what sentence-transformers makes of a plain transformers model).
struct Modules {
  Pooling pooling;
  std::vector<Step> steps;
  // Truncation: sentence_bert_config.json's max_seq_length, else (sentence-transformers 6
  // saves) tokenizer_config.json's model_max_length capped at max_position_embeddings; 0: none.
  int64_t max_seq_length = 0;
  // sentence_bert_config.json's do_lower_case: the tokenizer lowercases the text first
  // (Tokenizer::lowercase_input).
  bool do_lower_case = false;
  // config_sentence_transformers.json's prompts[default_prompt_name] ("query" and "document"
  // are "" unless given): what encode() puts before every text when it gets no prompt; "": none.
  std::string default_prompt;

  // Pooling, then each step: [batch, length, hidden] + mask [batch, length] -> [batch, dim].
  at::Tensor forward(const at::Tensor& tokens, const at::Tensor& mask) const;
  // Throws when a Dense's in_features does not match what reaches it from
  // `hidden` values per token.
  void check_dimensions(int64_t hidden) const;
  // Each Dense's weights as the artifact's extra files: "<path>/model.safetensors" -> bytes.
  std::map<std::string, std::string> weight_files() const;
};

// Reads modules.json and the files of each module. Throws Error with one line
// naming the file at fault: a module hfjit does not run, a bad pooling mode,
// include_prompt false where a default prompt applies, a Dense with a bad
// activation, missing weights or weights of the wrong shape, a do_lower_case
// that is not true or false, a default_prompt_name naming no prompt.
Modules read_modules(const ModelFiles& files);

}  // namespace hfjit::st
