#include "hfjit/models/electra.h"

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
  Scope s(*this, w);
  embeddings_ = s.add<BertEmbeddings>("embeddings", c, c.embedding_size, false);
  if (c.embedding_size != c.hidden_size)
    embeddings_project_ = s.add<Linear>("embeddings_project", c.embedding_size, c.hidden_size);
  encoder_ = s.add<BertEncoder>("encoder", c);
}

BaseOutput ElectraModel::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  at::Tensor token_type_ids =
      in.token_type_ids.defined() ? in.token_type_ids : at::zeros_like(in.input_ids);
  at::Tensor x = embeddings_->forward(in.input_ids, token_type_ids);
  at::Tensor mask = extended_attention_mask(in.attention_mask, x.scalar_type());
  if (embeddings_project_) x = embeddings_project_->forward(x);
  BaseOutput out;
  out.last_hidden_state = encoder_->forward(x, mask, hidden);
  return out;
}

ElectraDiscriminatorPredictions::ElectraDiscriminatorPredictions(const WeightLoader& w,
                                                                 const BertConfig& c)
    : act_(c.hidden_act) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", c.hidden_size, c.hidden_size);
  dense_prediction_ = s.add<Linear>("dense_prediction", c.hidden_size, 1);
}

at::Tensor ElectraDiscriminatorPredictions::forward(const at::Tensor& hidden) const {
  return dense_prediction_->forward(activate(act_, dense_->forward(hidden))).squeeze(-1);
}

FamilyParts electra_parts(const ModelConfig& config, const BuildOptions&) {
  const BertConfig c = electra_config(config);
  FamilyParts p;
  p.hidden_size = c.hidden_size;
  p.num_labels = c.num_labels;
  p.num_hidden_states = c.num_hidden_layers + 1;
  p.base = [c](const WeightLoader& w, std::optional<bool>) {
    return std::make_shared<ElectraModel>(w, c);
  };
  // The generator: ElectraGeneratorPredictions (dense, gelu, LayerNorm at
  // embedding_size), then generator_lm_head with its own bias.
  LMHeadLayout lm;
  lm.dense = "generator_predictions.dense";
  lm.norm = "generator_predictions.LayerNorm";
  lm.decoder = "generator_lm_head";
  lm.bias = LMHeadLayout::Bias::Own;
  lm.classes = {{"generator_predictions", "ElectraGeneratorPredictions"}};
  lm.act = Activation::Gelu;
  lm.dim = c.embedding_size;
  lm.eps = c.layer_norm_eps;
  lm.vocab_size = c.vocab_size;
  lm.tie = c.tie_word_embeddings;
  p.heads["fill-mask"] = {
      [lm](const HeadContext& h) { return std::make_unique<MaskedLMHead>(h, lm); }};
  p.heads["replaced-token-detection"] = {[c](const HeadContext& h) {
    return std::make_unique<ModuleHead<ElectraDiscriminatorPredictions>>(
        h, "discriminator_predictions", c);
  }};
  p.heads["text-classification"] = {[](const HeadContext& h) {
    return std::make_unique<ModuleHead<ClassificationHead>>(
        h, "classifier", "ElectraClassificationHead", h.hidden_size, h.num_labels,
        Activation::Gelu);
  }};
  return p;
}

}  // namespace hfjit::models
