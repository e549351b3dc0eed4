#pragma once
// The pieces of `hfjit trace` that `bench` reuses: a native model traced into
// a torch::jit::Module, and synthetic inputs for it.

#include <ATen/core/Generator.h>
#include <torch/script.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "hfjit/config.h"
#include "hfjit/models/registry.h"

namespace hfjit {

// Records a native model's forward as methods of a torch::jit::Module whose
// attributes are the model's own parameter and buffer tensors (the module
// tree mirrors the nn::Module tree, each with `training` = false), as
// PyTorch's own torch.jit.trace of an nn.Module does.
class Tracer {
 public:
  explicit Tracer(const models::BuiltModel& built);
  // Traces forward at `inputs` (in built.input_names order) as method `name`,
  // with the graph's arguments named after the inputs. Returns the outputs of
  // that traced call. Throws Error when tracing fails.
  std::vector<at::Tensor> add_method(const std::string& name,
                                     const std::vector<at::Tensor>& inputs);
  // The same for another of the model's functions (BuiltModel::forward_cached),
  // whose arguments are named `arg_names`.
  using Function = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>&)>;
  std::vector<at::Tensor> add_method(const std::string& name, const std::vector<at::Tensor>& inputs,
                                     const std::vector<std::string>& arg_names, const Function& fn);
  torch::jit::Module& module() { return module_; }

 private:
  const models::BuiltModel& built_;
  std::shared_ptr<torch::jit::CompilationUnit> cu_;
  torch::jit::Module module_;
};

// Runs a method of a traced module; its tuple output as tensors.
std::vector<at::Tensor> run_method(torch::jit::Module& module, const std::string& method,
                                   const std::vector<at::Tensor>& inputs);

// The tensor type of a cache dtype in meta.json ("float32" or "bfloat16").
inline at::ScalarType cache_scalar_type(const std::string& dtype) {
  return dtype == "bfloat16" ? at::kBFloat16 : at::kFloat;
}

// Synthetic inputs: random token ids that avoid the special tokens (those of
// config.json and tokenizer.json), attention mask, token types.
class DummyInputs {
 public:
  DummyInputs(const ModelConfig& config, const std::string& model_dir,
              std::vector<std::string> input_names, uint64_t seed);
  DummyInputs(std::vector<std::string> input_names, int64_t vocab_size, int64_t pad_id,
              uint64_t seed);
  // Full attention mask, token types zero.
  std::vector<at::Tensor> full(int64_t batch, int64_t length);
  // Padding in the tail of every row (rows of different lengths), token types
  // 1 on part of each row where the model has two types.
  std::vector<at::Tensor> padded(int64_t batch, int64_t length);
  int64_t pad_id() const { return pad_id_; }

 private:
  std::vector<at::Tensor> make(int64_t batch, int64_t length, bool padded);
  std::vector<std::string> names_;
  std::vector<int64_t> allowed_;
  int64_t pad_id_ = 0;
  int64_t type_vocab_ = 1;
  at::Generator gen_;
};

}  // namespace hfjit
