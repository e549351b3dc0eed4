#pragma once
// ALBERT, mirroring transformers' models/albert/modeling_albert.py (eager
// attention): factorised embeddings (embedding_size, mapped in to hidden_size)
// and layers shared across num_hidden_groups groups of inner_group_num layers.
// The heads are the generic ones (heads.h).

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
  at::Tensor forward(at::Tensor hidden, const at::Tensor& mask,
                     std::vector<at::Tensor>* hidden_states) const;

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
class AlbertModel : public Backbone {
 public:
  AlbertModel(const WeightLoader& w, const AlbertConfig& c, std::optional<bool> pooler);
  BaseOutput forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const override;
  at::Tensor word_embeddings() const override { return embeddings_->word_embeddings->weight; }
  bool has_pooler() const override { return pooler_ != nullptr; }

 private:
  std::shared_ptr<BertEmbeddings> embeddings_;  // AlbertEmbeddings has BertEmbeddings' layout
  std::shared_ptr<AlbertTransformer> encoder_;
  std::shared_ptr<Linear> pooler_;
};

// ALBERT's parts for the generic builder (the family table's constructor):
// AlbertModel, AlbertMLMHead ("predictions"), the pooled classifier.
FamilyParts albert_parts(const ModelConfig& config, const BuildOptions& options);

}  // namespace hfjit::models
