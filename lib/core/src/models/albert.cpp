#include "hfjit/models/albert.h"

#include "hfjit/error.h"

namespace hfjit::models {

AlbertConfig AlbertConfig::from(const ModelConfig& config) {
  BertConfig defaults;
  defaults.vocab_size = 30000;
  defaults.hidden_size = 4096;
  defaults.num_attention_heads = 64;
  defaults.intermediate_size = 16384;
  defaults.hidden_act = Activation::GeluNew;
  AlbertConfig c;
  c.bert = BertConfig::from(config, defaults);
  c.embedding_size = config.get_int("embedding_size", c.embedding_size);
  c.num_hidden_groups = config.get_int("num_hidden_groups", c.num_hidden_groups);
  c.inner_group_num = config.get_int("inner_group_num", c.inner_group_num);
  if (c.num_hidden_groups <= 0 || c.num_hidden_groups > c.bert.num_hidden_layers)
    throw Error(context(config.path,
                        "\"num_hidden_groups\" should be between 1 and "
                        "\"num_hidden_layers\""));
  return c;
}

AlbertAttention::AlbertAttention(const WeightLoader& w, const AlbertConfig& c)
    : heads_(c.bert.num_attention_heads) {
  const int64_t h = c.bert.hidden_size;
  query_ = add<Linear>(*this, "query", w.sub("query"), h, h);
  key_ = add<Linear>(*this, "key", w.sub("key"), h, h);
  value_ = add<Linear>(*this, "value", w.sub("value"), h, h);
  dense_ = add<Linear>(*this, "dense", w.sub("dense"), h, h);
  layer_norm_ = add<LayerNorm>(*this, "LayerNorm", w.sub("LayerNorm"), h, c.bert.layer_norm_eps);
}

at::Tensor AlbertAttention::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  at::Tensor q = split_heads(query_->forward(hidden), heads_);
  at::Tensor k = split_heads(key_->forward(hidden), heads_);
  at::Tensor v = split_heads(value_->forward(hidden), heads_);
  at::Tensor context = merge_heads(bert_attention(q, k, v, mask));
  return layer_norm_->forward(hidden + dense_->forward(context));
}

AlbertLayer::AlbertLayer(const WeightLoader& w, const AlbertConfig& c) : act_(c.bert.hidden_act) {
  const int64_t h = c.bert.hidden_size;
  full_layer_layer_norm_ = add<LayerNorm>(*this, "full_layer_layer_norm",
                                          w.sub("full_layer_layer_norm"), h, c.bert.layer_norm_eps);
  attention_ = add<AlbertAttention>(*this, "attention", w.sub("attention"), c);
  ffn_ = add<Linear>(*this, "ffn", w.sub("ffn"), h, c.bert.intermediate_size);
  ffn_output_ = add<Linear>(*this, "ffn_output", w.sub("ffn_output"), c.bert.intermediate_size, h);
}

at::Tensor AlbertLayer::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  at::Tensor attention = attention_->forward(hidden, mask);
  at::Tensor ffn = ffn_output_->forward(activate(act_, ffn_->forward(attention)));
  return full_layer_layer_norm_->forward(ffn + attention);
}

AlbertLayerGroup::AlbertLayerGroup(const WeightLoader& w, const AlbertConfig& c)
    : albert_layers_(*this, "albert_layers") {
  for (int64_t i = 0; i < c.inner_group_num; ++i)
    albert_layers_.push_back(std::make_shared<AlbertLayer>(w.sub("albert_layers").sub(i), c));
}

at::Tensor AlbertLayerGroup::forward(at::Tensor hidden, const at::Tensor& mask,
                                     std::vector<at::Tensor>* hidden_states) const {
  for (size_t i = 0; i < albert_layers_.size(); ++i) {
    hidden = albert_layers_[i].forward(hidden, mask);
    if (hidden_states) hidden_states->push_back(hidden);
  }
  return hidden;
}

