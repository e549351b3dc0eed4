#include "hfjit/models/distilbert.h"

#include <cmath>

#include "hfjit/error.h"

namespace hfjit::models {

namespace {

constexpr double kLayerNormEps = 1e-12;  // hard-coded in modeling_distilbert.py

}  // namespace

DistilBertConfig DistilBertConfig::from(const ModelConfig& config) {
  DistilBertConfig c;
  c.vocab_size = config.get_int("vocab_size", c.vocab_size);
  c.max_position_embeddings = config.get_int("max_position_embeddings", c.max_position_embeddings);
  c.sinusoidal_pos_embds = config.get_bool("sinusoidal_pos_embds", c.sinusoidal_pos_embds);
  c.n_layers = config.get_int("n_layers", c.n_layers);
  c.n_heads = config.get_int("n_heads", c.n_heads);
  c.dim = config.get_int("dim", c.dim);
  c.hidden_dim = config.get_int("hidden_dim", c.hidden_dim);
  if (config.has("activation"))
    c.activation = parse_activation(config.get_string("activation", ""), config, "activation");
  c.pad_token_id = config.pad_token_id.value_or(c.pad_token_id);
  c.tie_word_embeddings = config.tie_word_embeddings.value_or(true);
  c.num_labels = models::num_labels(config);
  check_heads(config, c.dim, c.n_heads);
  return c;
}

at::Tensor sinusoidal_table(int64_t n_pos, int64_t dim) {
  at::Tensor out = at::empty({n_pos, dim}, at::kFloat);
  float* p = out.data_ptr<float>();
  for (int64_t pos = 0; pos < n_pos; ++pos) {
    for (int64_t j = 0; j < dim; ++j) {
      const double exponent = static_cast<double>(2 * (j / 2)) / static_cast<double>(dim);
      const double angle = static_cast<double>(pos) / std::pow(10000.0, exponent);
      p[pos * dim + j] = static_cast<float>(j % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  }
  return out;
}

DistilBertEmbeddings::DistilBertEmbeddings(const WeightLoader& w, const DistilBertConfig& c) {
  word_embeddings =
      add<Embedding>(*this, "word_embeddings", w.sub("word_embeddings"), c.vocab_size, c.dim);
  if (c.sinusoidal_pos_embds) {
    // A fixed table (requires_grad=False in transformers): a buffer here.
    const WeightLoader p = w.sub("position_embeddings");
    position_table_ = p.contains("weight")
                          ? p.tensor("weight", {c.max_position_embeddings, c.dim})
                          : sinusoidal_table(c.max_position_embeddings, c.dim).to(w.dtype());
    position_embeddings_ =
        register_module("position_embeddings", std::make_shared<torch::nn::Module>("Embedding"));
    position_table_ = position_embeddings_->register_buffer("weight", position_table_);
  } else {
    auto e = add<Embedding>(*this, "position_embeddings", w.sub("position_embeddings"),
                            c.max_position_embeddings, c.dim);
    position_table_ = e->weight;
    position_embeddings_ = e;
  }
  layer_norm_ = add<LayerNorm>(*this, "LayerNorm", w.sub("LayerNorm"), c.dim, kLayerNormEps);
}

at::Tensor DistilBertEmbeddings::forward(const at::Tensor& input_ids) const {
  at::Tensor position_ids = arange_positions(input_ids);
  at::Tensor embeddings =
      word_embeddings->forward(input_ids) + at::embedding(position_table_, position_ids);
  return layer_norm_->forward(embeddings);
}

MultiHeadSelfAttention::MultiHeadSelfAttention(const WeightLoader& w, const DistilBertConfig& c)
    : heads_(c.n_heads) {
  q_lin_ = add<Linear>(*this, "q_lin", w.sub("q_lin"), c.dim, c.dim);
  k_lin_ = add<Linear>(*this, "k_lin", w.sub("k_lin"), c.dim, c.dim);
  v_lin_ = add<Linear>(*this, "v_lin", w.sub("v_lin"), c.dim, c.dim);
  out_lin_ = add<Linear>(*this, "out_lin", w.sub("out_lin"), c.dim, c.dim);
}

at::Tensor MultiHeadSelfAttention::forward(const at::Tensor& x,
                                           const at::Tensor& attention_mask) const {
  at::Tensor q = split_heads(q_lin_->forward(x), heads_);
  at::Tensor k = split_heads(k_lin_->forward(x), heads_);
  at::Tensor v = split_heads(v_lin_->forward(x), heads_);
  q = q / std::sqrt(static_cast<double>(q.size(-1)));
  at::Tensor scores = at::matmul(q, k.transpose(2, 3));
  // DistilBERT fills masked scores with finfo.min instead of adding a mask.
  at::Tensor masked = attention_mask.eq(0).unsqueeze(1).unsqueeze(2).expand_as(scores);
  scores = scores.masked_fill(masked,
                              at::scalar_tensor(finfo_min(scores.scalar_type()), scores.options()));
  at::Tensor context = at::matmul(at::softmax(scores, -1), v);
  return out_lin_->forward(merge_heads(context));
}

FFN::FFN(const WeightLoader& w, const DistilBertConfig& c) : act_(c.activation) {
  lin1_ = add<Linear>(*this, "lin1", w.sub("lin1"), c.dim, c.hidden_dim);
  lin2_ = add<Linear>(*this, "lin2", w.sub("lin2"), c.hidden_dim, c.dim);
}

at::Tensor FFN::forward(const at::Tensor& x) const {
  return lin2_->forward(activate(act_, lin1_->forward(x)));
}

TransformerBlock::TransformerBlock(const WeightLoader& w, const DistilBertConfig& c) {
  attention_ = add<MultiHeadSelfAttention>(*this, "attention", w.sub("attention"), c);
  sa_layer_norm_ =
      add<LayerNorm>(*this, "sa_layer_norm", w.sub("sa_layer_norm"), c.dim, kLayerNormEps);
  ffn_ = add<FFN>(*this, "ffn", w.sub("ffn"), c);
  output_layer_norm_ =
      add<LayerNorm>(*this, "output_layer_norm", w.sub("output_layer_norm"), c.dim, kLayerNormEps);
}

at::Tensor TransformerBlock::forward(const at::Tensor& x, const at::Tensor& attention_mask) const {
  at::Tensor sa = sa_layer_norm_->forward(attention_->forward(x, attention_mask) + x);
  return output_layer_norm_->forward(ffn_->forward(sa) + sa);
}

DistilBertTransformer::DistilBertTransformer(const WeightLoader& w, const DistilBertConfig& c)
    : layer_(*this, "layer") {
  for (int64_t i = 0; i < c.n_layers; ++i)
    layer_.push_back(std::make_shared<TransformerBlock>(w.sub("layer").sub(i), c));
}

at::Tensor DistilBertTransformer::forward(at::Tensor x, const at::Tensor& attention_mask,
                                          std::vector<at::Tensor>* hidden) const {
  for (size_t i = 0; i < layer_.size(); ++i) {
    if (hidden) hidden->push_back(x);
    x = layer_[i].forward(x, attention_mask);
  }
  if (hidden) hidden->push_back(x);
  return x;
}

DistilBertModel::DistilBertModel(const WeightLoader& w, const DistilBertConfig& c) {
  embeddings_ = add<DistilBertEmbeddings>(*this, "embeddings", w.sub("embeddings"), c);
  transformer_ = add<DistilBertTransformer>(*this, "transformer", w.sub("transformer"), c);
}

at::Tensor DistilBertModel::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  return transformer_->forward(embeddings_->forward(in.input_ids), in.attention_mask, hidden);
}

DistilBertBase::DistilBertBase(const WeightLoader& w, const DistilBertConfig& c, bool hidden)
    : Model(hidden) {
  model_ = std::make_shared<DistilBertModel>(w.base_alone("distilbert"), c);
  for (const auto& child : model_->named_children()) register_module(child.key(), child.value());
  set_output_names({"last_hidden_state"}, c.n_layers + 1);
}

std::vector<at::Tensor> DistilBertBase::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  return finish_outputs({model_->forward(in, hidden_states(hidden))}, hidden);
}

DistilBertForMaskedLM::DistilBertForMaskedLM(const WeightLoader& w, const DistilBertConfig& c,
                                             bool hidden)
    : Model(hidden), act_(c.activation) {
  distilbert_ = add<DistilBertModel>(*this, "distilbert", w.base("distilbert"), c);
  vocab_transform_ = add<Linear>(*this, "vocab_transform", w.sub("vocab_transform"), c.dim, c.dim);
  vocab_layer_norm_ =
      add<LayerNorm>(*this, "vocab_layer_norm", w.sub("vocab_layer_norm"), c.dim, kLayerNormEps);
  const WeightLoader p = w.sub("vocab_projector");
  at::Tensor weight =
      p.tied("weight", {c.vocab_size, c.dim}, distilbert_->embeddings().word_embeddings->weight,
             "distilbert.embeddings.word_embeddings.weight", c.tie_word_embeddings);
  vocab_projector_ =
      add<Linear>(*this, "vocab_projector", weight, p.tensor("bias", {c.vocab_size}));
  set_output_names({"logits"}, c.n_layers + 1);
}

std::vector<at::Tensor> DistilBertForMaskedLM::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor x = distilbert_->forward(in, hidden_states(hidden));
  x = activate(act_, vocab_transform_->forward(x));
  x = vocab_projector_->forward(vocab_layer_norm_->forward(x));
  return finish_outputs({x}, hidden);
}

