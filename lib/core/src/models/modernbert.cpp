#include "hfjit/models/modernbert.h"

#include <cmath>

#include "hfjit/error.h"

namespace hfjit::models {

namespace {

// A layer type's rope_theta, as transformers 5's ModernBertConfig settles it:
// rope_parameters[layer_type]["rope_theta"], else the older `legacy_key`
// (global_rope_theta, local_rope_theta), else `fallback`. Only the default
// rope type is implemented.
double rope_theta(const ModelConfig& config, const std::string& layer_type,
                  const std::string& legacy_key, double fallback) {
  auto check_type = [&](const nlohmann::json& p, const std::string& what) {
    const nlohmann::json* type = p.contains("rope_type") ? &p["rope_type"]
                                 : p.contains("type")    ? &p["type"]
                                                         : nullptr;
    if (type && !(type->is_string() && type->get<std::string>() == "default"))
      throw Error(context(config.path, what + " has rope type " + type->dump() +
                                           "; only \"default\" is supported"));
  };
  if (config.has("rope_scaling")) check_type(config.raw["rope_scaling"], "\"rope_scaling\"");
  if (config.has("rope_parameters")) {
    const nlohmann::json& all = config.raw["rope_parameters"];
    if (!all.is_object())
      throw Error(context(config.path, "\"rope_parameters\" must be an object"));
    if (all.contains(layer_type) && !all[layer_type].is_null()) {
      const nlohmann::json& p = all[layer_type];
      const std::string what = "\"rope_parameters\"[\"" + layer_type + "\"]";
      if (!p.is_object()) throw Error(context(config.path, what + " must be an object"));
      check_type(p, what);
      if (p.contains("rope_theta") && !p["rope_theta"].is_null()) {
        if (!p["rope_theta"].is_number())
          throw Error(context(config.path, what + "[\"rope_theta\"] must be a number"));
        return p["rope_theta"].get<double>();
      }
    }
  }
  if (!config.raw.contains(legacy_key)) return fallback;
  if (config.raw[legacy_key].is_null())
    throw Error(context(config.path, "\"" + legacy_key + "\" is null; it must be a number"));
  return config.get_double(legacy_key, fallback);
}

// layer_types, or (published checkpoints) every global_attn_every_n_layers-th layer global.
std::vector<bool> sliding_layers(const ModelConfig& config, int64_t layers) {
  std::vector<bool> sliding;
  if (config.has("layer_types")) {
    const nlohmann::json& types = config.raw["layer_types"];
    if (!types.is_array() || static_cast<int64_t>(types.size()) != layers)
      throw Error(context(config.path, "\"layer_types\" must list one type per layer (" +
                                           std::to_string(layers) + " layers)"));
    for (const auto& t : types) {
      if (t == "full_attention" || t == "sliding_attention") {
        sliding.push_back(t == "sliding_attention");
        continue;
      }
      throw Error(
          context(config.path, "\"layer_types\" has " + t.dump() +
                                   "; supported: \"full_attention\", \"sliding_attention\""));
    }
    return sliding;
  }
  const int64_t every = config.get_int("global_attn_every_n_layers", 3);
  if (every <= 0)
    throw Error(context(config.path, "\"global_attn_every_n_layers\" is " + std::to_string(every) +
                                         "; it must be positive"));
  for (int64_t i = 0; i < layers; ++i) sliding.push_back(i % every != 0);
  return sliding;
}

}  // namespace

ModernBertConfig ModernBertConfig::from(const ModelConfig& config) {
  ModernBertConfig c;
  c.vocab_size = config.get_int("vocab_size", c.vocab_size);
  c.hidden_size = config.get_int("hidden_size", c.hidden_size);
  c.intermediate_size = config.get_int("intermediate_size", c.intermediate_size);
  c.num_hidden_layers = config.get_int("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = config.get_int("num_attention_heads", c.num_attention_heads);
  c.hidden_activation =
      parse_activation(config.get_string("hidden_activation", "gelu"), config, "hidden_activation");
  c.norm_eps = config.get_double("norm_eps", c.norm_eps);
  c.norm_bias = config.get_bool("norm_bias", c.norm_bias);
  c.attention_bias = config.get_bool("attention_bias", c.attention_bias);
  c.mlp_bias = config.get_bool("mlp_bias", c.mlp_bias);
  c.decoder_bias = config.get_bool("decoder_bias", c.decoder_bias);
  c.classifier_bias = config.get_bool("classifier_bias", c.classifier_bias);
  c.classifier_activation = parse_activation(config.get_string("classifier_activation", "gelu"),
                                             config, "classifier_activation");
  c.classifier_pooling = config.get_string("classifier_pooling", c.classifier_pooling);
  if (c.classifier_pooling != "cls" && c.classifier_pooling != "mean")
    throw Error(context(config.path, "\"classifier_pooling\" is \"" + c.classifier_pooling +
                                         "\"; supported: \"cls\", \"mean\""));
  c.local_attention = config.get_int("local_attention", c.local_attention);
  c.sliding = sliding_layers(config, c.num_hidden_layers);
  c.global_rope_theta =
      rope_theta(config, "full_attention", "global_rope_theta", c.global_rope_theta);
  c.local_rope_theta =
      rope_theta(config, "sliding_attention", "local_rope_theta", c.local_rope_theta);
  c.tie_word_embeddings = config.tie_word_embeddings.value_or(true);
  c.num_labels = models::num_labels(config);
  check_heads(config, c.hidden_size, c.num_attention_heads);
  return c;
}

ModernBertEmbeddings::ModernBertEmbeddings(const WeightLoader& w, const ModernBertConfig& c) {
  Scope s(*this, w);
  tok_embeddings = s.add<Embedding>("tok_embeddings", c.vocab_size, c.hidden_size);
  norm_ = s.add<LayerNorm>("norm", c.hidden_size, c.norm_eps, c.norm_bias);
}

at::Tensor ModernBertEmbeddings::forward(const at::Tensor& input_ids) const {
  return norm_->forward(tok_embeddings->forward(input_ids));
}

ModernBertMLP::ModernBertMLP(const WeightLoader& w, const ModernBertConfig& c)
    : act_(c.hidden_activation) {
  Scope s(*this, w);
  wi_ = s.add<Linear>("Wi", c.hidden_size, 2 * c.intermediate_size, c.mlp_bias);
  wo_ = s.add<Linear>("Wo", c.intermediate_size, c.hidden_size, c.mlp_bias);
}

at::Tensor ModernBertMLP::forward(const at::Tensor& x) const {
  std::vector<at::Tensor> input_gate = wi_->forward(x).chunk(2, -1);
  return wo_->forward(activate(act_, input_gate[0]) * input_gate[1]);
}

ModernBertRotaryEmbedding::ModernBertRotaryEmbedding(const ModernBertConfig& c) {
  bool any_full = false, any_sliding = false;
  for (bool s : c.sliding) (s ? any_sliding : any_full) = true;
  if (any_full)
    full_inv_freq_ = register_buffer("full_attention_inv_freq",
                                     rope_inv_freq(c.global_rope_theta, c.head_dim()));
  if (any_sliding)
    sliding_inv_freq_ = register_buffer("sliding_attention_inv_freq",
                                        rope_inv_freq(c.local_rope_theta, c.head_dim()));
}

std::pair<at::Tensor, at::Tensor> ModernBertRotaryEmbedding::forward(const at::Tensor& positions,
                                                                     bool sliding,
                                                                     at::ScalarType dtype) const {
  return rope_cos_sin(sliding ? sliding_inv_freq_ : full_inv_freq_, positions, dtype);
}

ModernBertAttention::ModernBertAttention(const WeightLoader& w, const ModernBertConfig& c)
    : heads_(c.num_attention_heads), head_dim_(c.head_dim()) {
  Scope s(*this, w);
  wqkv_ = s.add<Linear>("Wqkv", c.hidden_size, 3 * head_dim_ * heads_, c.attention_bias);
  wo_ = s.add<Linear>("Wo", c.hidden_size, c.hidden_size, c.attention_bias);
}

at::Tensor ModernBertAttention::forward(const at::Tensor& hidden,
                                        const std::pair<at::Tensor, at::Tensor>& cos_sin,
                                        const at::Tensor& mask) const {
  // qkv.view(*input_shape, 3, -1, head_dim).unbind(dim=-3), each transposed to [batch, heads,
  // length, head_dim].
  at::Tensor qkv = wqkv_->forward(hidden);
  qkv = view_keeping(qkv, {qkv.size(0), qkv.size(1), 3, heads_, head_dim_}, {0, 1});
  auto [q, k] =
      apply_rotary_pos_emb(qkv.select(2, 0).transpose(1, 2), qkv.select(2, 1).transpose(1, 2),
                           cos_sin.first, cos_sin.second);
  at::Tensor v = qkv.select(2, 2).transpose(1, 2);
  // eager_attention_forward: scores scaled by head_dim**-0.5, softmax in fp32.
  at::Tensor weights =
      at::matmul(q, k.transpose(2, 3)) * std::pow(static_cast<double>(head_dim_), -0.5);
  weights = weights + mask;
  weights = at::softmax(weights, -1, at::kFloat).to(q.scalar_type());
  return wo_->forward(merge_heads(at::matmul(weights, v)));
}

ModernBertEncoderLayer::ModernBertEncoderLayer(const WeightLoader& w, const ModernBertConfig& c,
                                               int64_t layer_idx)
    : sliding_(c.sliding[static_cast<size_t>(layer_idx)]) {
  Scope s(*this, w);
  if (layer_idx != 0)
    attn_norm_ = s.add<LayerNorm>("attn_norm", c.hidden_size, c.norm_eps, c.norm_bias);
  attn_ = s.add<ModernBertAttention>("attn", c);
  mlp_norm_ = s.add<LayerNorm>("mlp_norm", c.hidden_size, c.norm_eps, c.norm_bias);
  mlp_ = s.add<ModernBertMLP>("mlp", c);
}

at::Tensor ModernBertEncoderLayer::forward(const at::Tensor& hidden,
                                           const std::pair<at::Tensor, at::Tensor>& cos_sin,
                                           const at::Tensor& mask) const {
  at::Tensor h =
      hidden + attn_->forward(attn_norm_ ? attn_norm_->forward(hidden) : hidden, cos_sin, mask);
  return h + mlp_->forward(mlp_norm_->forward(h));
}

namespace {

// masking_utils' eager_mask: where(allowed, 0, finfo(dtype).min).
at::Tensor additive(const at::Tensor& allowed, at::ScalarType dtype) {
  return at::where(allowed, at::zeros({}, allowed.options().dtype(dtype)), finfo_min(dtype));
}

// padding_mask_function: [batch, 1, 1, length], true for the tokens to attend to.
at::Tensor padding(const at::Tensor& attention_mask) {
  return attention_mask.to(at::kBool).unsqueeze(1).unsqueeze(2);
}

}  // namespace

at::Tensor bidirectional_mask(const at::Tensor& attention_mask, at::ScalarType dtype) {
  return additive(padding(attention_mask), dtype);
}

at::Tensor sliding_window_mask(const at::Tensor& attention_mask, const at::Tensor& positions,
                               int64_t window, at::ScalarType dtype) {
  // sliding_window_bidirectional_overlay: abs(q_idx - kv_idx) <= sliding_window.
  at::Tensor near =
      (positions.unsqueeze(-1) - positions.unsqueeze(-2)).abs().le(window).unsqueeze(1);
  return additive(at::logical_and(near, padding(attention_mask)), dtype);
}

ModernBertModel::ModernBertModel(const WeightLoader& w, const ModernBertConfig& c)
    : sliding_window_(c.sliding_window()) {
  Scope s(*this, w);
  embeddings_ = s.add<ModernBertEmbeddings>("embeddings", c);
  layers_ = s.list<ModernBertEncoderLayer>("layers");
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers_.push(c, i);
  final_norm_ = s.add<LayerNorm>("final_norm", c.hidden_size, c.norm_eps, c.norm_bias);
  rotary_emb_ = s.put("rotary_emb", std::make_shared<ModernBertRotaryEmbedding>(c));
}

BaseOutput ModernBertModel::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  at::Tensor positions = arange_positions(in.input_ids);
  at::Tensor h = embeddings_->forward(in.input_ids);
  const at::ScalarType dtype = h.scalar_type();
  // transformers' attention_mask_mapping and position_embeddings, per layer type in use.
  bool any_full = false, any_sliding = false;
  for (size_t i = 0; i < layers_.size(); ++i)
    (layers_[i].sliding() ? any_sliding : any_full) = true;
  at::Tensor full_mask, local_mask;
  std::pair<at::Tensor, at::Tensor> full_rope, local_rope;
  if (any_full) {
    full_mask = bidirectional_mask(in.attention_mask, dtype);
    full_rope = rotary_emb_->forward(positions, false, dtype);
  }
  if (any_sliding) {
    local_mask = sliding_window_mask(in.attention_mask, positions, sliding_window_, dtype);
    local_rope = rotary_emb_->forward(positions, true, dtype);
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (hidden) hidden->push_back(h);
    const bool local = layers_[i].sliding();
    h = layers_[i].forward(h, local ? local_rope : full_rope, local ? local_mask : full_mask);
  }
  BaseOutput out;
  out.last_hidden_state = final_norm_->forward(h);
  // transformers 5 records each layer's input, then replaces the last entry with last_hidden_state.
  if (hidden) hidden->push_back(out.last_hidden_state);
  return out;
}

ModernBertPredictionHead::ModernBertPredictionHead(const WeightLoader& w, const ModernBertConfig& c)
    : act_(c.classifier_activation) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", c.hidden_size, c.hidden_size, c.classifier_bias);
  norm_ = s.add<LayerNorm>("norm", c.hidden_size, c.norm_eps, c.norm_bias);
}

