#include "hfjit/models/electra.h"

#include "hfjit/error.h"

namespace hfjit::models {

BertConfig electra_config(const ModelConfig& config) {
  BertConfig defaults;
  defaults.hidden_size = 256;
  defaults.num_attention_heads = 4;
  defaults.intermediate_size = 1024;
  BertConfig c = BertConfig::from(config, defaults);
  c.embedding_size = config.get_int("embedding_size", 128);
  return c;
}

ElectraModel::ElectraModel(const WeightLoader& w, const BertConfig& c) {
  embeddings_ =
      add<BertEmbeddings>(*this, "embeddings", w.sub("embeddings"), c, c.embedding_size, false);
  if (c.embedding_size != c.hidden_size)
    embeddings_project_ = add<Linear>(*this, "embeddings_project", w.sub("embeddings_project"),
                                      c.embedding_size, c.hidden_size);
  encoder_ = add<BertEncoder>(*this, "encoder", w.sub("encoder"), c);
}

at::Tensor ElectraModel::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  at::Tensor token_type_ids =
      in.token_type_ids.defined() ? in.token_type_ids : at::zeros_like(in.input_ids);
  at::Tensor x = embeddings_->forward(in.input_ids, token_type_ids);
  at::Tensor mask = extended_attention_mask(in.attention_mask, x.scalar_type());
  if (embeddings_project_) x = embeddings_project_->forward(x);
  return encoder_->forward(x, mask, hidden);
}

