#pragma once
// RoBERTa, mirroring transformers' models/roberta/modeling_roberta.py.
// RobertaModel is BertModel with RobertaEmbeddings (positions counted from
// pad_token_id + 1 over non-padding tokens), so only the heads live here.

#include <memory>
#include <string>

#include "hfjit/models/bert.h"

namespace hfjit::models {

// RobertaConfig's defaults where they differ from BertConfig's.
BertConfig roberta_config(const ModelConfig& config);

// Mirrors RobertaLMHead: dense, erf GELU, layer_norm, decoder + bias.
class RobertaLMHead : public torch::nn::Module {
 public:
  RobertaLMHead(const WeightLoader& w, const BertConfig& c, const at::Tensor& embeddings);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<Linear> dense_, decoder_;
  std::shared_ptr<LayerNorm> layer_norm_;
  at::Tensor bias_;
};

// Mirrors RobertaClassificationHead: out_proj(tanh(dense(hidden[:, 0]))).
class RobertaClassificationHead : public torch::nn::Module {
 public:
  RobertaClassificationHead(const WeightLoader& w, const BertConfig& c);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<Linear> dense_, out_proj_;
};

// Mirrors RobertaForMaskedLM: logits [batch, length, vocab].
class RobertaForMaskedLM : public Model {
 public:
  RobertaForMaskedLM(const WeightLoader& w, const BertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<BertModel> roberta_;
  std::shared_ptr<RobertaLMHead> lm_head_;
};

// Mirrors RobertaForSequenceClassification: logits [batch, num_labels] from <s>.
class RobertaForSequenceClassification : public Model {
 public:
  RobertaForSequenceClassification(const WeightLoader& w, const BertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<BertModel> roberta_;
  std::shared_ptr<RobertaClassificationHead> classifier_;
};

// Mirrors RobertaForTokenClassification: logits [batch, length, num_labels].
class RobertaForTokenClassification : public Model {
 public:
  RobertaForTokenClassification(const WeightLoader& w, const BertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<BertModel> roberta_;
  std::shared_ptr<Linear> classifier_;
};

// Mirrors RobertaForQuestionAnswering: start_logits, end_logits [batch, length].
class RobertaForQuestionAnswering : public Model {
 public:
  RobertaForQuestionAnswering(const WeightLoader& w, const BertConfig& c, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<BertModel> roberta_;
  std::shared_ptr<Linear> qa_outputs_;
};

// The RoBERTa model for a task (see registry.h), loaded through `w`.
std::shared_ptr<Model> make_roberta(const std::string& task, const ModelConfig& config,
                                    const WeightLoader& w, const BuildOptions& options);

}  // namespace hfjit::models