DistilBertForSequenceClassification::DistilBertForSequenceClassification(const WeightLoader& w,
                                                                         const DistilBertConfig& c,
                                                                         bool hidden)
    : Model(hidden) {
  distilbert_ = add<DistilBertModel>(*this, "distilbert", w.base("distilbert"), c);
  pre_classifier_ = add<Linear>(*this, "pre_classifier", w.sub("pre_classifier"), c.dim, c.dim);
  classifier_ = add<Linear>(*this, "classifier", w.sub("classifier"), c.dim, c.num_labels);
  set_output_names({"logits"}, c.n_layers + 1);
}

std::vector<at::Tensor> DistilBertForSequenceClassification::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor x = distilbert_->forward(in, hidden_states(hidden)).select(1, 0);
  x = at::relu(pre_classifier_->forward(x));
  return finish_outputs({classifier_->forward(x)}, hidden);
}

DistilBertForTokenClassification::DistilBertForTokenClassification(const WeightLoader& w,
                                                                   const DistilBertConfig& c,
                                                                   bool hidden)
    : Model(hidden) {
  distilbert_ = add<DistilBertModel>(*this, "distilbert", w.base("distilbert"), c);
  classifier_ = add<Linear>(*this, "classifier", w.sub("classifier"), c.dim, c.num_labels);
  set_output_names({"logits"}, c.n_layers + 1);
}

