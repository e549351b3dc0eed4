#pragma once
// ELECTRA, mirroring transformers' models/electra/modeling_electra.py: BERT's
// embeddings at embedding_size (projected to hidden_size by
// embeddings_project when they differ), BERT's encoder, no pooler, and the
// generator (masked LM) and discriminator (replaced-token detection) heads.
// The other heads are the generic ones (heads.h).

#include <memory>
#include <vector>

#include "hfjit/config.h"
#include "hfjit/models/bert.h"

namespace hfjit::models {

// ElectraConfig: BertConfig's fields with ELECTRA's defaults, embedding_size included.
BertConfig electra_config(const ModelConfig& config);

// Mirrors ElectraModel: embeddings, embeddings_project (when embedding_size !=
// hidden_size), encoder.
class ElectraModel : public Backbone {
 public:
  ElectraModel(const WeightLoader& w, const BertConfig& c);
  BaseOutput forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const override;
  at::Tensor word_embeddings() const override { return embeddings_->word_embeddings->weight; }

 private:
  std::shared_ptr<BertEmbeddings> embeddings_;  // ElectraEmbeddings has BertEmbeddings' layout
  std::shared_ptr<Linear> embeddings_project_;  // null when embedding_size == hidden_size
  std::shared_ptr<BertEncoder> encoder_;
};

// Mirrors ElectraDiscriminatorPredictions: dense_prediction(act(dense(x))).squeeze(-1).
class ElectraDiscriminatorPredictions : public torch::nn::Module {
 public:
  ElectraDiscriminatorPredictions(const WeightLoader& w, const BertConfig& c);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<Linear> dense_, dense_prediction_;
  Activation act_;
};

// ELECTRA's parts for the generic builder (the family table's constructor).
FamilyParts electra_parts(const ModelConfig& config, const BuildOptions& options);

}  // namespace hfjit::models
