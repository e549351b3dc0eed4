#pragma once
// MPNet, mirroring transformers' models/mpnet/modeling_mpnet.py: RoBERTa-style
// position ids (padding_idx is always 1), no token types, self-attention with
// q, k, v, o and a relative position bias (T5-style buckets) that MPNetEncoder
// computes once per forward from the sequence length and every layer adds to
// its scores. MPNetLMHead and MPNetClassificationHead go through the generic
// heads (heads.h); mpnet_parts() is the family table's constructor.

#include <memory>
#include <optional>
#include <vector>

#include "hfjit/config.h"
#include "hfjit/models/heads.h"
#include "hfjit/models/layers.h"
#include "hfjit/models/model.h"
#include "hfjit/weights.h"

namespace hfjit::models {

// MPNetConfig's fields (config.json names), with transformers' defaults.
// pad_token_id is not read: MPNetEmbeddings hard-codes padding_idx = 1.
struct MPNetConfig {
  int64_t vocab_size = 30527;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  Activation hidden_act = Activation::Gelu;
  int64_t max_position_embeddings = 512;
  double layer_norm_eps = 1e-12;
  int64_t relative_attention_num_buckets = 32;
  bool tie_word_embeddings = true;
  int64_t num_labels = 2;

  // Reads `config`. Fewer than 32 relative-attention buckets is an Error: MPNetEncoder
  // always buckets into 32 (transformers fails once a sequence reaches a missing one).
  static MPNetConfig from(const ModelConfig& config);
};

// Mirrors MPNetEmbeddings: LayerNorm(word + position), positions counted from
// padding_idx + 1 over the non-padding tokens (create_position_ids_from_input_ids).
class MPNetEmbeddings : public torch::nn::Module {
 public:
  static constexpr int64_t kPaddingIdx = 1;
  MPNetEmbeddings(const WeightLoader& w, const MPNetConfig& c);
  at::Tensor forward(const at::Tensor& input_ids) const;
  std::shared_ptr<Embedding> word_embeddings;

 private:
  std::shared_ptr<Embedding> position_embeddings_;
  std::shared_ptr<LayerNorm> layer_norm_;
};

// Mirrors MPNetSelfAttention: o(softmax(q k^T / sqrt(d) + position_bias + mask) v).
class MPNetSelfAttention : public torch::nn::Module {
 public:
  MPNetSelfAttention(const WeightLoader& w, const MPNetConfig& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& mask,
                     const at::Tensor& position_bias) const;

 private:
  std::shared_ptr<Linear> q_, k_, v_, o_;
  int64_t heads_;
};

// Mirrors MPNetAttention: LayerNorm(attn(x) + x).
class MPNetAttention : public torch::nn::Module {
 public:
  MPNetAttention(const WeightLoader& w, const MPNetConfig& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& mask,
                     const at::Tensor& position_bias) const;

 private:
  std::shared_ptr<MPNetSelfAttention> attn_;
  std::shared_ptr<LayerNorm> layer_norm_;
};

// Mirrors MPNetIntermediate: hidden_act(dense(x)).
class MPNetIntermediate : public torch::nn::Module {
 public:
  MPNetIntermediate(const WeightLoader& w, const MPNetConfig& c);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<Linear> dense_;
  Activation act_;
};

// Mirrors MPNetOutput: LayerNorm(dense(x) + input).
class MPNetOutput : public torch::nn::Module {
 public:
  MPNetOutput(const WeightLoader& w, const MPNetConfig& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& input) const;

 private:
  std::shared_ptr<Linear> dense_;
  std::shared_ptr<LayerNorm> layer_norm_;
};

// Mirrors MPNetLayer: attention, intermediate, output.
class MPNetLayer : public torch::nn::Module {
 public:
  MPNetLayer(const WeightLoader& w, const MPNetConfig& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& mask,
                     const at::Tensor& position_bias) const;

 private:
  std::shared_ptr<MPNetAttention> attention_;
  std::shared_ptr<MPNetIntermediate> intermediate_;
  std::shared_ptr<MPNetOutput> output_;
};

// Mirrors MPNetEncoder: the layers under "layer" and relative_attention_bias,
// an Embedding(relative_attention_num_buckets, heads) read at the bucket of
// each (query, key) distance.
class MPNetEncoder : public torch::nn::Module {
 public:
  MPNetEncoder(const WeightLoader& w, const MPNetConfig& c);
  // Appends the input and each layer's output to `all_hidden` when it is given.
  at::Tensor forward(at::Tensor hidden, const at::Tensor& mask,
                     std::vector<at::Tensor>* all_hidden) const;
  // compute_position_bias: [1, heads, L, L] for hidden [B, L, H] (transformers
  // expands it to B; adding it broadcast gives the same sums). L is traced as a
  // value under DynamicShapes.
  at::Tensor compute_position_bias(const at::Tensor& x, int64_t num_buckets = 32) const;
  // relative_position_bucket, as transformers computes it (float32 log, truncated).
  static at::Tensor relative_position_bucket(const at::Tensor& relative_position,
                                             int64_t num_buckets = 32, int64_t max_distance = 128);

 private:
  ModuleList<MPNetLayer> layer_;
  std::shared_ptr<Embedding> relative_attention_bias_;
};

// Mirrors MPNetPooler: tanh(dense(hidden[:, 0])).
class MPNetPooler : public torch::nn::Module {
 public:
  MPNetPooler(const WeightLoader& w, const MPNetConfig& c);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<Linear> dense_;
};

// Mirrors MPNetModel. The pooler is built when `pooler` is set, or, when unset,
// when the checkpoint has its weights (every head model has add_pooling_layer=False).
class MPNetModel : public Backbone {
 public:
  MPNetModel(const WeightLoader& w, const MPNetConfig& c, std::optional<bool> pooler);
  BaseOutput forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const override;
  at::Tensor word_embeddings() const override { return embeddings_->word_embeddings->weight; }
  bool has_pooler() const override { return pooler_ != nullptr; }

 private:
  std::shared_ptr<MPNetEmbeddings> embeddings_;
  std::shared_ptr<MPNetEncoder> encoder_;
  std::shared_ptr<MPNetPooler> pooler_;
};

// MPNet's parts for the generic builder: MPNetModel, MPNetLMHead, MPNetClassificationHead.
FamilyParts mpnet_parts(const ModelConfig& config, const BuildOptions& options);

}  // namespace hfjit::models
