#include "hfjit/models/mpnet.h"

#include <cmath>

#include "hfjit/error.h"
#include "hfjit/models/bert.h"  // create_position_ids_from_input_ids

namespace hfjit::models {

MPNetConfig MPNetConfig::from(const ModelConfig& config) {
  MPNetConfig c;
  c.vocab_size = config.get_int("vocab_size", c.vocab_size);
  c.hidden_size = config.get_int("hidden_size", c.hidden_size);
  c.num_hidden_layers = config.get_int("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = config.get_int("num_attention_heads", c.num_attention_heads);
  c.intermediate_size = config.get_int("intermediate_size", c.intermediate_size);
  if (config.has("hidden_act"))
    c.hidden_act = parse_activation(config.get_string("hidden_act", ""), config, "hidden_act");
  c.max_position_embeddings = config.get_int("max_position_embeddings", c.max_position_embeddings);
  c.layer_norm_eps = config.get_double("layer_norm_eps", c.layer_norm_eps);
  c.relative_attention_num_buckets =
      config.get_int("relative_attention_num_buckets", c.relative_attention_num_buckets);
  c.tie_word_embeddings = config.tie_word_embeddings.value_or(true);
  c.num_labels = models::num_labels(config);
  check_heads(config, c.hidden_size, c.num_attention_heads);
  if (c.relative_attention_num_buckets < 32)
    throw Error(context(config.path,
                        "\"relative_attention_num_buckets\" is " +
                            std::to_string(c.relative_attention_num_buckets) +
                            "; MPNetEncoder buckets relative positions into 32 (transformers fails "
                            "with an IndexError once a sequence reaches a missing one)"));
  return c;
}

MPNetEmbeddings::MPNetEmbeddings(const WeightLoader& w, const MPNetConfig& c) {
  Scope s(*this, w);
  word_embeddings = s.add<Embedding>("word_embeddings", c.vocab_size, c.hidden_size);
  position_embeddings_ =
      s.add<Embedding>("position_embeddings", c.max_position_embeddings, c.hidden_size);
  layer_norm_ = s.add<LayerNorm>("LayerNorm", c.hidden_size, c.layer_norm_eps);
}

at::Tensor MPNetEmbeddings::forward(const at::Tensor& input_ids) const {
  at::Tensor position_ids = create_position_ids_from_input_ids(input_ids, kPaddingIdx);
  at::Tensor embeddings =
      word_embeddings->forward(input_ids) + position_embeddings_->forward(position_ids);
  return layer_norm_->forward(embeddings);
}

MPNetSelfAttention::MPNetSelfAttention(const WeightLoader& w, const MPNetConfig& c)
    : heads_(c.num_attention_heads) {
  Scope s(*this, w);
  const int64_t h = c.hidden_size;
  q_ = s.add<Linear>("q", h, h);
  k_ = s.add<Linear>("k", h, h);
  v_ = s.add<Linear>("v", h, h);
  o_ = s.add<Linear>("o", h, h);
}

at::Tensor MPNetSelfAttention::forward(const at::Tensor& hidden, const at::Tensor& mask,
                                       const at::Tensor& position_bias) const {
  at::Tensor q = split_heads(q_->forward(hidden), heads_);
  at::Tensor k = split_heads(k_->forward(hidden), heads_);
  at::Tensor v = split_heads(v_->forward(hidden), heads_);
  return o_->forward(merge_heads(bert_attention(q, k, v, mask, position_bias)));
}

MPNetAttention::MPNetAttention(const WeightLoader& w, const MPNetConfig& c) {
  Scope s(*this, w);
  attn_ = s.add<MPNetSelfAttention>("attn", c);
  layer_norm_ = s.add<LayerNorm>("LayerNorm", c.hidden_size, c.layer_norm_eps);
}

at::Tensor MPNetAttention::forward(const at::Tensor& hidden, const at::Tensor& mask,
                                   const at::Tensor& position_bias) const {
  return layer_norm_->forward(attn_->forward(hidden, mask, position_bias) + hidden);
}

MPNetIntermediate::MPNetIntermediate(const WeightLoader& w, const MPNetConfig& c)
    : act_(c.hidden_act) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", c.hidden_size, c.intermediate_size);
}

at::Tensor MPNetIntermediate::forward(const at::Tensor& hidden) const {
  return activate(act_, dense_->forward(hidden));
}

MPNetOutput::MPNetOutput(const WeightLoader& w, const MPNetConfig& c) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", c.intermediate_size, c.hidden_size);
  layer_norm_ = s.add<LayerNorm>("LayerNorm", c.hidden_size, c.layer_norm_eps);
}

at::Tensor MPNetOutput::forward(const at::Tensor& hidden, const at::Tensor& input) const {
  return layer_norm_->forward(dense_->forward(hidden) + input);
}

MPNetLayer::MPNetLayer(const WeightLoader& w, const MPNetConfig& c) {
  Scope s(*this, w);
  attention_ = s.add<MPNetAttention>("attention", c);
  intermediate_ = s.add<MPNetIntermediate>("intermediate", c);
  output_ = s.add<MPNetOutput>("output", c);
}

at::Tensor MPNetLayer::forward(const at::Tensor& hidden, const at::Tensor& mask,
                               const at::Tensor& position_bias) const {
  at::Tensor attention = attention_->forward(hidden, mask, position_bias);
  return output_->forward(intermediate_->forward(attention), attention);
}

