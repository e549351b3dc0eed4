#pragma once
// BERT, mirroring transformers' models/bert/modeling_bert.py (eager attention,
// absolute positions, encoder only). RoBERTa and ELECTRA reuse BertEmbeddings,
// BertEncoder and BertPooler, as transformers' copies of them are identical.
// The heads are the generic ones (heads.h); bert_parts() is the family
// table's constructor.

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

// BertConfig's fields (config.json names), with transformers' defaults; RoBERTa
// and ELECTRA pass their own defaults.
struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t embedding_size = 768;  // ELECTRA's embedding_size; hidden_size for BERT and RoBERTa
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  Activation hidden_act = Activation::Gelu;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  bool tie_word_embeddings = true;
  int64_t num_labels = 2;

  // Reads `config`; absent fields keep the values of `defaults`. Rejects what
  // the native models do not implement (relative positions, decoders).
  static BertConfig from(const ModelConfig& config, const BertConfig& defaults);
  static BertConfig from(const ModelConfig& config) { return from(config, BertConfig()); }
};

// Mirrors BertEmbeddings; with `roberta_positions` it is RobertaEmbeddings
// (position ids counted from pad_token_id + 1 over non-padding tokens), and
// with dim = embedding_size it is ElectraEmbeddings.
class BertEmbeddings : public torch::nn::Module {
 public:
  BertEmbeddings(const WeightLoader& w, const BertConfig& c, int64_t dim, bool roberta_positions);
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& token_type_ids) const;
  std::shared_ptr<Embedding> word_embeddings;

 private:
  std::shared_ptr<Embedding> position_embeddings_, token_type_embeddings_;
  std::shared_ptr<LayerNorm> layer_norm_;
  bool roberta_positions_;
  int64_t padding_idx_;
};

// transformers' create_position_ids_from_input_ids (RoBERTa).
at::Tensor create_position_ids_from_input_ids(const at::Tensor& input_ids, int64_t padding_idx);

// Mirrors BertSelfAttention (eager).
class BertSelfAttention : public torch::nn::Module {
 public:
  BertSelfAttention(const WeightLoader& w, const BertConfig& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& mask) const;

 private:
  std::shared_ptr<Linear> query_, key_, value_;
  int64_t heads_;
};

// Mirrors BertSelfOutput and BertOutput: dense, then LayerNorm(x + residual).
class BertSelfOutput : public torch::nn::Module {
 public:
  BertSelfOutput(const WeightLoader& w, const BertConfig& c, int64_t in);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& residual) const;

 private:
  std::shared_ptr<Linear> dense_;
  std::shared_ptr<LayerNorm> layer_norm_;
};

// Mirrors BertAttention: self + output.
class BertAttention : public torch::nn::Module {
 public:
  BertAttention(const WeightLoader& w, const BertConfig& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& mask) const;

 private:
  std::shared_ptr<BertSelfAttention> self_;
  std::shared_ptr<BertSelfOutput> output_;
};

// Mirrors BertIntermediate: dense + hidden_act.
class BertIntermediate : public torch::nn::Module {
 public:
  BertIntermediate(const WeightLoader& w, const BertConfig& c);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<Linear> dense_;
  Activation act_;
};

// Mirrors BertLayer: attention, intermediate, output.
class BertLayer : public torch::nn::Module {
 public:
  BertLayer(const WeightLoader& w, const BertConfig& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& mask) const;

 private:
  std::shared_ptr<BertAttention> attention_;
  std::shared_ptr<BertIntermediate> intermediate_;
  std::shared_ptr<BertSelfOutput> output_;  // BertOutput has BertSelfOutput's layout
};

// Mirrors BertEncoder: num_hidden_layers BertLayers under "layer".
class BertEncoder : public torch::nn::Module {
 public:
  BertEncoder(const WeightLoader& w, const BertConfig& c);
  // Appends the input and each layer's output to `hidden` when it is given.
  at::Tensor forward(at::Tensor hidden, const at::Tensor& mask,
                     std::vector<at::Tensor>* all_hidden) const;

 private:
  ModuleList<BertLayer> layer_;
};

// Mirrors BertPooler: tanh(dense(hidden[:, 0])).
class BertPooler : public torch::nn::Module {
 public:
  BertPooler(const WeightLoader& w, const BertConfig& c);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<Linear> dense_;
};

// Mirrors BertModel (and RobertaModel with roberta_positions). The pooler is
// built when `pooler` is set (heads that use it), or, when unset, when the
// checkpoint has its weights.
class BertModel : public Backbone {
 public:
  BertModel(const WeightLoader& w, const BertConfig& c, std::optional<bool> pooler,
            bool roberta_positions = false);
  BaseOutput forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const override;
  at::Tensor word_embeddings() const override { return embeddings_->word_embeddings->weight; }
  bool has_pooler() const override { return pooler_ != nullptr; }

 private:
  std::shared_ptr<BertEmbeddings> embeddings_;
  std::shared_ptr<BertEncoder> encoder_;
  std::shared_ptr<BertPooler> pooler_;
};

// BERT's parts for the generic builder: BertModel, BertOnlyMLMHead, the pooled classifier.
FamilyParts bert_parts(const ModelConfig& config, const BuildOptions& options);

}  // namespace hfjit::models
