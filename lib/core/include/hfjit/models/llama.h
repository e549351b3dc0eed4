#pragma once
// The Llama family: Llama, Qwen2 and Mistral, mirroring transformers 5's
// models/{llama,qwen2,mistral}/modeling_*.py (one implementation: they differ
// only in config defaults, Qwen2's q/k/v bias and the sliding-window layers).
// RMSNorm, rotary positions with transformers' rope types (default, linear,
// dynamic, llama3, yarn), grouped-query attention, a SwiGLU MLP.
//
// Besides transformers' forward (the whole sequence, its keys and values as
// presents), the base model runs a step against a static cache
// (Backbone::forward_cached): what `hfjit trace` records as the prefill and
// decode methods of a text-generation artifact.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hfjit/config.h"
#include "hfjit/models/heads.h"
#include "hfjit/models/layers.h"
#include "hfjit/models/model.h"
#include "hfjit/weights.h"

namespace hfjit::models {

// rope_parameters (transformers 5) or rope_theta + rope_scaling (older
// configs), standardized as RotaryEmbeddingConfigMixin does.
struct RopeParameters {
  std::string rope_type = "default";
  double rope_theta = 10000.0;
  double factor = 1.0;
  double partial_rotary_factor = 1.0;
  // llama3 and yarn
  int64_t original_max_position_embeddings = 0;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;                                  // llama3
  std::optional<double> attention_factor, beta_fast, beta_slow, mscale, mscale_all_dim;  // yarn
  bool truncate = true;                                                                  // yarn
};

// LlamaConfig / Qwen2Config / MistralConfig fields (config.json names) with
// each class's defaults (by model_type).
struct LlamaConfig {
  std::string model_type = "llama";
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 32;
  int64_t num_key_value_heads = 32;
  int64_t head_dim = 128;
  Activation hidden_act = Activation::Silu;
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  bool use_cache = true;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Llama's attention_bias; always on for Qwen2
  bool o_bias = false;    // Llama's attention_bias; off for Qwen2
  bool mlp_bias = false;
  std::vector<std::optional<int64_t>> sliding_window;  // per layer: the window, or none
  RopeParameters rope;

  static LlamaConfig from(const ModelConfig& config);
};

// Mirrors LlamaRMSNorm: weight * (x32 * rsqrt(mean(x32^2) + eps)).to(dtype).
class LlamaRMSNorm : public torch::nn::Module {
 public:
  LlamaRMSNorm(const WeightLoader& w, int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight;

 private:
  double eps_;
};

// Mirrors LlamaRotaryEmbedding: inv_freq (a non-persistent buffer) and the
// attention scaling of the config's rope type.
class LlamaRotaryEmbedding : public torch::nn::Module {
 public:
  explicit LlamaRotaryEmbedding(const LlamaConfig& c);
  // cos and sin [batch, length, head_dim] for position ids [batch, length], in `dtype`.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& position_ids,
                                            at::ScalarType dtype) const;
  at::Tensor inv_freq;

 private:
  double attention_scaling_;
};

// Mirrors LlamaMLP: down_proj(act(gate_proj(x)) * up_proj(x)).
class LlamaMLP : public torch::nn::Module {
 public:
  LlamaMLP(const WeightLoader& w, const LlamaConfig& c);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  std::shared_ptr<Linear> gate_proj_, up_proj_, down_proj_;
  Activation act_;
};

// Mirrors LlamaAttention (Qwen2Attention, MistralAttention) with SDPA.
class LlamaAttention : public torch::nn::Module {
 public:
  LlamaAttention(const WeightLoader& w, const LlamaConfig& c);
  struct Output {
    at::Tensor hidden;
    at::Tensor key, value;  // after the rotation: [batch, kv_heads, length, head_dim]
  };
  // `mask`: additive, [batch, 1, length, keys]. With `cache` ([2, batch, kv_heads,
  // max_length, head_dim], this layer's) the keys and values are written into it
  // at `cache_position` (in place) and attention reads the whole cache.
  Output forward(const at::Tensor& hidden, const at::Tensor& cos, const at::Tensor& sin,
                 const at::Tensor& mask, const at::Tensor& cache = {},
                 const at::Tensor& cache_position = {}) const;

 private:
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, o_proj_;
  int64_t heads_, kv_heads_, head_dim_;
};

// Mirrors LlamaDecoderLayer: x + attn(input_layernorm(x)), then x +
// mlp(post_attention_layernorm(x)).
class LlamaDecoderLayer : public torch::nn::Module {
 public:
  LlamaDecoderLayer(const WeightLoader& w, const LlamaConfig& c);
  LlamaAttention::Output forward(const at::Tensor& hidden, const at::Tensor& cos,
                                 const at::Tensor& sin, const at::Tensor& mask,
                                 const at::Tensor& cache = {},
                                 const at::Tensor& cache_position = {}) const;

 private:
  std::shared_ptr<LlamaRMSNorm> input_layernorm_, post_attention_layernorm_;
  std::shared_ptr<LlamaAttention> self_attn_;
  std::shared_ptr<LlamaMLP> mlp_;
};

// Mirrors LlamaModel: embed_tokens, layers, norm (and the rotary module's
// inv_freq, a non-persistent buffer).
class LlamaModel : public Backbone {
 public:
  LlamaModel(const WeightLoader& w, const LlamaConfig& c);
  BaseOutput forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const override;
  at::Tensor forward_cached(const CachedInputs& in) const override;
  std::optional<CacheLayout> cache_layout() const override;
  at::Tensor word_embeddings() const override { return embed_tokens_->weight; }

 private:
  // Runs the layers over embedded tokens `h` at `position_ids`, each layer's
  // attention allowed where `allowed` ([batch, queries, keys]) is true and the key
  // is within its sliding window (`distance`: query slot - key slot, [queries,
  // keys]); with `cache`, against it. Appends to `hidden` and `presents` when given.
  at::Tensor run_layers(at::Tensor h, const at::Tensor& position_ids, const at::Tensor& allowed,
                        const at::Tensor& distance, const at::Tensor& cache,
                        const at::Tensor& cache_position, std::vector<at::Tensor>* hidden,
                        std::vector<at::Tensor>* presents) const;
  // The additive mask of each layer ([batch, 1, queries, keys]): query i sees key j
  // when j <= i (slots), the key is not padding, and within a layer's sliding window.
  std::vector<at::Tensor> layer_masks(const at::Tensor& allowed, const at::Tensor& distance,
                                      at::ScalarType dtype) const;
  LlamaConfig c_;
  std::shared_ptr<Embedding> embed_tokens_;
  ModuleList<LlamaDecoderLayer> layers_;
  std::shared_ptr<LlamaRMSNorm> norm_;
  std::shared_ptr<LlamaRotaryEmbedding> rotary_emb_;
};

// The family's parts for the generic builder (the family table's constructor):
// the base model and the causal LM head (lm_head, tied to embed_tokens when
// tie_word_embeddings), ending with the presents when use_cache is on.
FamilyParts llama_parts(const ModelConfig& config, const BuildOptions& options);

}  // namespace hfjit::models
