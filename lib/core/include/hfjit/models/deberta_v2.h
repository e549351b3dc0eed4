#pragma once
// DeBERTa-v2 and v3, mirroring transformers' models/deberta_v2/modeling_deberta_v2.py:
// disentangled attention (content-to-position and position-to-content scores over
// log-bucketed relative positions), the shared relative embeddings with their
// LayerNorm, optional absolute positions, token types, embed_proj and the ConvLayer
// after the first layer. Relative positions are computed from the input's length,
// so a --dynamic trace follows it. Heads: the legacy masked LM (cls.predictions,
// generic), the enhanced one (lm_predictions, on the input embeddings), the
// ContextPooler classifier; token classification and QA are generic.

#include <memory>
#include <string>
#include <vector>

#include "hfjit/config.h"
#include "hfjit/models/heads.h"
#include "hfjit/models/layers.h"
#include "hfjit/models/model.h"
#include "hfjit/weights.h"

namespace hfjit::models {

// DebertaV2Config's fields (config.json names), with transformers' defaults.
struct DebertaV2Config {
  int64_t vocab_size = 128100;
  int64_t hidden_size = 1536;
  int64_t embedding_size = 1536;  // hidden_size unless given
  int64_t num_hidden_layers = 24;
  int64_t num_attention_heads = 24;
  int64_t attention_head_size = 64;  // hidden_size / num_attention_heads unless given
  int64_t intermediate_size = 6144;
  Activation hidden_act = Activation::Gelu;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 0;
  double layer_norm_eps = 1e-7;
  bool relative_attention = false;
  int64_t max_relative_positions = -1;  // < 1: max_position_embeddings
  int64_t position_buckets = -1;        // <= 0: no log buckets
  bool share_att_key = false;
  std::vector<std::string> pos_att_type;  // "c2p", "p2c"; "p2c|c2p" in old configs
  std::vector<std::string> norm_rel_ebd;  // "layer_norm" normalizes the relative embeddings
  bool position_biased_input = true;
  int64_t conv_kernel_size = 0;  // > 0: a ConvLayer after the first layer
  int64_t conv_groups = 1;
  Activation conv_act = Activation::Tanh;
  int64_t pooler_hidden_size = 1536;  // hidden_size unless given
  Activation pooler_hidden_act = Activation::Gelu;
  bool legacy = true;  // the masked LM head: cls.predictions (legacy) or lm_predictions
  int64_t pad_token_id = 0;
  bool tie_word_embeddings = true;
  int64_t num_labels = 2;

  static DebertaV2Config from(const ModelConfig& config);
  bool has(const std::string& att_type) const;
  // max_relative_positions, or max_position_embeddings when it is < 1.
  int64_t max_relative() const {
    return max_relative_positions < 1 ? max_position_embeddings : max_relative_positions;
  }
  // The attention span of the relative embeddings (pos_ebd_size): position_buckets, else
  // max_relative().
  int64_t att_span() const { return position_buckets > 0 ? position_buckets : max_relative(); }
};

// transformers' make_log_bucket_position: relative positions beyond bucket_size / 2
// mapped to log buckets up to max_position (computed in float32, as transformers does).
at::Tensor make_log_bucket_position(const at::Tensor& relative_pos, int64_t bucket_size,
                                    int64_t max_position);
// transformers' build_relative_position for queries and keys of the same length:
// [1, L, L] int64, query position minus key position (log-bucketed when bucket_size
// and max_position are > 0), for a [batch, L] tensor (the attention mask).
at::Tensor build_relative_position(const at::Tensor& like, int64_t bucket_size,
                                   int64_t max_position);

// Mirrors DebertaV2Embeddings: word (+ position when position_biased_input) (+ token
// type when type_vocab_size > 0), embed_proj when embedding_size != hidden_size,
// LayerNorm, then multiplied by the attention mask.
class DebertaV2Embeddings : public torch::nn::Module {
 public:
  DebertaV2Embeddings(const WeightLoader& w, const DebertaV2Config& c);
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& token_type_ids,
                     const at::Tensor& mask) const;
  std::shared_ptr<Embedding> word_embeddings;

