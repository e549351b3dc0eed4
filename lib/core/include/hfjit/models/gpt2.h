#pragma once
// GPT-2, mirroring transformers' models/gpt2/modeling_gpt2.py (eager
// attention, no past inputs): Conv1D projections (weights [in, out]), the
// causal mask combined with the padding mask as 4.47 does (where(causal,
// scores, finfo.min) + (1 - mask) * finfo.min), and each layer's keys and
// values returned as "presents" when use_cache is on.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hfjit/config.h"
#include "hfjit/models/heads.h"
#include "hfjit/models/layers.h"
#include "hfjit/models/model.h"
#include "hfjit/weights.h"

namespace hfjit::models {

// GPT2Config's fields (config.json names) with transformers' defaults.
struct GPT2Config {
  int64_t vocab_size = 50257;
  int64_t n_positions = 1024;
  int64_t n_embd = 768;
  int64_t n_layer = 12;
  int64_t n_head = 12;
  std::optional<int64_t> n_inner;  // 4 * n_embd when absent
  Activation activation_function = Activation::GeluNew;
  double layer_norm_epsilon = 1e-5;
  bool scale_attn_weights = true;
  bool scale_attn_by_inverse_layer_idx = false;
  bool reorder_and_upcast_attn = false;
  bool use_cache = true;
  std::optional<int64_t> pad_token_id;
  bool tie_word_embeddings = true;
  int64_t num_labels = 2;

  static GPT2Config from(const ModelConfig& config);
};

// Mirrors GPT2Attention (self-attention, eager, both _attn and
// _upcast_and_reordered_attn).
class GPT2Attention : public torch::nn::Module {
 public:
  GPT2Attention(const WeightLoader& w, const GPT2Config& c, int64_t layer_idx);
  struct Output {
    at::Tensor hidden;
    at::Tensor key, value;  // the present: [batch, heads, length, head_dim]
  };
  Output forward(const at::Tensor& hidden, const at::Tensor& mask) const;
  // Against a static cache ([2, batch, heads, max_length, head_dim], this layer's):
  // the keys and values written at `cache_position`, attention over the slots
  // `allowed` ([batch, 1, length, max_length]) permits.
  at::Tensor forward_cached(const at::Tensor& hidden, const at::Tensor& allowed,
                            const at::Tensor& cache, const at::Tensor& cache_position) const;

 private:
  at::Tensor attn(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& mask) const;
  at::Tensor upcast_and_reordered_attn(const at::Tensor& q, const at::Tensor& k,
                                       const at::Tensor& v, const at::Tensor& mask) const;
  std::shared_ptr<Conv1D> c_attn_, c_proj_;
  int64_t heads_, embed_dim_, layer_idx_;
  bool scale_attn_weights_, scale_by_inverse_layer_idx_, reorder_and_upcast_;
};

// Mirrors GPT2MLP: c_proj(act(c_fc(x))).
class GPT2MLP : public torch::nn::Module {
 public:
  GPT2MLP(const WeightLoader& w, const GPT2Config& c);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  std::shared_ptr<Conv1D> c_fc_, c_proj_;
  Activation act_;
};

// Mirrors GPT2Block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).
class GPT2Block : public torch::nn::Module {
 public:
  GPT2Block(const WeightLoader& w, const GPT2Config& c, int64_t layer_idx);
  GPT2Attention::Output forward(const at::Tensor& hidden, const at::Tensor& mask) const;
  at::Tensor forward_cached(const at::Tensor& hidden, const at::Tensor& allowed,
                            const at::Tensor& cache, const at::Tensor& cache_position) const;

 private:
  std::shared_ptr<LayerNorm> ln_1_, ln_2_;
  std::shared_ptr<GPT2Attention> attn_;
  std::shared_ptr<GPT2MLP> mlp_;
};

// Mirrors GPT2Model: wte, wpe, h, ln_f. Its presents are each layer's key and
// value (key, value of layer 0, key, value of layer 1, ...).
class GPT2Model : public Backbone {
 public:
  GPT2Model(const WeightLoader& w, const GPT2Config& c);
  // Appends the embeddings, each block's input after that, and ln_f's output to `hidden`.
  BaseOutput forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const override;
  at::Tensor word_embeddings() const override { return wte_->weight; }
  // The static cache (trace --cache static; GPT-2's default is its full forward).
  at::Tensor forward_cached(const CachedInputs& in) const override;
  std::optional<CacheLayout> cache_layout() const override;

 private:
  std::shared_ptr<Embedding> wte_, wpe_;
  ModuleList<GPT2Block> h_;
  std::shared_ptr<LayerNorm> ln_f_;
  int64_t heads_, head_dim_;
  bool reorder_and_upcast_;
};

// GPT2ForSequenceClassification's head: score(x) at each row's last token
// before the first pad_token_id (the last token when there is none, or no
// pad_token_id).
class GPT2SequenceClassificationHead : public Head {
 public:
  GPT2SequenceClassificationHead(const HeadContext& h, std::optional<int64_t> pad_token_id);
  std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs& in) const override;

 private:
  std::shared_ptr<Linear> score_;
  std::optional<int64_t> pad_token_id_;
};

// GPT-2's parts for the generic builder (the family table's constructor): the
// LM head and sequence classifier end with the presents when use_cache is on.
FamilyParts gpt2_parts(const ModelConfig& config, const BuildOptions& options);

}  // namespace hfjit::models
