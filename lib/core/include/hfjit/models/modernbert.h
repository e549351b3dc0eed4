#pragma once
// ModernBERT, mirroring transformers' models/modernbert/modeling_modernbert.py
// on its eager (and sdpa) attention path: padded batches, pre-norm layers,
// rotary positions with one theta for the global layers and another for the
// local ones, sliding-window attention (|i - j| <= local_attention / 2) on the
// layers that are not global, GeGLU MLPs, LayerNorms and Linears without bias
// as the config says. transformers' flash-attention path unpads the batch
// instead; hfjit keeps the padded math (same results on the real tokens).
// The heads put ModernBertPredictionHead before the decoder or classifier, so
// they are the family's own; modernbert_parts() is the family table's constructor.

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

// ModernBertConfig's fields (config.json names) with transformers' defaults.
// Layer types and rope thetas are read from transformers 5's layer_types and
// rope_parameters, or from the older global_attn_every_n_layers,
// global_rope_theta and local_rope_theta that published checkpoints carry.
struct ModernBertConfig {
  int64_t vocab_size = 50368;
  int64_t hidden_size = 768;
  int64_t intermediate_size = 1152;
  int64_t num_hidden_layers = 22;
  int64_t num_attention_heads = 12;
  Activation hidden_activation = Activation::Gelu;
  double norm_eps = 1e-5;
  bool norm_bias = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  bool decoder_bias = true;
  bool classifier_bias = false;
  Activation classifier_activation = Activation::Gelu;
  std::string classifier_pooling = "cls";  // "cls" or "mean"
  int64_t local_attention = 128;           // the whole window; sliding_window() is half of it
  std::vector<bool> sliding;               // per layer: layer_types[i] == "sliding_attention"
  double global_rope_theta = 160000.0;     // rope_parameters["full_attention"]["rope_theta"]
  double local_rope_theta = 10000.0;       // rope_parameters["sliding_attention"]["rope_theta"]
  bool tie_word_embeddings = true;
  int64_t num_labels = 2;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // config.sliding_window: a local layer's token attends to tokens at most this far away.
  int64_t sliding_window() const { return local_attention / 2; }
  // Rejects what transformers 5 would not build (other rope types, unknown layer types, pooling).
  static ModernBertConfig from(const ModelConfig& config);
};

// Mirrors ModernBertEmbeddings: norm(tok_embeddings(input_ids)), no positions.
class ModernBertEmbeddings : public torch::nn::Module {
 public:
  ModernBertEmbeddings(const WeightLoader& w, const ModernBertConfig& c);
  at::Tensor forward(const at::Tensor& input_ids) const;
  std::shared_ptr<Embedding> tok_embeddings;

 private:
  std::shared_ptr<LayerNorm> norm_;
};

// Mirrors ModernBertMLP (GeGLU): input, gate = Wi(x).chunk(2); Wo(act(input) * gate).
class ModernBertMLP : public torch::nn::Module {
 public:
  ModernBertMLP(const WeightLoader& w, const ModernBertConfig& c);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  std::shared_ptr<Linear> wi_, wo_;
  Activation act_;
};

// Mirrors ModernBertRotaryEmbedding: one inv_freq buffer per layer type in
// use (full_attention_inv_freq, sliding_attention_inv_freq), computed from
// its theta (transformers never saves them).
class ModernBertRotaryEmbedding : public torch::nn::Module {
 public:
  explicit ModernBertRotaryEmbedding(const ModernBertConfig& c);
  // cos, sin [1, length, head_dim] for the global or the local layers.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& positions, bool sliding,
                                            at::ScalarType dtype) const;

 private:
  at::Tensor full_inv_freq_, sliding_inv_freq_;  // undefined when no layer has that type
};

// Mirrors ModernBertAttention (eager): Wqkv, rotary q and k, softmax(q k^T *
// head_dim^-0.5 + mask) v, Wo. A local layer's window is in its mask.
class ModernBertAttention : public torch::nn::Module {
 public:
  ModernBertAttention(const WeightLoader& w, const ModernBertConfig& c);
  at::Tensor forward(const at::Tensor& hidden, const std::pair<at::Tensor, at::Tensor>& cos_sin,
                     const at::Tensor& mask) const;