 private:
  std::shared_ptr<Embedding> position_embeddings_, token_type_embeddings_;
  std::shared_ptr<Linear> embed_proj_;
  std::shared_ptr<LayerNorm> layer_norm_;
};

// Mirrors DisentangledSelfAttention (eager; there is no other implementation).
class DisentangledSelfAttention : public torch::nn::Module {
 public:
  DisentangledSelfAttention(const WeightLoader& w, const DebertaV2Config& c);
  // `attention_mask`: [batch, 1, L, L] of 1/0; `relative_pos` [1, L, L] and
  // `rel_embeddings` [2 * att_span, hidden] (undefined without relative_attention).
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& attention_mask,
                     const at::Tensor& relative_pos, const at::Tensor& rel_embeddings) const;

 private:
  // [batch, L, heads * d] -> [batch * heads, L, d]
  at::Tensor transpose_for_scores(const at::Tensor& x) const;
  at::Tensor disentangled_attention_bias(const at::Tensor& query_layer, const at::Tensor& key_layer,
                                         const at::Tensor& relative_pos,
                                         const at::Tensor& rel_embeddings, int64_t scale_factor,
                                         const at::Tensor& hidden) const;
  // The relative embeddings projected by `proj`, one copy per batch row: [batch * heads, 2 * span,
  // d].
  at::Tensor pos_layer(const Linear& proj, const at::Tensor& rel_embeddings,
                       const at::Tensor& hidden) const;

  std::shared_ptr<Linear> query_proj_, key_proj_, value_proj_, pos_key_proj_, pos_query_proj_;
  int64_t heads_;
  bool c2p_, p2c_, relative_attention_, share_att_key_;
  int64_t att_span_;
};

// Mirrors DebertaV2SelfOutput and DebertaV2Output (named `hf_class`): dense, then LayerNorm(x +
// residual).
class DebertaV2SelfOutput : public torch::nn::Module {
 public:
  DebertaV2SelfOutput(const WeightLoader& w, const DebertaV2Config& c, int64_t in,
                      const std::string& hf_class);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& residual) const;

 private:
  std::shared_ptr<Linear> dense_;
  std::shared_ptr<LayerNorm> layer_norm_;
};

// Mirrors DebertaV2Attention: self + output.
class DebertaV2Attention : public torch::nn::Module {
 public:
  DebertaV2Attention(const WeightLoader& w, const DebertaV2Config& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& attention_mask,
                     const at::Tensor& relative_pos, const at::Tensor& rel_embeddings) const;

 private:
  std::shared_ptr<DisentangledSelfAttention> self_;
  std::shared_ptr<DebertaV2SelfOutput> output_;
};

// Mirrors DebertaV2Intermediate: dense + hidden_act.
class DebertaV2Intermediate : public torch::nn::Module {
 public:
  DebertaV2Intermediate(const WeightLoader& w, const DebertaV2Config& c);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<Linear> dense_;
  Activation act_;
};

// Mirrors DebertaV2Layer: attention, intermediate, output.
class DebertaV2Layer : public torch::nn::Module {
 public:
  DebertaV2Layer(const WeightLoader& w, const DebertaV2Config& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& attention_mask,
                     const at::Tensor& relative_pos, const at::Tensor& rel_embeddings) const;

 private:
  std::shared_ptr<DebertaV2Attention> attention_;
  std::shared_ptr<DebertaV2Intermediate> intermediate_;
  std::shared_ptr<DebertaV2SelfOutput> output_;
};

// Mirrors torch.nn.Conv1d (not transformers' GPT-2 Conv1D): weight [out, in / groups, kernel], bias
// [out].
class Conv1d : public torch::nn::Module {
 public:
  Conv1d(const WeightLoader& w, int64_t channels, int64_t kernel, int64_t groups);
  at::Tensor forward(const at::Tensor& x) const;  // [batch, channels, L], padding (kernel - 1) / 2
  at::Tensor weight, bias;

