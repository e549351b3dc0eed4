#include "hfjit/models/roberta.h"

#include "hfjit/families.h"

namespace hfjit::models {

std::string roberta_class_prefix(const std::string& model_type) {
  if (const Family* f = find_family(model_type))
    for (const Alias& a : f->aliases)
      if (a.model_type == model_type) return a.class_prefix;
  return "Roberta";
}

BertConfig roberta_config(const ModelConfig& config) {
  BertConfig defaults;
  // RobertaConfig's vocab_size; XLMRobertaConfig and CamembertConfig keep BERT's 30522.
  if (roberta_class_prefix(config.model_type) == "Roberta") defaults.vocab_size = 50265;
  defaults.pad_token_id = 1;
  return BertConfig::from(config, defaults);
}

FamilyParts roberta_parts(const ModelConfig& config, const BuildOptions&) {
  const BertConfig c = roberta_config(config);
  const std::string prefix = roberta_class_prefix(config.model_type);
  FamilyParts p;
  p.hidden_size = c.hidden_size;
  p.num_labels = c.num_labels;
  p.num_hidden_states = c.num_hidden_layers + 1;
  // transformers builds every RoBERTa head with add_pooling_layer=False.
  p.base = [c](const WeightLoader& w, std::optional<bool> pooler) {
    return std::make_shared<BertModel>(w, c, pooler, /*roberta_positions=*/true);
  };
  LMHeadLayout lm;  // RobertaLMHead: dense, gelu, layer_norm, decoder + bias
  lm.dense = "lm_head.dense";
  lm.norm = "lm_head.layer_norm";
  lm.decoder = "lm_head.decoder";
  lm.classes = {{"lm_head", prefix + "LMHead"}};
  lm.act = Activation::Gelu;
  lm.eps = c.layer_norm_eps;
  lm.vocab_size = c.vocab_size;
  lm.tie = c.tie_word_embeddings;
  p.heads["fill-mask"] = {
      [lm](const HeadContext& h) { return std::make_unique<MaskedLMHead>(h, lm); }};
  p.heads["text-classification"] = {[prefix](const HeadContext& h) {
    return std::make_unique<ModuleHead<ClassificationHead>>(
        h, "classifier", prefix + "ClassificationHead", h.hidden_size, h.num_labels,
        Activation::Tanh);
  }};
  return p;
}

}  // namespace hfjit::models