AlbertTransformer::AlbertTransformer(const WeightLoader& w, const AlbertConfig& c)
    : albert_layer_groups_(*this, "albert_layer_groups"),
      num_hidden_layers_(c.bert.num_hidden_layers),
      num_hidden_groups_(c.num_hidden_groups) {
  embedding_hidden_mapping_in_ =
      add<Linear>(*this, "embedding_hidden_mapping_in", w.sub("embedding_hidden_mapping_in"),
                  c.embedding_size, c.bert.hidden_size);
  for (int64_t g = 0; g < c.num_hidden_groups; ++g)
    albert_layer_groups_.push_back(
        std::make_shared<AlbertLayerGroup>(w.sub("albert_layer_groups").sub(g), c));
}

at::Tensor AlbertTransformer::forward(const at::Tensor& embeddings, const at::Tensor& mask,
                                      std::vector<at::Tensor>* hidden) const {
  at::Tensor h = embedding_hidden_mapping_in_->forward(embeddings);
  if (hidden) hidden->push_back(h);
  const double layers_per_group =
      static_cast<double>(num_hidden_layers_) / static_cast<double>(num_hidden_groups_);
  for (int64_t i = 0; i < num_hidden_layers_; ++i) {
    const auto group = static_cast<size_t>(static_cast<double>(i) / layers_per_group);
    h = albert_layer_groups_[group].forward(h, mask, hidden);
  }
  return h;
}

AlbertModel::AlbertModel(const WeightLoader& w, const AlbertConfig& c, std::optional<bool> pooler) {
  embeddings_ = add<BertEmbeddings>(*this, "embeddings", w.sub("embeddings"), c.bert,
                                    c.embedding_size, false);
  encoder_ = add<AlbertTransformer>(*this, "encoder", w.sub("encoder"), c);
  if (pooler.value_or(w.contains("pooler.weight")))
    pooler_ = add<Linear>(*this, "pooler", w.sub("pooler"), c.bert.hidden_size, c.bert.hidden_size);
  else
    w.skip("pooler");
}

AlbertModel::Output AlbertModel::forward(const ModelInputs& in,
                                         std::vector<at::Tensor>* hidden) const {
  at::Tensor token_type_ids =
      in.token_type_ids.defined() ? in.token_type_ids : at::zeros_like(in.input_ids);
  at::Tensor embeddings = embeddings_->forward(in.input_ids, token_type_ids);
  at::Tensor mask = extended_attention_mask(in.attention_mask, embeddings.scalar_type());
  Output out;
  out.last_hidden_state = encoder_->forward(embeddings, mask, hidden);
  if (pooler_) out.pooler_output = at::tanh(pooler_->forward(out.last_hidden_state.select(1, 0)));
  return out;
}

AlbertBase::AlbertBase(const WeightLoader& w, const AlbertConfig& c, bool hidden) : Model(hidden) {
  model_ = std::make_shared<AlbertModel>(w.base_alone("albert"), c, std::nullopt);
  for (const auto& child : model_->named_children()) register_module(child.key(), child.value());
  std::vector<std::string> names = {"last_hidden_state"};
  if (model_->has_pooler()) names.push_back("pooler_output");
  set_output_names(names, c.bert.num_hidden_layers * c.inner_group_num + 1);
}

std::vector<at::Tensor> AlbertBase::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  AlbertModel::Output out = model_->forward(in, hidden_states(hidden));
  std::vector<at::Tensor> outputs = {out.last_hidden_state};
  if (out.pooler_output.defined()) outputs.push_back(out.pooler_output);
  return finish_outputs(outputs, hidden);
}

AlbertMLMHead::AlbertMLMHead(const WeightLoader& w, const AlbertConfig& c,
                             const at::Tensor& embeddings)
    : act_(c.bert.hidden_act) {
  const int64_t e = c.embedding_size, vocab = c.bert.vocab_size;
  layer_norm_ = add<LayerNorm>(*this, "LayerNorm", w.sub("LayerNorm"), e, c.bert.layer_norm_eps);
  // "decoder.bias" is the same parameter as "bias" in transformers.
  bias_ = register_parameter("bias", w.first_of({"bias", "decoder.bias"}, {vocab}), false);
  dense_ = add<Linear>(*this, "dense", w.sub("dense"), c.bert.hidden_size, e);
  at::Tensor decoder =
      w.tied("decoder.weight", {vocab, e}, embeddings, "albert.embeddings.word_embeddings.weight",
             c.bert.tie_word_embeddings);
  decoder_ = add<Linear>(*this, "decoder", decoder, at::Tensor());
}