 private:
  int64_t padding_, groups_;
};

// Mirrors ConvLayer: conv of the layer's input, masked, conv_act, LayerNorm with the
// layer's output, masked again.
class ConvLayer : public torch::nn::Module {
 public:
  ConvLayer(const WeightLoader& w, const DebertaV2Config& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& residual,
                     const at::Tensor& input_mask) const;

 private:
  std::shared_ptr<Conv1d> conv_;
  std::shared_ptr<LayerNorm> layer_norm_;
  Activation act_;
};

// Mirrors DebertaV2Encoder: the layers, the relative embeddings (LayerNorm'd with
// norm_rel_ebd "layer_norm") and the ConvLayer.
class DebertaV2Encoder : public torch::nn::Module {
 public:
  DebertaV2Encoder(const WeightLoader& w, const DebertaV2Config& c);
  // `attention_mask` [batch, L] of 1/0; appends the input and each layer's output to `all_hidden`.
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& attention_mask,
                     std::vector<at::Tensor>* all_hidden) const;

 private:
  at::Tensor get_rel_embedding() const;

  ModuleList<DebertaV2Layer> layer_;
  std::shared_ptr<Embedding> rel_embeddings_;
  std::shared_ptr<LayerNorm> layer_norm_;
  std::shared_ptr<ConvLayer> conv_;
  int64_t position_buckets_, max_relative_positions_;
};

// Mirrors DebertaV2Model: embeddings, encoder; no pooler.
class DebertaV2Model : public Backbone {
 public:
  DebertaV2Model(const WeightLoader& w, const DebertaV2Config& c);
  BaseOutput forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const override;
  at::Tensor word_embeddings() const override { return embeddings_->word_embeddings->weight; }

 private:
  std::shared_ptr<DebertaV2Embeddings> embeddings_;
  std::shared_ptr<DebertaV2Encoder> encoder_;
};

// Mirrors ContextPooler: pooler_hidden_act(dense(hidden[:, 0])).
class ContextPooler : public torch::nn::Module {
 public:
  ContextPooler(const WeightLoader& w, const DebertaV2Config& c);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<Linear> dense_;
  Activation act_;
};

// DebertaV2ForSequenceClassification's head: classifier(pooler(last_hidden_state)).
class DebertaV2ClassificationHead : public Head {
 public:
  DebertaV2ClassificationHead(const HeadContext& h, const DebertaV2Config& c);
  std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs& in) const override;

 private:
  std::shared_ptr<ContextPooler> pooler_;
  std::shared_ptr<Linear> classifier_;
};

// Mirrors DebertaV2LMPredictionHead (legacy false): LayerNorm(act(dense(x))) times
// the input word embeddings, plus bias.
class DebertaV2LMPredictionHead : public torch::nn::Module {
 public:
  DebertaV2LMPredictionHead(const WeightLoader& w, const DebertaV2Config& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& word_embeddings) const;

 private:
  std::shared_ptr<Linear> dense_;
  std::shared_ptr<LayerNorm> layer_norm_;
  at::Tensor bias_;
  Activation act_;
};

// DebertaV2ForMaskedLM's head with legacy false: lm_predictions (DebertaV2OnlyMLMHead).lm_head
// on the base model's own word embeddings (no tie, no copy).
class DebertaV2MaskedLMHead : public Head {
 public:
  DebertaV2MaskedLMHead(const HeadContext& h, const DebertaV2Config& c);
  std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs& in) const override;

 private:
  std::shared_ptr<DebertaV2LMPredictionHead> lm_head_;
  at::Tensor word_embeddings_;
};

// DeBERTa-v2's parts for the generic builder (the family table's constructor).
FamilyParts deberta_v2_parts(const ModelConfig& config, const BuildOptions& options);

}  // namespace hfjit::models