std::vector<at::Tensor> DistilBertForTokenClassification::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor x = distilbert_->forward(in, hidden_states(hidden));
  return finish_outputs({classifier_->forward(x)}, hidden);
}

DistilBertForQuestionAnswering::DistilBertForQuestionAnswering(const WeightLoader& w,
                                                               const DistilBertConfig& c,
                                                               bool hidden)
    : Model(hidden) {
  distilbert_ = add<DistilBertModel>(*this, "distilbert", w.base("distilbert"), c);
  qa_outputs_ = add<Linear>(*this, "qa_outputs", w.sub("qa_outputs"), c.dim, 2);
  set_output_names({"start_logits", "end_logits"}, c.n_layers + 1);
}

std::vector<at::Tensor> DistilBertForQuestionAnswering::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  at::Tensor x = distilbert_->forward(in, hidden_states(hidden));
  return finish_outputs(split_span_logits(qa_outputs_->forward(x)), hidden);
}

std::shared_ptr<Model> make_distilbert(const std::string& task, const ModelConfig& config,
                                       const WeightLoader& w, const BuildOptions& options) {
  const DistilBertConfig c = DistilBertConfig::from(config);
  const bool hidden = options.output_hidden_states;
  if (task == "feature-extraction") return std::make_shared<DistilBertBase>(w, c, hidden);
  if (task == "fill-mask") return std::make_shared<DistilBertForMaskedLM>(w, c, hidden);
  if (task == "text-classification")
    return std::make_shared<DistilBertForSequenceClassification>(w, c, hidden);
  if (task == "token-classification")
    return std::make_shared<DistilBertForTokenClassification>(w, c, hidden);
  if (task == "question-answering")
    return std::make_shared<DistilBertForQuestionAnswering>(w, c, hidden);
  throw Error("distilbert has no task \"" + task + "\"");
}

}  // namespace hfjit::models