ElectraBase::ElectraBase(const WeightLoader& w, const BertConfig& c, bool hidden) : Model(hidden) {
  model_ = std::make_shared<ElectraModel>(w.base_alone("electra"), c);
  for (const auto& child : model_->named_children()) register_module(child.key(), child.value());
  set_output_names({"last_hidden_state"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> ElectraBase::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  return finish_outputs({model_->forward(in, hidden_states(hidden))}, hidden);
}

ElectraDiscriminatorPredictions::ElectraDiscriminatorPredictions(const WeightLoader& w,
                                                                 const BertConfig& c)
    : act_(c.hidden_act) {
  dense_ = add<Linear>(*this, "dense", w.sub("dense"), c.hidden_size, c.hidden_size);
  dense_prediction_ =
      add<Linear>(*this, "dense_prediction", w.sub("dense_prediction"), c.hidden_size, 1);
}

at::Tensor ElectraDiscriminatorPredictions::forward(const at::Tensor& hidden) const {
  return dense_prediction_->forward(activate(act_, dense_->forward(hidden))).squeeze(-1);
}

ElectraGeneratorPredictions::ElectraGeneratorPredictions(const WeightLoader& w,
                                                         const BertConfig& c) {
  layer_norm_ =
      add<LayerNorm>(*this, "LayerNorm", w.sub("LayerNorm"), c.embedding_size, c.layer_norm_eps);
  dense_ = add<Linear>(*this, "dense", w.sub("dense"), c.hidden_size, c.embedding_size);
}

at::Tensor ElectraGeneratorPredictions::forward(const at::Tensor& hidden) const {
  return layer_norm_->forward(activate(Activation::Gelu, dense_->forward(hidden)));
}

ElectraClassificationHead::ElectraClassificationHead(const WeightLoader& w, const BertConfig& c) {
  dense_ = add<Linear>(*this, "dense", w.sub("dense"), c.hidden_size, c.hidden_size);
  out_proj_ = add<Linear>(*this, "out_proj", w.sub("out_proj"), c.hidden_size, c.num_labels);
}

at::Tensor ElectraClassificationHead::forward(const at::Tensor& hidden) const {
  at::Tensor x = activate(Activation::Gelu, dense_->forward(hidden.select(1, 0)));
  return out_proj_->forward(x);
}

ElectraForPreTraining::ElectraForPreTraining(const WeightLoader& w, const BertConfig& c,
                                             bool hidden)
    : Model(hidden) {
  electra_ = add<ElectraModel>(*this, "electra", w.base("electra"), c);
  discriminator_predictions_ = add<ElectraDiscriminatorPredictions>(
      *this, "discriminator_predictions", w.sub("discriminator_predictions"), c);
  set_output_names({"logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> ElectraForPreTraining::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = electra_->forward(in, hidden_states(hidden));
  return finish_outputs({discriminator_predictions_->forward(sequence)}, hidden);
}

ElectraForMaskedLM::ElectraForMaskedLM(const WeightLoader& w, const BertConfig& c, bool hidden)
    : Model(hidden) {
  electra_ = add<ElectraModel>(*this, "electra", w.base("electra"), c);
  generator_predictions_ = add<ElectraGeneratorPredictions>(*this, "generator_predictions",
                                                            w.sub("generator_predictions"), c);
  const WeightLoader head = w.sub("generator_lm_head");
  at::Tensor weight = head.tied("weight", {c.vocab_size, c.embedding_size},
                                electra_->embeddings().word_embeddings->weight,
                                "electra.embeddings.word_embeddings.weight", c.tie_word_embeddings);
  generator_lm_head_ =
      add<Linear>(*this, "generator_lm_head", weight, head.tensor("bias", {c.vocab_size}));
  set_output_names({"logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> ElectraForMaskedLM::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = electra_->forward(in, hidden_states(hidden));
  at::Tensor logits = generator_lm_head_->forward(generator_predictions_->forward(sequence));
  return finish_outputs({logits}, hidden);
}

ElectraForSequenceClassification::ElectraForSequenceClassification(const WeightLoader& w,
                                                                   const BertConfig& c, bool hidden)
    : Model(hidden) {
  electra_ = add<ElectraModel>(*this, "electra", w.base("electra"), c);
  classifier_ = add<ElectraClassificationHead>(*this, "classifier", w.sub("classifier"), c);
  set_output_names({"logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> ElectraForSequenceClassification::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = electra_->forward(in, hidden_states(hidden));
  return finish_outputs({classifier_->forward(sequence)}, hidden);
}

ElectraForTokenClassification::ElectraForTokenClassification(const WeightLoader& w,
                                                             const BertConfig& c, bool hidden)
    : Model(hidden) {
  electra_ = add<ElectraModel>(*this, "electra", w.base("electra"), c);
  classifier_ = add<Linear>(*this, "classifier", w.sub("classifier"), c.hidden_size, c.num_labels);
  set_output_names({"logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> ElectraForTokenClassification::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = electra_->forward(in, hidden_states(hidden));
  return finish_outputs({classifier_->forward(sequence)}, hidden);
}

ElectraForQuestionAnswering::ElectraForQuestionAnswering(const WeightLoader& w, const BertConfig& c,
                                                         bool hidden)
    : Model(hidden) {
  electra_ = add<ElectraModel>(*this, "electra", w.base("electra"), c);
  qa_outputs_ = add<Linear>(*this, "qa_outputs", w.sub("qa_outputs"), c.hidden_size, 2);
  set_output_names({"start_logits", "end_logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> ElectraForQuestionAnswering::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = electra_->forward(in, hidden_states(hidden));
  return finish_outputs(split_span_logits(qa_outputs_->forward(sequence)), hidden);
}

std::shared_ptr<Model> make_electra(const std::string& task, const ModelConfig& config,
                                    const WeightLoader& w, const BuildOptions& options) {
  const BertConfig c = electra_config(config);
  const bool hidden = options.output_hidden_states;
  if (task == "feature-extraction") return std::make_shared<ElectraBase>(w, c, hidden);
  if (task == "fill-mask") return std::make_shared<ElectraForMaskedLM>(w, c, hidden);
  if (task == "replaced-token-detection")
    return std::make_shared<ElectraForPreTraining>(w, c, hidden);
  if (task == "text-classification")
    return std::make_shared<ElectraForSequenceClassification>(w, c, hidden);
  if (task == "token-classification")
    return std::make_shared<ElectraForTokenClassification>(w, c, hidden);
  if (task == "question-answering")
    return std::make_shared<ElectraForQuestionAnswering>(w, c, hidden);
  throw Error("electra has no task \"" + task + "\"");
}

}  // namespace hfjit::models
