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
  word_embeddings =
      add<Embedding>(*this, "word_embeddings", w.sub("word_embeddings"), c.vocab_size, dim);
  position_embeddings_ = add<Embedding>(*this, "position_embeddings", w.sub("position_embeddings"),
                                        c.max_position_embeddings, dim);
  token_type_embeddings_ = add<Embedding>(*this, "token_type_embeddings",
                                          w.sub("token_type_embeddings"), c.type_vocab_size, dim);
  layer_norm_ = add<LayerNorm>(*this, "LayerNorm", w.sub("LayerNorm"), dim, c.layer_norm_eps);
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
  const int64_t h = c.hidden_size;
  query_ = add<Linear>(*this, "query", w.sub("query"), h, h);
  key_ = add<Linear>(*this, "key", w.sub("key"), h, h);
  value_ = add<Linear>(*this, "value", w.sub("value"), h, h);
}

at::Tensor BertSelfAttention::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  at::Tensor q = query_->forward(hidden);
  at::Tensor k = split_heads(key_->forward(hidden), heads_);
  at::Tensor v = split_heads(value_->forward(hidden), heads_);
  return merge_heads(bert_attention(split_heads(q, heads_), k, v, mask));
}

BertSelfOutput::BertSelfOutput(const WeightLoader& w, const BertConfig& c, int64_t in) {
  dense_ = add<Linear>(*this, "dense", w.sub("dense"), in, c.hidden_size);
  layer_norm_ =
      add<LayerNorm>(*this, "LayerNorm", w.sub("LayerNorm"), c.hidden_size, c.layer_norm_eps);
}

at::Tensor BertSelfOutput::forward(const at::Tensor& hidden, const at::Tensor& residual) const {
  return layer_norm_->forward(dense_->forward(hidden) + residual);
}

BertAttention::BertAttention(const WeightLoader& w, const BertConfig& c) {
  self_ = add<BertSelfAttention>(*this, "self", w.sub("self"), c);
  output_ = add<BertSelfOutput>(*this, "output", w.sub("output"), c, c.hidden_size);
}

at::Tensor BertAttention::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  return output_->forward(self_->forward(hidden, mask), hidden);
}

BertIntermediate::BertIntermediate(const WeightLoader& w, const BertConfig& c)
    : act_(c.hidden_act) {
  dense_ = add<Linear>(*this, "dense", w.sub("dense"), c.hidden_size, c.intermediate_size);
}

at::Tensor BertIntermediate::forward(const at::Tensor& hidden) const {
  return activate(act_, dense_->forward(hidden));
}

BertLayer::BertLayer(const WeightLoader& w, const BertConfig& c) {
  attention_ = add<BertAttention>(*this, "attention", w.sub("attention"), c);
  intermediate_ = add<BertIntermediate>(*this, "intermediate", w.sub("intermediate"), c);
  output_ = add<BertSelfOutput>(*this, "output", w.sub("output"), c, c.intermediate_size);
}

at::Tensor BertLayer::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  at::Tensor attention = attention_->forward(hidden, mask);
  return output_->forward(intermediate_->forward(attention), attention);
}

BertEncoder::BertEncoder(const WeightLoader& w, const BertConfig& c) : layer_(*this, "layer") {
  for (int64_t i = 0; i < c.num_hidden_layers; ++i)
    layer_.push_back(std::make_shared<BertLayer>(w.sub("layer").sub(i), c));
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
  dense_ = add<Linear>(*this, "dense", w.sub("dense"), c.hidden_size, c.hidden_size);
}

at::Tensor BertPooler::forward(const at::Tensor& hidden) const {
  return at::tanh(dense_->forward(hidden.select(1, 0)));
}

BertModel::BertModel(const WeightLoader& w, const BertConfig& c, std::optional<bool> pooler,
                     bool roberta_positions) {
  embeddings_ = add<BertEmbeddings>(*this, "embeddings", w.sub("embeddings"), c, c.hidden_size,
                                    roberta_positions);
  encoder_ = add<BertEncoder>(*this, "encoder", w.sub("encoder"), c);
  if (pooler.value_or(w.contains("pooler.dense.weight")))
    pooler_ = add<BertPooler>(*this, "pooler", w.sub("pooler"), c);
  else
    w.skip("pooler");
}

namespace {

at::Tensor token_types(const ModelInputs& in) {
  return in.token_type_ids.defined() ? in.token_type_ids : at::zeros_like(in.input_ids);
}

}  // namespace

BertModel::Output BertModel::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  at::Tensor embeddings = embeddings_->forward(in.input_ids, token_types(in));
  at::Tensor mask = extended_attention_mask(in.attention_mask, embeddings.scalar_type());
  Output out;
  out.last_hidden_state = encoder_->forward(embeddings, mask, hidden);
  if (pooler_) out.pooler_output = pooler_->forward(out.last_hidden_state);
  return out;
}

