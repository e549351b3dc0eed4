#include "hfjit/models/bert.h"

#include "hfjit/error.h"

namespace hfjit::models {

BertConfig BertConfig::from(const ModelConfig& config, const BertConfig& defaults) {
  BertConfig c = defaults;
  c.vocab_size = config.get_int("vocab_size", c.vocab_size);
  c.hidden_size = config.get_int("hidden_size", c.hidden_size);
  c.embedding_size = c.hidden_size;
  c.num_hidden_layers = config.get_int("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = config.get_int("num_attention_heads", c.num_attention_heads);
  c.intermediate_size = config.get_int("intermediate_size", c.intermediate_size);
  if (config.has("hidden_act"))
    c.hidden_act = parse_activation(config.get_string("hidden_act", ""), config, "hidden_act");
  c.max_position_embeddings = config.get_int("max_position_embeddings", c.max_position_embeddings);
  c.type_vocab_size = config.get_int("type_vocab_size", c.type_vocab_size);
  c.layer_norm_eps = config.get_double("layer_norm_eps", c.layer_norm_eps);
  c.pad_token_id = config.pad_token_id.value_or(c.pad_token_id);
  c.tie_word_embeddings = config.tie_word_embeddings.value_or(true);
  c.num_labels = models::num_labels(config);
  check_heads(config, c.hidden_size, c.num_attention_heads);
  const std::string positions = config.get_string("position_embedding_type", "absolute");
  if (positions != "absolute")
    throw Error(context(config.path, "\"position_embedding_type\" is \"" + positions +
                                         "\"; only \"absolute\" is supported"));
  if (config.get_bool("is_decoder", false) || config.get_bool("add_cross_attention", false))
    throw Error(context(config.path,
                        "decoder models (\"is_decoder\", \"add_cross_attention\") "
                        "are not supported; only encoders"));
  return c;
}

at::Tensor create_position_ids_from_input_ids(const at::Tensor& input_ids, int64_t padding_idx) {
  at::Tensor mask = input_ids.ne(padding_idx).to(at::kInt);
  at::Tensor incremental = at::cumsum(mask, 1).to(at::kInt) * mask;
  return incremental.to(at::kLong) + padding_idx;
}

BertEmbeddings::BertEmbeddings(const WeightLoader& w, const BertConfig& c, int64_t dim,
                               bool roberta_positions)
    : roberta_positions_(roberta_positions), padding_idx_(c.pad_token_id) {
  Scope s(*this, w);
  word_embeddings = s.add<Embedding>("word_embeddings", c.vocab_size, dim);
  position_embeddings_ = s.add<Embedding>("position_embeddings", c.max_position_embeddings, dim);
  token_type_embeddings_ = s.add<Embedding>("token_type_embeddings", c.type_vocab_size, dim);
  layer_norm_ = s.add<LayerNorm>("LayerNorm", dim, c.layer_norm_eps);
}

at::Tensor BertEmbeddings::forward(const at::Tensor& input_ids,
                                   const at::Tensor& token_type_ids) const {
  at::Tensor position_ids = roberta_positions_
                                ? create_position_ids_from_input_ids(input_ids, padding_idx_)
                                : arange_positions(input_ids);
  at::Tensor embeddings =
      word_embeddings->forward(input_ids) + token_type_embeddings_->forward(token_type_ids);
  embeddings = embeddings + position_embeddings_->forward(position_ids);
  return layer_norm_->forward(embeddings);
}

BertSelfAttention::BertSelfAttention(const WeightLoader& w, const BertConfig& c)
    : heads_(c.num_attention_heads) {
  Scope s(*this, w);
  const int64_t h = c.hidden_size;
  query_ = s.add<Linear>("query", h, h);
  key_ = s.add<Linear>("key", h, h);
  value_ = s.add<Linear>("value", h, h);
}

at::Tensor BertSelfAttention::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  at::Tensor q = query_->forward(hidden);
  at::Tensor k = split_heads(key_->forward(hidden), heads_);
  at::Tensor v = split_heads(value_->forward(hidden), heads_);
  return merge_heads(bert_attention(split_heads(q, heads_), k, v, mask));
}

BertSelfOutput::BertSelfOutput(const WeightLoader& w, const BertConfig& c, int64_t in) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", in, c.hidden_size);
  layer_norm_ = s.add<LayerNorm>("LayerNorm", c.hidden_size, c.layer_norm_eps);
}

at::Tensor BertSelfOutput::forward(const at::Tensor& hidden, const at::Tensor& residual) const {
  return layer_norm_->forward(dense_->forward(hidden) + residual);
}