at::Tensor AlbertMLMHead::forward(const at::Tensor& hidden) const {
  at::Tensor x = layer_norm_->forward(activate(act_, dense_->forward(hidden)));
  return decoder_->forward(x, bias_);
}

AlbertForMaskedLM::AlbertForMaskedLM(const WeightLoader& w, const AlbertConfig& c, bool hidden)
    : Model(hidden) {
  albert_ = add<AlbertModel>(*this, "albert", w.base("albert"), c, false);
  predictions_ = add<AlbertMLMHead>(*this, "predictions", w.sub("predictions"), c,
                                    albert_->embeddings().word_embeddings->weight);
  set_output_names({"logits"}, c.bert.num_hidden_layers * c.inner_group_num + 1);
}

std::vector<at::Tensor> AlbertForMaskedLM::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = albert_->forward(in, hidden_states(hidden)).last_hidden_state;
  return finish_outputs({predictions_->forward(sequence)}, hidden);
}

AlbertForSequenceClassification::AlbertForSequenceClassification(const WeightLoader& w,
                                                                 const AlbertConfig& c, bool hidden)
    : Model(hidden) {
  albert_ = add<AlbertModel>(*this, "albert", w.base("albert"), c, true);
  classifier_ =
      add<Linear>(*this, "classifier", w.sub("classifier"), c.bert.hidden_size, c.bert.num_labels);
  set_output_names({"logits"}, c.bert.num_hidden_layers * c.inner_group_num + 1);
}

std::vector<at::Tensor> AlbertForSequenceClassification::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor pooled = albert_->forward(in, hidden_states(hidden)).pooler_output;
  return finish_outputs({classifier_->forward(pooled)}, hidden);
}

AlbertForTokenClassification::AlbertForTokenClassification(const WeightLoader& w,
                                                           const AlbertConfig& c, bool hidden)
    : Model(hidden) {
  albert_ = add<AlbertModel>(*this, "albert", w.base("albert"), c, false);
  classifier_ =
      add<Linear>(*this, "classifier", w.sub("classifier"), c.bert.hidden_size, c.bert.num_labels);
  set_output_names({"logits"}, c.bert.num_hidden_layers * c.inner_group_num + 1);
}

std::vector<at::Tensor> AlbertForTokenClassification::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = albert_->forward(in, hidden_states(hidden)).last_hidden_state;
  return finish_outputs({classifier_->forward(sequence)}, hidden);
}

AlbertForQuestionAnswering::AlbertForQuestionAnswering(const WeightLoader& w, const AlbertConfig& c,
                                                       bool hidden)
    : Model(hidden) {
  albert_ = add<AlbertModel>(*this, "albert", w.base("albert"), c, false);
  qa_outputs_ = add<Linear>(*this, "qa_outputs", w.sub("qa_outputs"), c.bert.hidden_size, 2);
  set_output_names({"start_logits", "end_logits"}, c.bert.num_hidden_layers * c.inner_group_num + 1);
}

std::vector<at::Tensor> AlbertForQuestionAnswering::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = albert_->forward(in, hidden_states(hidden)).last_hidden_state;
  return finish_outputs(split_span_logits(qa_outputs_->forward(sequence)), hidden);
}

std::shared_ptr<Model> make_albert(const std::string& task, const ModelConfig& config,
                                   const WeightLoader& w, const BuildOptions& options) {
  const AlbertConfig c = AlbertConfig::from(config);
  const bool hidden = options.output_hidden_states;
  if (task == "feature-extraction") return std::make_shared<AlbertBase>(w, c, hidden);
  if (task == "fill-mask") return std::make_shared<AlbertForMaskedLM>(w, c, hidden);
  if (task == "text-classification")
    return std::make_shared<AlbertForSequenceClassification>(w, c, hidden);
  if (task == "token-classification")
    return std::make_shared<AlbertForTokenClassification>(w, c, hidden);
  if (task == "question-answering")
    return std::make_shared<AlbertForQuestionAnswering>(w, c, hidden);
  throw Error("albert has no task \"" + task + "\"");
}

}  // namespace hfjit::models