BertBase::BertBase(const WeightLoader& w, const BertConfig& c, bool hidden,
                   const std::string& prefix, bool roberta_positions)
    : Model(hidden) {
  // A bare base model: its modules sit at the root, as in transformers' BertModel.
  model_ = std::make_shared<BertModel>(w.base_alone(prefix), c, std::nullopt, roberta_positions);
  for (const auto& child : model_->named_children()) register_module(child.key(), child.value());
  std::vector<std::string> names = {"last_hidden_state"};
  if (model_->has_pooler()) names.push_back("pooler_output");
  set_output_names(names, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> BertBase::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  BertModel::Output out = model_->forward(in, hidden_states(hidden));
  std::vector<at::Tensor> outputs = {out.last_hidden_state};
  if (out.pooler_output.defined()) outputs.push_back(out.pooler_output);
  return finish_outputs(outputs, hidden);
}

BertPredictionHeadTransform::BertPredictionHeadTransform(const WeightLoader& w, const BertConfig& c)
    : act_(c.hidden_act) {
  dense_ = add<Linear>(*this, "dense", w.sub("dense"), c.hidden_size, c.hidden_size);
  layer_norm_ =
      add<LayerNorm>(*this, "LayerNorm", w.sub("LayerNorm"), c.hidden_size, c.layer_norm_eps);
}

at::Tensor BertPredictionHeadTransform::forward(const at::Tensor& hidden) const {
  return layer_norm_->forward(activate(act_, dense_->forward(hidden)));
}

BertLMPredictionHead::BertLMPredictionHead(const WeightLoader& w, const BertConfig& c,
                                           const at::Tensor& embeddings,
                                           const std::string& embeddings_name) {
  transform_ = add<BertPredictionHeadTransform>(*this, "transform", w.sub("transform"), c);
  at::Tensor decoder = w.tied("decoder.weight", {c.vocab_size, c.hidden_size}, embeddings,
                              embeddings_name, c.tie_word_embeddings);
  decoder_ = add<Linear>(*this, "decoder", decoder, at::Tensor());
  // "decoder.bias" is the same parameter as "bias" in transformers.
  bias_ = register_parameter("bias", w.first_of({"bias", "decoder.bias"}, {c.vocab_size}), false);
}

at::Tensor BertLMPredictionHead::forward(const at::Tensor& hidden) const {
  return decoder_->forward(transform_->forward(hidden), bias_);
}

BertOnlyMLMHead::BertOnlyMLMHead(const WeightLoader& w, const BertConfig& c,
                                 const at::Tensor& embeddings, const std::string& embeddings_name) {
  predictions_ = add<BertLMPredictionHead>(*this, "predictions", w.sub("predictions"), c,
                                           embeddings, embeddings_name);
}

namespace {

const char* const kBertEmbeddingsName = "bert.embeddings.word_embeddings.weight";

}  // namespace

BertForMaskedLM::BertForMaskedLM(const WeightLoader& w, const BertConfig& c, bool hidden)
    : Model(hidden) {
  bert_ = add<BertModel>(*this, "bert", w.base("bert"), c, false);
  cls_ = add<BertOnlyMLMHead>(*this, "cls", w.sub("cls"), c,
                              bert_->embeddings().word_embeddings->weight, kBertEmbeddingsName);
  set_output_names({"logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> BertForMaskedLM::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = bert_->forward(in, hidden_states(hidden)).last_hidden_state;
  return finish_outputs({cls_->forward(sequence)}, hidden);
}

BertForSequenceClassification::BertForSequenceClassification(const WeightLoader& w,
                                                             const BertConfig& c, bool hidden)
    : Model(hidden) {
  bert_ = add<BertModel>(*this, "bert", w.base("bert"), c, true);
  classifier_ = add<Linear>(*this, "classifier", w.sub("classifier"), c.hidden_size, c.num_labels);
  set_output_names({"logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> BertForSequenceClassification::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor pooled = bert_->forward(in, hidden_states(hidden)).pooler_output;
  return finish_outputs({classifier_->forward(pooled)}, hidden);
}

BertForTokenClassification::BertForTokenClassification(const WeightLoader& w, const BertConfig& c,
                                                       bool hidden)
    : Model(hidden) {
  bert_ = add<BertModel>(*this, "bert", w.base("bert"), c, false);
  classifier_ = add<Linear>(*this, "classifier", w.sub("classifier"), c.hidden_size, c.num_labels);
  set_output_names({"logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> BertForTokenClassification::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = bert_->forward(in, hidden_states(hidden)).last_hidden_state;
  return finish_outputs({classifier_->forward(sequence)}, hidden);
}

BertForQuestionAnswering::BertForQuestionAnswering(const WeightLoader& w, const BertConfig& c,
                                                   bool hidden)
    : Model(hidden) {
  bert_ = add<BertModel>(*this, "bert", w.base("bert"), c, false);
  qa_outputs_ = add<Linear>(*this, "qa_outputs", w.sub("qa_outputs"), c.hidden_size, 2);
  set_output_names({"start_logits", "end_logits"}, c.num_hidden_layers + 1);
}

std::vector<at::Tensor> BertForQuestionAnswering::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor sequence = bert_->forward(in, hidden_states(hidden)).last_hidden_state;
  return finish_outputs(split_span_logits(qa_outputs_->forward(sequence)), hidden);
}

std::shared_ptr<Model> make_bert(const std::string& task, const ModelConfig& config,
                                 const WeightLoader& w, const BuildOptions& options) {
  const BertConfig c = BertConfig::from(config);
  const bool hidden = options.output_hidden_states;
  if (task == "feature-extraction") return std::make_shared<BertBase>(w, c, hidden, "bert", false);
  if (task == "fill-mask") return std::make_shared<BertForMaskedLM>(w, c, hidden);
  if (task == "text-classification")
    return std::make_shared<BertForSequenceClassification>(w, c, hidden);
  if (task == "token-classification")
    return std::make_shared<BertForTokenClassification>(w, c, hidden);
  if (task == "question-answering") return std::make_shared<BertForQuestionAnswering>(w, c, hidden);
  throw Error("bert has no task \"" + task + "\"");
}

}  // namespace hfjit::models