at::Tensor ModernBertPredictionHead::forward(const at::Tensor& x) const {
  return norm_->forward(activate(act_, dense_->forward(x)));
}

ModernBertMaskedLMHead::ModernBertMaskedLMHead(const HeadContext& h, const ModernBertConfig& c)
    : head_(h.root.add<ModernBertPredictionHead>("head", c)) {
  const WeightLoader dw = h.root.weights().sub("decoder");
  at::Tensor weight = dw.tied("weight", {c.vocab_size, c.hidden_size}, h.base.word_embeddings(),
                              h.family.word_embeddings(), c.tie_word_embeddings);
  at::Tensor bias = c.decoder_bias ? dw.tensor("bias", {c.vocab_size}) : at::Tensor();
  decoder_ = h.root.put("decoder", std::make_shared<Linear>(weight, bias));
}

std::vector<at::Tensor> ModernBertMaskedLMHead::forward(const BaseOutput& base,
                                                        const ModelInputs&) const {
  return {decoder_->forward(head_->forward(base.last_hidden_state))};
}

ModernBertClassifierHead::ModernBertClassifierHead(const HeadContext& h, const ModernBertConfig& c,
                                                   Kind kind)
    : head_(h.root.add<ModernBertPredictionHead>("head", c)),
      classifier_(h.root.add<Linear>("classifier", h.hidden_size, h.num_labels)),
      kind_(kind),
      mean_pooling_(c.classifier_pooling == "mean"),
      num_labels_(h.num_labels) {}

