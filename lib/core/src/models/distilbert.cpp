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
  Scope s(*this, w);
  word_embeddings = s.add<Embedding>("word_embeddings", c.vocab_size, c.dim);
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
    auto e = s.add<Embedding>("position_embeddings", c.max_position_embeddings, c.dim);
    position_table_ = e->weight;
    position_embeddings_ = e;
  }
  layer_norm_ = s.add<LayerNorm>("LayerNorm", c.dim, kLayerNormEps);
}

at::Tensor DistilBertEmbeddings::forward(const at::Tensor& input_ids) const {
  at::Tensor position_ids = arange_positions(input_ids);
  at::Tensor embeddings =
      word_embeddings->forward(input_ids) + at::embedding(position_table_, position_ids);
  return layer_norm_->forward(embeddings);
}

MultiHeadSelfAttention::MultiHeadSelfAttention(const WeightLoader& w, const DistilBertConfig& c)
    : heads_(c.n_heads) {
  Scope s(*this, w);
  q_lin_ = s.add<Linear>("q_lin", c.dim, c.dim);
  k_lin_ = s.add<Linear>("k_lin", c.dim, c.dim);
  v_lin_ = s.add<Linear>("v_lin", c.dim, c.dim);
  out_lin_ = s.add<Linear>("out_lin", c.dim, c.dim);
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
  Scope s(*this, w);
  lin1_ = s.add<Linear>("lin1", c.dim, c.hidden_dim);
  lin2_ = s.add<Linear>("lin2", c.hidden_dim, c.dim);
}

at::Tensor FFN::forward(const at::Tensor& x) const {
  return lin2_->forward(activate(act_, lin1_->forward(x)));
}

TransformerBlock::TransformerBlock(const WeightLoader& w, const DistilBertConfig& c) {
  Scope s(*this, w);
  attention_ = s.add<MultiHeadSelfAttention>("attention", c);
  sa_layer_norm_ = s.add<LayerNorm>("sa_layer_norm", c.dim, kLayerNormEps);
  ffn_ = s.add<FFN>("ffn", c);
  output_layer_norm_ = s.add<LayerNorm>("output_layer_norm", c.dim, kLayerNormEps);
}

at::Tensor TransformerBlock::forward(const at::Tensor& x, const at::Tensor& attention_mask) const {
  at::Tensor sa = sa_layer_norm_->forward(attention_->forward(x, attention_mask) + x);
  return output_layer_norm_->forward(ffn_->forward(sa) + sa);
}

DistilBertTransformer::DistilBertTransformer(const WeightLoader& w, const DistilBertConfig& c) {
  Scope s(*this, w);
  layer_ = s.list<TransformerBlock>("layer");
  for (int64_t i = 0; i < c.n_layers; ++i) layer_.push(c);
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
  Scope s(*this, w);
  embeddings_ = s.add<DistilBertEmbeddings>("embeddings", c);
  transformer_ = s.add<DistilBertTransformer>("transformer", c);
}

BaseOutput DistilBertModel::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  BaseOutput out;
  out.last_hidden_state =
      transformer_->forward(embeddings_->forward(in.input_ids), in.attention_mask, hidden);
  return out;
}

DistilBertClassificationHead::DistilBertClassificationHead(const HeadContext& h)
    : pre_classifier_(h.root.add<Linear>("pre_classifier", h.hidden_size, h.hidden_size)),
      classifier_(h.root.add<Linear>("classifier", h.hidden_size, h.num_labels)) {}

std::vector<at::Tensor> DistilBertClassificationHead::forward(const BaseOutput& base,
                                                              const ModelInputs&) const {
  at::Tensor x = at::relu(pre_classifier_->forward(base.last_hidden_state.select(1, 0)));
  return {classifier_->forward(x)};
}

FamilyParts distilbert_parts(const ModelConfig& config, const BuildOptions&) {
  const DistilBertConfig c = DistilBertConfig::from(config);
  FamilyParts p;
  p.hidden_size = c.dim;
  p.num_labels = c.num_labels;
  p.num_hidden_states = c.n_layers + 1;
  p.base = [c](const WeightLoader& w, std::optional<bool>) {
    return std::make_shared<DistilBertModel>(w, c);
  };
  LMHeadLayout lm;  // vocab_transform, act, vocab_layer_norm, vocab_projector (with its own bias)
  lm.dense = "vocab_transform";
  lm.norm = "vocab_layer_norm";
  lm.decoder = "vocab_projector";
  lm.bias = LMHeadLayout::Bias::Own;
  lm.act = c.activation;
  lm.eps = kLayerNormEps;
  lm.vocab_size = c.vocab_size;
  lm.tie = c.tie_word_embeddings;
  p.heads["fill-mask"] = {
      [lm](const HeadContext& h) { return std::make_unique<MaskedLMHead>(h, lm); }};
  p.heads["text-classification"] = {
      [](const HeadContext& h) { return std::make_unique<DistilBertClassificationHead>(h); }};
  return p;
}

}  // namespace hfjit::models