MPNetEncoder::MPNetEncoder(const WeightLoader& w, const MPNetConfig& c) {
  Scope s(*this, w);
  layer_ = s.list<MPNetLayer>("layer");
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer_.push(c);
  relative_attention_bias_ = s.add<Embedding>(
      "relative_attention_bias", c.relative_attention_num_buckets, c.num_attention_heads);
}

at::Tensor MPNetEncoder::forward(at::Tensor hidden, const at::Tensor& mask,
                                 std::vector<at::Tensor>* all_hidden) const {
  const at::Tensor position_bias = compute_position_bias(hidden);
  for (size_t i = 0; i < layer_.size(); ++i) {
    if (all_hidden) all_hidden->push_back(hidden);
    hidden = layer_[i].forward(hidden, mask, position_bias);
  }
  if (all_hidden) all_hidden->push_back(hidden);
  return hidden;
}

at::Tensor MPNetEncoder::compute_position_bias(const at::Tensor& x, int64_t num_buckets) const {
  const at::Tensor positions = arange_like(x, 1);  // qlen == klen == x.size(1)
  const at::Tensor context_position = positions.unsqueeze(1);
  const at::Tensor memory_position = positions.unsqueeze(0);
  const at::Tensor relative_position = memory_position - context_position;
  const at::Tensor rp_bucket = relative_position_bucket(relative_position, num_buckets);
  const at::Tensor values = relative_attention_bias_->forward(rp_bucket);  // [L, L, heads]
  return values.permute({2, 0, 1}).unsqueeze(0);
}

at::Tensor MPNetEncoder::relative_position_bucket(const at::Tensor& relative_position,
                                                  int64_t num_buckets, int64_t max_distance) {
  at::Tensor n = at::neg(relative_position);
  num_buckets /= 2;
  at::Tensor ret = n.lt(0).to(at::kLong) * num_buckets;
  n = at::abs(n);

  const int64_t max_exact = num_buckets / 2;
  const at::Tensor is_small = n.lt(max_exact);
  // max_exact + (log(n / max_exact) / log(max_distance / max_exact) * (buckets - max_exact)).long()
  at::Tensor val_if_large =
      at::log(n.to(at::kFloat) / max_exact) /
      std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
      (num_buckets - max_exact);
  val_if_large = val_if_large.to(at::kLong).add(max_exact);
  val_if_large = at::min(val_if_large, at::full_like(val_if_large, num_buckets - 1));
  return ret + at::where(is_small, n, val_if_large);
}

MPNetPooler::MPNetPooler(const WeightLoader& w, const MPNetConfig& c) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", c.hidden_size, c.hidden_size);
}

at::Tensor MPNetPooler::forward(const at::Tensor& hidden) const {
  return at::tanh(dense_->forward(hidden.select(1, 0)));
}

MPNetModel::MPNetModel(const WeightLoader& w, const MPNetConfig& c, std::optional<bool> pooler) {
  Scope s(*this, w);
  embeddings_ = s.add<MPNetEmbeddings>("embeddings", c);
  encoder_ = s.add<MPNetEncoder>("encoder", c);
  if (pooler.value_or(w.contains("pooler.dense.weight")))
    pooler_ = s.add<MPNetPooler>("pooler", c);
  else
    w.skip("pooler");
}

BaseOutput MPNetModel::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  at::Tensor embeddings = embeddings_->forward(in.input_ids);
  at::Tensor mask = extended_attention_mask(in.attention_mask, embeddings.scalar_type());
  BaseOutput out;
  out.last_hidden_state = encoder_->forward(embeddings, mask, hidden);
  if (pooler_) out.pooler_output = pooler_->forward(out.last_hidden_state);
  return out;
}

FamilyParts mpnet_parts(const ModelConfig& config, const BuildOptions&) {
  const MPNetConfig c = MPNetConfig::from(config);
  FamilyParts p;
  p.hidden_size = c.hidden_size;
  p.num_labels = c.num_labels;
  p.num_hidden_states = c.num_hidden_layers + 1;
  // transformers builds every MPNet head with add_pooling_layer=False
  // (MPNetForMultipleChoice, not a task here, is the one with a pooler).
  p.base = [c](const WeightLoader& w, std::optional<bool> pooler) {
    return std::make_shared<MPNetModel>(w, c, pooler);
  };
  // MPNetLMHead: dense, erf gelu (whatever hidden_act is), layer_norm, decoder + bias.
  LMHeadLayout lm;
  lm.dense = "lm_head.dense";
  lm.norm = "lm_head.layer_norm";
  lm.decoder = "lm_head.decoder";
  lm.classes = {{"lm_head", "MPNetLMHead"}};
  lm.act = Activation::Gelu;
  lm.eps = c.layer_norm_eps;
  lm.vocab_size = c.vocab_size;
  lm.tie = c.tie_word_embeddings;
  p.heads["fill-mask"] = {
      [lm](const HeadContext& h) { return std::make_unique<MaskedLMHead>(h, lm); }};
  p.heads["text-classification"] = {[](const HeadContext& h) {
    return std::make_unique<ModuleHead<ClassificationHead>>(
        h, "classifier", "MPNetClassificationHead", h.hidden_size, h.num_labels, Activation::Tanh);
  }};
  return p;
}

}  // namespace hfjit::models