 private:
  std::shared_ptr<Linear> wqkv_, wo_;
  int64_t heads_, head_dim_;
};

// Mirrors ModernBertEncoderLayer: x + attn(attn_norm(x)), then + mlp(mlp_norm(x)).
// Layer 0's attn_norm is nn.Identity (no module, no weights).
class ModernBertEncoderLayer : public torch::nn::Module {
 public:
  ModernBertEncoderLayer(const WeightLoader& w, const ModernBertConfig& c, int64_t layer_idx);
  at::Tensor forward(const at::Tensor& hidden, const std::pair<at::Tensor, at::Tensor>& cos_sin,
                     const at::Tensor& mask) const;
  bool sliding() const { return sliding_; }

 private:
  std::shared_ptr<LayerNorm> attn_norm_, mlp_norm_;
  std::shared_ptr<ModernBertAttention> attn_;
  std::shared_ptr<ModernBertMLP> mlp_;
  bool sliding_;
};

// The additive masks transformers' eager attention gets, [batch, 1, 1 or
// length, length] of 0 / finfo(dtype).min: create_bidirectional_mask (padding
// only) and create_bidirectional_sliding_window_mask (padding and |q - kv| <= window).
at::Tensor bidirectional_mask(const at::Tensor& attention_mask, at::ScalarType dtype);
at::Tensor sliding_window_mask(const at::Tensor& attention_mask, const at::Tensor& positions,
                               int64_t window, at::ScalarType dtype);

// Mirrors ModernBertModel: embeddings, layers, final_norm, rotary_emb. No pooler.
class ModernBertModel : public Backbone {
 public:
  ModernBertModel(const WeightLoader& w, const ModernBertConfig& c);
  BaseOutput forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const override;
  at::Tensor word_embeddings() const override { return embeddings_->tok_embeddings->weight; }

 private:
  std::shared_ptr<ModernBertEmbeddings> embeddings_;
  ModuleList<ModernBertEncoderLayer> layers_;
  std::shared_ptr<LayerNorm> final_norm_;
  std::shared_ptr<ModernBertRotaryEmbedding> rotary_emb_;
  int64_t sliding_window_;
};

// Mirrors ModernBertPredictionHead: norm(act(dense(x))).
class ModernBertPredictionHead : public torch::nn::Module {
 public:
  ModernBertPredictionHead(const WeightLoader& w, const ModernBertConfig& c);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  std::shared_ptr<Linear> dense_;
  std::shared_ptr<LayerNorm> norm_;
  Activation act_;
};

// ModernBertForMaskedLM's head: decoder(head(x)); the decoder is tied to
// model.embeddings.tok_embeddings and has its own bias (decoder_bias).
class ModernBertMaskedLMHead : public Head {
 public:
  ModernBertMaskedLMHead(const HeadContext& h, const ModernBertConfig& c);
  std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs& in) const override;

 private:
  std::shared_ptr<ModernBertPredictionHead> head_;
  std::shared_ptr<Linear> decoder_;
};

// The classifier heads: classifier(head(x)), x being
//   Sequence  last_hidden_state[:, 0] (classifier_pooling "cls") or its mean
//             over the attention mask ("mean"): ModernBertForSequenceClassification;
//   Token     last_hidden_state: ModernBertForTokenClassification;
//   Span      last_hidden_state, the logits split into start and end:
//             ModernBertForQuestionAnswering (whose classifier has num_labels
//             outputs: 2, or its forward fails, as transformers' does).
class ModernBertClassifierHead : public Head {
 public:
  enum class Kind { Sequence, Token, Span };
  ModernBertClassifierHead(const HeadContext& h, const ModernBertConfig& c, Kind kind);
  std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs& in) const override;

 private:
  std::shared_ptr<ModernBertPredictionHead> head_;
  std::shared_ptr<Linear> classifier_;
  Kind kind_;
  bool mean_pooling_;
  int64_t num_labels_;
};

// ModernBERT's parts for the generic builder (the family table's constructor).
FamilyParts modernbert_parts(const ModelConfig& config, const BuildOptions& options);

}  // namespace hfjit::models
