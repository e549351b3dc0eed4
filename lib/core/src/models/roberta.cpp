#include "hfjit/models/roberta.h"

#include "hfjit/error.h"

namespace hfjit::models {

BertConfig roberta_config(const ModelConfig& config) {
  BertConfig defaults;
  defaults.vocab_size = 50265;
  defaults.pad_token_id = 1;
  return BertConfig::from(config, defaults);
}

RobertaLMHead::RobertaLMHead(const WeightLoader& w, const BertConfig& c,
                             const at::Tensor& embeddings) {
  dense_ = add<Linear>(*this, "dense", w.sub("dense"), c.hidden_size, c.hidden_size);
  layer_norm_ =
      add<LayerNorm>(*this, "layer_norm", w.sub("layer_norm"), c.hidden_size, c.layer_norm_eps);
  at::Tensor decoder = w.tied("decoder.weight", {c.vocab_size, c.hidden_size}, embeddings,
                              "roberta.embeddings.word_embeddings.weight", c.tie_word_embeddings);
  decoder_ = add<Linear>(*this, "decoder", decoder, at::Tensor());
  // "decoder.bias" is the same parameter as "bias" in transformers.
  bias_ = register_parameter("bias", w.first_of({"bias", "decoder.bias"}, {c.vocab_size}), false);
}

at::Tensor RobertaLMHead::forward(const at::Tensor& hidden) const {
  at::Tensor x = activate(Activation::Gelu, dense_->forward(hidden));
  return decoder_->forward(layer_norm_->forward(x), bias_);
}

RobertaClassificationHead::RobertaClassificationHead(const WeightLoader& w, const BertConfig& c) {
  dense_ = add<Linear>(*this, "dense", w.sub("dense"), c.hidden_size, c.hidden_size);
  out_proj_ = add<Linear>(*this, "out_proj", w.sub("out_proj"), c.hidden_size, c.num_labels);
}

at::Tensor RobertaClassificationHead::forward(const at::Tensor& hidden) const {
  return out_proj_->forward(at::tanh(dense_->forward(hidden.select(1, 0))));
}

namespace {

std::shared_ptr<BertModel> add_roberta(torch::nn::Module& parent, const WeightLoader& w,
                                       const BertConfig& c) {
  // transformers builds every RoBERTa head with add_pooling_layer=False.
  return add<BertModel>(parent, "roberta", w.base("roberta"), c, false, true);
}

}  // namespace

RobertaForMaskedLM::RobertaForMaskedLM(const WeightLoader& w, const BertConfig& c, bool hidden)
    : Model(hidden) {
  roberta_ = add_roberta(*this, w, c);
  lm_head_ = add<RobertaLMHead>(*this, "lm_head", w.sub("lm_head"), c,
                                roberta_->embeddings().word_embeddings->weight);
  set_output_names({"logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> RobertaForMaskedLM::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = roberta_->forward(in, hidden_states(hidden)).last_hidden_state;
  return finish_outputs({lm_head_->forward(sequence)}, hidden);
}

RobertaForSequenceClassification::RobertaForSequenceClassification(const WeightLoader& w,
                                                                   const BertConfig& c, bool hidden)
    : Model(hidden) {
  roberta_ = add_roberta(*this, w, c);
  classifier_ = add<RobertaClassificationHead>(*this, "classifier", w.sub("classifier"), c);
  set_output_names({"logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> RobertaForSequenceClassification::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = roberta_->forward(in, hidden_states(hidden)).last_hidden_state;
  return finish_outputs({classifier_->forward(sequence)}, hidden);
}

RobertaForTokenClassification::RobertaForTokenClassification(const WeightLoader& w,
                                                             const BertConfig& c, bool hidden)
    : Model(hidden) {
  roberta_ = add_roberta(*this, w, c);
  classifier_ = add<Linear>(*this, "classifier", w.sub("classifier"), c.hidden_size, c.num_labels);
  set_output_names({"logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> RobertaForTokenClassification::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = roberta_->forward(in, hidden_states(hidden)).last_hidden_state;
  return finish_outputs({classifier_->forward(sequence)}, hidden);
}

RobertaForQuestionAnswering::RobertaForQuestionAnswering(const WeightLoader& w, const BertConfig& c,
                                                         bool hidden)
    : Model(hidden) {
  roberta_ = add_roberta(*this, w, c);
  qa_outputs_ = add<Linear>(*this, "qa_outputs", w.sub("qa_outputs"), c.hidden_size, 2);
  set_output_names({"start_logits", "end_logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> RobertaForQuestionAnswering::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = roberta_->forward(in, hidden_states(hidden)).last_hidden_state;
  return finish_outputs(split_span_logits(qa_outputs_->forward(sequence)), hidden);
}

std::shared_ptr<Model> make_roberta(const std::string& task, const ModelConfig& config,
                                    const WeightLoader& w, const BuildOptions& options) {
  const BertConfig c = roberta_config(config);
  const bool hidden = options.output_hidden_states;
  if (task == "feature-extraction")
    return std::make_shared<BertBase>(w, c, hidden, "roberta", true);
  if (task == "fill-mask") return std::make_shared<RobertaForMaskedLM>(w, c, hidden);
  if (task == "text-classification")
    return std::make_shared<RobertaForSequenceClassification>(w, c, hidden);
  if (task == "token-classification")
    return std::make_shared<RobertaForTokenClassification>(w, c, hidden);
  if (task == "question-answering")
    return std::make_shared<RobertaForQuestionAnswering>(w, c, hidden);
  throw Error("roberta has no task \"" + task + "\"");
}

}  // namespace hfjit::models
