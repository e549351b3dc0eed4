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
  Scope s(*this, w);
  const int64_t h = c.bert.hidden_size;
  query_ = s.add<Linear>("query", h, h);
  key_ = s.add<Linear>("key", h, h);
  value_ = s.add<Linear>("value", h, h);
  dense_ = s.add<Linear>("dense", h, h);
  layer_norm_ = s.add<LayerNorm>("LayerNorm", h, c.bert.layer_norm_eps);
}

at::Tensor AlbertAttention::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  at::Tensor q = split_heads(query_->forward(hidden), heads_);
  at::Tensor k = split_heads(key_->forward(hidden), heads_);
  at::Tensor v = split_heads(value_->forward(hidden), heads_);
  at::Tensor context = merge_heads(bert_attention(q, k, v, mask));
  return layer_norm_->forward(hidden + dense_->forward(context));
}

AlbertLayer::AlbertLayer(const WeightLoader& w, const AlbertConfig& c) : act_(c.bert.hidden_act) {
  Scope s(*this, w);
  const int64_t h = c.bert.hidden_size;
  full_layer_layer_norm_ = s.add<LayerNorm>("full_layer_layer_norm", h, c.bert.layer_norm_eps);
  attention_ = s.add<AlbertAttention>("attention", c);
  ffn_ = s.add<Linear>("ffn", h, c.bert.intermediate_size);
  ffn_output_ = s.add<Linear>("ffn_output", c.bert.intermediate_size, h);
}

at::Tensor AlbertLayer::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  at::Tensor attention = attention_->forward(hidden, mask);
  at::Tensor ffn = ffn_output_->forward(activate(act_, ffn_->forward(attention)));
  return full_layer_layer_norm_->forward(ffn + attention);
}

AlbertLayerGroup::AlbertLayerGroup(const WeightLoader& w, const AlbertConfig& c) {
  Scope s(*this, w);
  albert_layers_ = s.list<AlbertLayer>("albert_layers");
  for (int64_t i = 0; i < c.inner_group_num; ++i) albert_layers_.push(c);
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
    : num_hidden_layers_(c.bert.num_hidden_layers), num_hidden_groups_(c.num_hidden_groups) {
  Scope s(*this, w);
  embedding_hidden_mapping_in_ =
      s.add<Linear>("embedding_hidden_mapping_in", c.embedding_size, c.bert.hidden_size);
  albert_layer_groups_ = s.list<AlbertLayerGroup>("albert_layer_groups");
  for (int64_t g = 0; g < c.num_hidden_groups; ++g) albert_layer_groups_.push(c);
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
  Scope s(*this, w);
  embeddings_ = s.add<BertEmbeddings>("embeddings", c.bert, c.embedding_size, false);
  encoder_ = s.add<AlbertTransformer>("encoder", c);
  if (pooler.value_or(w.contains("pooler.weight")))
    pooler_ = s.add<Linear>("pooler", c.bert.hidden_size, c.bert.hidden_size);
  else
    w.skip("pooler");
}

BaseOutput AlbertModel::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  at::Tensor token_type_ids =
      in.token_type_ids.defined() ? in.token_type_ids : at::zeros_like(in.input_ids);
  at::Tensor embeddings = embeddings_->forward(in.input_ids, token_type_ids);
  at::Tensor mask = extended_attention_mask(in.attention_mask, embeddings.scalar_type());
  BaseOutput out;
  out.last_hidden_state = encoder_->forward(embeddings, mask, hidden);
  if (pooler_) out.pooler_output = at::tanh(pooler_->forward(out.last_hidden_state.select(1, 0)));
  return out;
}

FamilyParts albert_parts(const ModelConfig& config, const BuildOptions&) {
  const AlbertConfig c = AlbertConfig::from(config);
  FamilyParts p;
  p.hidden_size = c.bert.hidden_size;
  p.num_labels = c.bert.num_labels;
  p.num_hidden_states = c.bert.num_hidden_layers * c.inner_group_num + 1;
  p.base = [c](const WeightLoader& w, std::optional<bool> pooler) {
    return std::make_shared<AlbertModel>(w, c, pooler);
  };
  LMHeadLayout
      lm;  // AlbertMLMHead: dense (hidden -> embedding_size), act, LayerNorm, decoder + bias
  lm.dense = "predictions.dense";
  lm.norm = "predictions.LayerNorm";
  lm.decoder = "predictions.decoder";
  lm.classes = {{"predictions", "AlbertMLMHead"}};
  lm.act = c.bert.hidden_act;
  lm.dim = c.embedding_size;
  lm.eps = c.bert.layer_norm_eps;
  lm.vocab_size = c.bert.vocab_size;
  lm.tie = c.bert.tie_word_embeddings;
  p.heads["fill-mask"] = {
      [lm](const HeadContext& h) { return std::make_unique<MaskedLMHead>(h, lm); }};
  p.heads["text-classification"] = {
      [](const HeadContext& h) { return std::make_unique<PooledClassificationHead>(h); }, true};
  return p;
}

}  // namespace hfjit::models