BertAttention::BertAttention(const WeightLoader& w, const BertConfig& c) {
  Scope s(*this, w);
  self_ = s.add<BertSelfAttention>("self", c);
  output_ = s.add<BertSelfOutput>("output", c, c.hidden_size);
}

at::Tensor BertAttention::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  return output_->forward(self_->forward(hidden, mask), hidden);
}

BertIntermediate::BertIntermediate(const WeightLoader& w, const BertConfig& c)
    : act_(c.hidden_act) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", c.hidden_size, c.intermediate_size);
}

at::Tensor BertIntermediate::forward(const at::Tensor& hidden) const {
  return activate(act_, dense_->forward(hidden));
}

BertLayer::BertLayer(const WeightLoader& w, const BertConfig& c) {
  Scope s(*this, w);
  attention_ = s.add<BertAttention>("attention", c);
  intermediate_ = s.add<BertIntermediate>("intermediate", c);
  output_ = s.add<BertSelfOutput>("output", c, c.intermediate_size);
}

at::Tensor BertLayer::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  at::Tensor attention = attention_->forward(hidden, mask);
  return output_->forward(intermediate_->forward(attention), attention);
}

BertEncoder::BertEncoder(const WeightLoader& w, const BertConfig& c) {
  Scope s(*this, w);
  layer_ = s.list<BertLayer>("layer");
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer_.push(c);
}

at::Tensor BertEncoder::forward(at::Tensor hidden, const at::Tensor& mask,
                                std::vector<at::Tensor>* all_hidden) const {
  for (size_t i = 0; i < layer_.size(); ++i) {
    if (all_hidden) all_hidden->push_back(hidden);
    hidden = layer_[i].forward(hidden, mask);
  }
  if (all_hidden) all_hidden->push_back(hidden);
  return hidden;
}

BertPooler::BertPooler(const WeightLoader& w, const BertConfig& c) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", c.hidden_size, c.hidden_size);
}

at::Tensor BertPooler::forward(const at::Tensor& hidden) const {
  return at::tanh(dense_->forward(hidden.select(1, 0)));
}

namespace {

at::Tensor token_types(const ModelInputs& in) {
  return in.token_type_ids.defined() ? in.token_type_ids : at::zeros_like(in.input_ids);
}

}  // namespace

BertModel::BertModel(const WeightLoader& w, const BertConfig& c, std::optional<bool> pooler,
                     bool roberta_positions) {
  Scope s(*this, w);
  embeddings_ = s.add<BertEmbeddings>("embeddings", c, c.hidden_size, roberta_positions);
  encoder_ = s.add<BertEncoder>("encoder", c);
  if (pooler.value_or(w.contains("pooler.dense.weight")))
    pooler_ = s.add<BertPooler>("pooler", c);
  else
    w.skip("pooler");
}

BaseOutput BertModel::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  at::Tensor embeddings = embeddings_->forward(in.input_ids, token_types(in));
  at::Tensor mask = extended_attention_mask(in.attention_mask, embeddings.scalar_type());
  BaseOutput out;
  out.last_hidden_state = encoder_->forward(embeddings, mask, hidden);
  if (pooler_) out.pooler_output = pooler_->forward(out.last_hidden_state);
  return out;
}

FamilyParts bert_parts(const ModelConfig& config, const BuildOptions& options) {
  const BertConfig c = BertConfig::from(config);
  FamilyParts p;
  p.hidden_size = c.hidden_size;
  p.num_labels = c.num_labels;
  p.num_hidden_states = c.num_hidden_layers + 1;
  p.base = [c](const WeightLoader& w, std::optional<bool> pooler) {
    return std::make_shared<BertModel>(w, c, pooler);
  };
  LMHeadLayout lm;
  lm.dense = "cls.predictions.transform.dense";
  lm.norm = "cls.predictions.transform.LayerNorm";
  lm.decoder = "cls.predictions.decoder";
  lm.classes = {{"cls", "BertOnlyMLMHead"},
                {"cls.predictions", "BertLMPredictionHead"},
                {"cls.predictions.transform", "BertPredictionHeadTransform"}};
  lm.act = c.hidden_act;
  lm.eps = c.layer_norm_eps;
  lm.vocab_size = c.vocab_size;
  lm.tie = c.tie_word_embeddings;
  p.heads["fill-mask"] = {
      [lm](const HeadContext& h) { return std::make_unique<MaskedLMHead>(h, lm); }};
  p.heads["text-classification"] = {
      [](const HeadContext& h) { return std::make_unique<PooledClassificationHead>(h); }, true};
  (void)options;
  return p;
}

}  // namespace hfjit::models
