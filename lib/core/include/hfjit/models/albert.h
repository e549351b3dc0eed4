#pragma once
// ALBERT, mirroring transformers' models/albert/modeling_albert.py (eager
// attention): factorised embeddings (embedding_size, mapped in to hidden_size)
// and layers shared across num_hidden_groups groups of inner_group_num layers.

#include <memory>
#include <string>
#include <vector>

#include "hfjit/models/bert.h"

namespace hfjit::models {

// AlbertConfig: the fields BERT shares (with ALBERT's defaults) plus its own.
struct AlbertConfig {
  BertConfig bert;  // vocab, hidden, heads, intermediate, hidden_act (gelu_new), ...
  int64_t embedding_size = 128;
  int64_t num_hidden_groups = 1;
  int64_t inner_group_num = 1;

  static AlbertConfig from(const ModelConfig& config);
};

// Mirrors AlbertAttention: query, key, value, dense, LayerNorm(x + dense(context)).
class AlbertAttention : public torch::nn::Module {
 public:
  AlbertAttention(const WeightLoader& w, const AlbertConfig& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& mask) const;

 private:
  std::shared_ptr<Linear> query_, key_, value_, dense_;
  std::shared_ptr<LayerNorm> layer_norm_;
  int64_t heads_;
};

// Mirrors AlbertLayer: attention, ffn, ffn_output, full_layer_layer_norm.
class AlbertLayer : public torch::nn::Module {
 public:
  AlbertLayer(const WeightLoader& w, const AlbertConfig& c);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& mask) const;

 private:
  std::shared_ptr<LayerNorm> full_layer_layer_norm_;
  std::shared_ptr<AlbertAttention> attention_;
  std::shared_ptr<Linear> ffn_, ffn_output_;
  Activation act_;
};

// Mirrors AlbertLayerGroup: inner_group_num AlbertLayers under "albert_layers".
class AlbertLayerGroup : public torch::nn::Module {
 public:
  AlbertLayerGroup(const WeightLoader& w, const AlbertConfig& c);
  // Appends each AlbertLayer's output to `hidden_states` (transformers 5
  // records every inner layer; 4.x recorded each group pass).
  at::Tensor forward(at::Tensor hidden, const at::Tensor& mask, std::vector<at::Tensor>* hidden_states) const;

 private:
  ModuleList<AlbertLayer> albert_layers_;
};

// Mirrors AlbertTransformer: embedding_hidden_mapping_in, then num_hidden_layers
// passes, pass i through group int(i / (num_hidden_layers / num_hidden_groups)).
class AlbertTransformer : public torch::nn::Module {
 public:
  AlbertTransformer(const WeightLoader& w, const AlbertConfig& c);
  // Appends the mapped-in embeddings and each inner layer's output to `hidden`.
  at::Tensor forward(const at::Tensor& embeddings, const at::Tensor& mask,
                     std::vector<at::Tensor>* hidden) const;

 private:
  std::shared_ptr<Linear> embedding_hidden_mapping_in_;
  ModuleList<AlbertLayerGroup> albert_layer_groups_;
  int64_t num_hidden_layers_, num_hidden_groups_;
};

// Mirrors AlbertModel: embeddings, encoder, and the pooler (a Linear named
// "pooler", then tanh) when `pooler` is set or, unset, when the checkpoint has it.
class AlbertModel : public torch::nn::Module {
 public:
  AlbertModel(const WeightLoader& w, const AlbertConfig& c, std::optional<bool> pooler);
  struct Output {
    at::Tensor last_hidden_state;
    at::Tensor pooler_output;  // undefined without a pooler
  };
  Output forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const;
  bool has_pooler() const { return pooler_ != nullptr; }
  const BertEmbeddings& embeddings() const { return *embeddings_; }

 private:
  std::shared_ptr<BertEmbeddings> embeddings_;  // AlbertEmbeddings has BertEmbeddings' layout
  std::shared_ptr<AlbertTransformer> encoder_;
  std::shared_ptr<Linear> pooler_;
};

// AlbertModel as a whole model: last_hidden_state[, pooler_output].
class AlbertBase : public Model {
 public:
  AlbertBase(const WeightLoader& w, const AlbertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<AlbertModel> model_;
};

// Mirrors AlbertMLMHead: dense (hidden -> embedding), act, LayerNorm, decoder + bias.
class AlbertMLMHead : public torch::nn::Module {
 public:
  AlbertMLMHead(const WeightLoader& w, const AlbertConfig& c, const at::Tensor& embeddings);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<LayerNorm> layer_norm_;
  std::shared_ptr<Linear> dense_, decoder_;
  at::Tensor bias_;
  Activation act_;
};

// Mirrors AlbertForMaskedLM: logits [batch, length, vocab].
class AlbertForMaskedLM : public Model {
 public:
  AlbertForMaskedLM(const WeightLoader& w, const AlbertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<AlbertModel> albert_;
  std::shared_ptr<AlbertMLMHead> predictions_;
};

// Mirrors AlbertForSequenceClassification: logits [batch, num_labels] from the pooler.
class AlbertForSequenceClassification : public Model {
 public:
  AlbertForSequenceClassification(const WeightLoader& w, const AlbertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<AlbertModel> albert_;
  std::shared_ptr<Linear> classifier_;
};

// Mirrors AlbertForTokenClassification: logits [batch, length, num_labels].
class AlbertForTokenClassification : public Model {
 public:
  AlbertForTokenClassification(const WeightLoader& w, const AlbertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<AlbertModel> albert_;
  std::shared_ptr<Linear> classifier_;
};

// Mirrors AlbertForQuestionAnswering: start_logits, end_logits [batch, length].
class AlbertForQuestionAnswering : public Model {
 public:
  AlbertForQuestionAnswering(const WeightLoader& w, const AlbertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<AlbertModel> albert_;
  std::shared_ptr<Linear> qa_outputs_;
};

// The ALBERT model for a task (see registry.h), loaded through `w`.
std::shared_ptr<Model> make_albert(const std::string& task, const ModelConfig& config,
                                   const WeightLoader& w, const BuildOptions& options);

}  // namespace hfjit::models
