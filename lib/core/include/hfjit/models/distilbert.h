#pragma once
// DistilBERT, mirroring transformers' models/distilbert/modeling_distilbert.py
// (eager attention). No token types; optional sinusoidal position table.
// The heads are the generic ones (heads.h) but for the sequence classifier.

#include <memory>
#include <string>
#include <vector>

#include "hfjit/config.h"
#include "hfjit/models/heads.h"
#include "hfjit/models/layers.h"
#include "hfjit/models/model.h"
#include "hfjit/weights.h"

namespace hfjit::models {

// DistilBertConfig's fields (config.json names) with transformers' defaults.
struct DistilBertConfig {
  int64_t vocab_size = 30522;
  int64_t max_position_embeddings = 512;
  bool sinusoidal_pos_embds = false;
  int64_t n_layers = 6;
  int64_t n_heads = 12;
  int64_t dim = 768;
  int64_t hidden_dim = 3072;
  Activation activation = Activation::Gelu;
  int64_t pad_token_id = 0;
  bool tie_word_embeddings = true;
  int64_t num_labels = 2;

  static DistilBertConfig from(const ModelConfig& config);
};

// transformers' _create_sinusoidal_embeddings: [n_pos, dim], sin on even
// columns and cos on odd ones of pos / 10000^(2 (j / 2) / dim), computed in
// double precision and rounded to fp32 as numpy + torch.FloatTensor do.
at::Tensor sinusoidal_table(int64_t n_pos, int64_t dim);

// Mirrors distilbert's Embeddings: word + position, LayerNorm. With
// sinusoidal_pos_embds the position table is a buffer: the checkpoint's copy
// when it has one (transformers loads it), else sinusoidal_table().
class DistilBertEmbeddings : public torch::nn::Module {
 public:
  DistilBertEmbeddings(const WeightLoader& w, const DistilBertConfig& c);
  at::Tensor forward(const at::Tensor& input_ids) const;
  std::shared_ptr<Embedding> word_embeddings;

 private:
  std::shared_ptr<torch::nn::Module> position_embeddings_;
  at::Tensor position_table_;
  std::shared_ptr<LayerNorm> layer_norm_;
};

// Mirrors MultiHeadSelfAttention (eager): q_lin, k_lin, v_lin, out_lin.
class MultiHeadSelfAttention : public torch::nn::Module {
 public:
  MultiHeadSelfAttention(const WeightLoader& w, const DistilBertConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& attention_mask) const;

 private:
  std::shared_ptr<Linear> q_lin_, k_lin_, v_lin_, out_lin_;
  int64_t heads_;
};

// Mirrors FFN: lin2(act(lin1(x))).
class FFN : public torch::nn::Module {
 public:
  FFN(const WeightLoader& w, const DistilBertConfig& c);
  at::Tensor forward(const at::Tensor& x) const;

 private:
  std::shared_ptr<Linear> lin1_, lin2_;
  Activation act_;
};

// Mirrors TransformerBlock: attention, sa_layer_norm, ffn, output_layer_norm.
class TransformerBlock : public torch::nn::Module {
 public:
  TransformerBlock(const WeightLoader& w, const DistilBertConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& attention_mask) const;

 private:
  std::shared_ptr<MultiHeadSelfAttention> attention_;
  std::shared_ptr<LayerNorm> sa_layer_norm_, output_layer_norm_;
  std::shared_ptr<FFN> ffn_;
};

// Mirrors distilbert's Transformer: n_layers TransformerBlocks under "layer".
class DistilBertTransformer : public torch::nn::Module {
 public:
  DistilBertTransformer(const WeightLoader& w, const DistilBertConfig& c);
  // Appends the input and each layer's output to `hidden` when it is given.
  at::Tensor forward(at::Tensor x, const at::Tensor& attention_mask,
                     std::vector<at::Tensor>* hidden) const;

 private:
  ModuleList<TransformerBlock> layer_;
};

// Mirrors DistilBertModel: embeddings, transformer.
class DistilBertModel : public Backbone {
 public:
  DistilBertModel(const WeightLoader& w, const DistilBertConfig& c);
  BaseOutput forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const override;
  at::Tensor word_embeddings() const override { return embeddings_->word_embeddings->weight; }

 private:
  std::shared_ptr<DistilBertEmbeddings> embeddings_;
  std::shared_ptr<DistilBertTransformer> transformer_;
};

// DistilBertForSequenceClassification's head: classifier(relu(pre_classifier(hidden[:, 0]))).
class DistilBertClassificationHead : public Head {
 public:
  explicit DistilBertClassificationHead(const HeadContext& h);
  std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs& in) const override;

 private:
  std::shared_ptr<Linear> pre_classifier_, classifier_;
};

// DistilBERT's parts for the generic builder (the family table's constructor).
FamilyParts distilbert_parts(const ModelConfig& config, const BuildOptions& options);

}  // namespace hfjit::models