std::vector<at::Tensor> ModernBertClassifierHead::forward(const BaseOutput& base,
                                                          const ModelInputs& in) const {
  at::Tensor x = base.last_hidden_state;
  if (kind_ == Kind::Sequence) {
    const at::Tensor& mask = in.attention_mask;
    x = mean_pooling_ ? (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, /*keepdim=*/true)
                      : x.select(1, 0);
  }
  at::Tensor logits = classifier_->forward(head_->forward(x));
  if (kind_ != Kind::Span) return {logits};
  if (num_labels_ != 2)
    throw Error(
        "ModernBertForQuestionAnswering needs 2 labels (start and end logits); the config has " +
        std::to_string(num_labels_));
  return split_span_logits(logits);
}

FamilyParts modernbert_parts(const ModelConfig& config, const BuildOptions&) {
  const ModernBertConfig c = ModernBertConfig::from(config);
  FamilyParts p;
  p.hidden_size = c.hidden_size;
  p.num_labels = c.num_labels;
  p.num_hidden_states = c.num_hidden_layers + 1;
  p.base = [c](const WeightLoader& w, std::optional<bool>) {
    return std::make_shared<ModernBertModel>(w, c);
  };
  p.heads["fill-mask"] = {
      [c](const HeadContext& h) { return std::make_unique<ModernBertMaskedLMHead>(h, c); }};
  using Kind = ModernBertClassifierHead::Kind;
  auto classifier = [c](Kind kind) {
    return [c, kind](const HeadContext& h) {
      return std::make_unique<ModernBertClassifierHead>(h, c, kind);
    };
  };
  p.heads["text-classification"] = {classifier(Kind::Sequence)};
  p.heads["token-classification"] = {classifier(Kind::Token)};
  p.heads["question-answering"] = {
      classifier(Kind::Span), false, false, {"start_logits", "end_logits"}};
  return p;
}

}  // namespace hfjit::models
