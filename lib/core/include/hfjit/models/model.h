#pragma once
// What every native model is: a torch::nn::Module laid out as the Hugging Face
// class it mirrors (same module tree, same parameter names), called with the
// tokenizer's tensors and returning its outputs in the order transformers
// returns them with return_dict=False / torchscript=True.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <optional>
#include <string>
#include <vector>

namespace hfjit::models {

struct ModelInputs {
  at::Tensor input_ids;          // [batch, length] int64
  at::Tensor attention_mask;     // [batch, length] int64: 1 token, 0 padding (always given)
  at::Tensor token_type_ids;     // [batch, length] int64; undefined means zeros. Families
                                 // without token types (DistilBERT, RoBERTa, GPT-2) ignore it.
  at::Tensor decoder_input_ids;  // [batch, target length] int64: encoder-decoders (T5, Marian)
};

// One step of a causal LM against a static key/value cache (the prefill and
// decode methods of a text-generation trace): `length` new tokens are written
// into the cache at slots `cache_position`, and attend to every slot the mask
// allows.
struct CachedInputs {
  at::Tensor input_ids;       // [batch, length] int64
  at::Tensor attention_mask;  // [batch, max_length] int64: 1 where a slot holds a token of the row
  at::Tensor position_ids;    // [batch, length] int64: each token's position (rotary / embedding)
  at::Tensor cache_position;  // [length] int64: the slots written, ascending
  at::Tensor
      cache;  // [layers, 2 (key, value), batch, kv_heads, max_length, head_dim], updated in place
};

// The static cache's dimensions other than batch and max_length.
struct CacheLayout {
  int64_t layers = 0, kv_heads = 0, head_dim = 0;
  // Whether a text-generation trace uses the cache unless told otherwise
  // (trace --cache): GPT-2's artifacts keep their full forward by default.
  bool by_default = true;
  std::vector<int64_t> shape(int64_t batch, int64_t max_length) const {
    return {layers, 2, batch, kv_heads, max_length, head_dim};
  }
};

struct BuildOptions {
  // Floating-point weights load as this dtype (F16/BF16 checkpoints become fp32 by default).
  at::ScalarType dtype = at::kFloat;
  // Append hidden_states.0 (embedding output) ... hidden_states.N to the outputs.
  bool output_hidden_states = false;
  // GPT-2: return the per-layer keys and values (HF's presents); unset follows
  // config.json's use_cache (true by default, as transformers does).
  std::optional<bool> use_cache;
  // Unexpected checkpoint keys are an error. Unset: strict when the class built
  // is the checkpoint's architectures[0]; otherwise the weights of the other head
  // are reported as unused.
  std::optional<bool> strict;
};

// What a base model (BertModel, GPT2Model, ...) returns to the heads on top of it.
struct BaseOutput {
  at::Tensor last_hidden_state;
  at::Tensor pooler_output;          // undefined without a pooler
  std::vector<at::Tensor> presents;  // GPT-2: each layer's key and value (HF's presents)
};

// A family's base model, which the heads (heads.h) wrap. Appends the hidden
// states (embedding output, then each layer's) to `hidden` when it is given.
class Backbone : public torch::nn::Module {
 public:
  virtual BaseOutput forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const = 0;
  // The input word embedding table: what a tied LM decoder is a clone of.
  virtual at::Tensor word_embeddings() const = 0;
  virtual bool has_pooler() const { return false; }
  // A causal LM's step against a static cache: the last hidden states [batch,
  // length, hidden] (after the final norm). Families without one throw.
  virtual at::Tensor forward_cached(const CachedInputs& in) const;
  // The cache forward_cached takes; nullopt for families without one.
  virtual std::optional<CacheLayout> cache_layout() const { return std::nullopt; }
};

class Model : public torch::nn::Module {
 public:
  // Outputs in the order of output_names().
  virtual std::vector<at::Tensor> forward(const ModelInputs& inputs) = 0;
  const std::vector<std::string>& output_names() const { return output_names_; }
  // A text-generation model's step against a static cache: the logits of the
  // last position [batch, vocab] and the cache (the same tensor, updated).
  virtual std::vector<at::Tensor> forward_cached(const CachedInputs& in);
  virtual std::optional<CacheLayout> cache_layout() const { return std::nullopt; }

 protected:
  // `hf_class`: the transformers class mirrored, the module's type name in the trace.
  Model(const std::string& hf_class, bool output_hidden_states)
      : torch::nn::Module(hf_class), hidden_(output_hidden_states) {}
  // Called by each model's constructor: its outputs, then hidden_states.0 ...
  // hidden_states.<num_hidden_states - 1> when they are asked for.
  void set_output_names(std::vector<std::string> names, int64_t num_hidden_states) {
    if (hidden_)
      for (int64_t i = 0; i < num_hidden_states; ++i)
        names.push_back("hidden_states." + std::to_string(i));
    output_names_ = std::move(names);
  }
  // Where a base model collects hidden states: `storage` when they are asked for, else nullptr.
  std::vector<at::Tensor>* hidden_states(std::vector<at::Tensor>& storage) const {
    return hidden_ ? &storage : nullptr;
  }
  // `outputs` followed by the collected hidden states.
  static std::vector<at::Tensor> finish_outputs(std::vector<at::Tensor> outputs,
                                                std::vector<at::Tensor>& hidden) {
    outputs.insert(outputs.end(), hidden.begin(), hidden.end());
    return outputs;
  }

 private:
  bool hidden_;
  std::vector<std::string> output_names_;
};

}  // namespace hfjit::models
