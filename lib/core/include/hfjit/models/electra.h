#pragma once
// ELECTRA, mirroring transformers' models/electra/modeling_electra.py: BERT's
// embeddings at embedding_size (projected to hidden_size by
// embeddings_project when they differ), BERT's encoder, no pooler, and the
// generator (masked LM) and discriminator (replaced-token detection) heads.

#include <memory>
#include <string>
#include <vector>

#include "hfjit/models/bert.h"

namespace hfjit::models {

// ElectraConfig: BertConfig's fields with ELECTRA's defaults, embedding_size included.
BertConfig electra_config(const ModelConfig& config);

// Mirrors ElectraModel: embeddings, embeddings_project (when embedding_size !=
// hidden_size), encoder.
class ElectraModel : public torch::nn::Module {
 public:
  ElectraModel(const WeightLoader& w, const BertConfig& c);
  // last_hidden_state; appends the encoder's input and each layer's output to `hidden`.
  at::Tensor forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const;
  const BertEmbeddings& embeddings() const { return *embeddings_; }

 private:
  std::shared_ptr<BertEmbeddings> embeddings_;  // ElectraEmbeddings has BertEmbeddings' layout
  std::shared_ptr<Linear> embeddings_project_;
  std::shared_ptr<BertEncoder> encoder_;
};

// ElectraModel as a whole model: last_hidden_state.
class ElectraBase : public Model {
 public:
  ElectraBase(const WeightLoader& w, const BertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<ElectraModel> model_;
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

// Mirrors ElectraGeneratorPredictions: LayerNorm(gelu(dense(x))), hidden -> embedding_size.
class ElectraGeneratorPredictions : public torch::nn::Module {
 public:
  ElectraGeneratorPredictions(const WeightLoader& w, const BertConfig& c);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<LayerNorm> layer_norm_;
  std::shared_ptr<Linear> dense_;
};

// Mirrors ElectraClassificationHead: out_proj(gelu(dense(hidden[:, 0]))).
class ElectraClassificationHead : public torch::nn::Module {
 public:
  ElectraClassificationHead(const WeightLoader& w, const BertConfig& c);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<Linear> dense_, out_proj_;
};

// Mirrors ElectraForPreTraining (the discriminator): logits [batch, length].
class ElectraForPreTraining : public Model {
 public:
  ElectraForPreTraining(const WeightLoader& w, const BertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<ElectraModel> electra_;
  std::shared_ptr<ElectraDiscriminatorPredictions> discriminator_predictions_;
};

// Mirrors ElectraForMaskedLM (the generator): logits [batch, length, vocab].
class ElectraForMaskedLM : public Model {
 public:
  ElectraForMaskedLM(const WeightLoader& w, const BertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<ElectraModel> electra_;
  std::shared_ptr<ElectraGeneratorPredictions> generator_predictions_;
  std::shared_ptr<Linear> generator_lm_head_;
};

// Mirrors ElectraForSequenceClassification: logits [batch, num_labels].
class ElectraForSequenceClassification : public Model {
 public:
  ElectraForSequenceClassification(const WeightLoader& w, const BertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<ElectraModel> electra_;
  std::shared_ptr<ElectraClassificationHead> classifier_;
};

// Mirrors ElectraForTokenClassification: logits [batch, length, num_labels].
class ElectraForTokenClassification : public Model {
 public:
  ElectraForTokenClassification(const WeightLoader& w, const BertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<ElectraModel> electra_;
  std::shared_ptr<Linear> classifier_;
};

// Mirrors ElectraForQuestionAnswering: start_logits, end_logits [batch, length].
class ElectraForQuestionAnswering : public Model {
 public:
  ElectraForQuestionAnswering(const WeightLoader& w, const BertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<ElectraModel> electra_;
  std::shared_ptr<Linear> qa_outputs_;
};

// The ELECTRA model for a task (see registry.h), loaded through `w`.
std::shared_ptr<Model> make_electra(const std::string& task, const ModelConfig& config,
                                    const WeightLoader& w, const BuildOptions& options);

}  // namespace hfjit::models
