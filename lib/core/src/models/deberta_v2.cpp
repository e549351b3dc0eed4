#include "hfjit/models/deberta_v2.h"

#include <algorithm>
#include <cctype>

#include "hfjit/error.h"

namespace hfjit::models {

namespace {

// "p2c|c2p" (old configs) or ["p2c", "c2p"]: lowercased, split at '|', stripped.
std::vector<std::string> split_types(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t bar = s.find('|', start);
    if (bar == std::string::npos) bar = s.size();
    std::string part = s.substr(start, bar - start);
    part.erase(0, part.find_first_not_of(" \t\n\r"));
    part.erase(part.find_last_not_of(" \t\n\r") + 1);
    std::transform(part.begin(), part.end(), part.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    out.push_back(part);
    start = bar + 1;
  }
  return out;
}

// pos_att_type: a "p2c|c2p" string is split as above, a list is taken as it is.
std::vector<std::string> string_list(const ModelConfig& config, const std::string& key) {
  const nlohmann::json& v = config.raw[key];
  if (v.is_string()) return split_types(v.get<std::string>());
  if (!v.is_array())
    throw Error(context(config.path, "\"" + key + "\" must be a string or a list of strings"));
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string())
      throw Error(context(config.path, "\"" + key + "\" must be a string or a list of strings"));
    out.push_back(item.get<std::string>());
  }
  return out;
}

Activation activation(const ModelConfig& config, const std::string& key, Activation fallback) {
  return config.has(key) ? parse_activation(config.get_string(key, ""), config, key) : fallback;
}

}  // namespace

DebertaV2Config DebertaV2Config::from(const ModelConfig& config) {
  DebertaV2Config c;
  c.vocab_size = config.get_int("vocab_size", c.vocab_size);
  c.hidden_size = config.get_int("hidden_size", c.hidden_size);
  c.embedding_size = config.get_int("embedding_size", c.hidden_size);
  c.num_hidden_layers = config.get_int("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = config.get_int("num_attention_heads", c.num_attention_heads);
  check_heads(config, c.hidden_size, c.num_attention_heads);
  c.attention_head_size =
      config.get_int("attention_head_size", c.hidden_size / c.num_attention_heads);
  c.intermediate_size = config.get_int("intermediate_size", c.intermediate_size);
  c.hidden_act = activation(config, "hidden_act", c.hidden_act);
  c.max_position_embeddings = config.get_int("max_position_embeddings", c.max_position_embeddings);
  c.type_vocab_size = config.get_int("type_vocab_size", c.type_vocab_size);
  c.layer_norm_eps = config.get_double("layer_norm_eps", c.layer_norm_eps);
  c.relative_attention = config.get_bool("relative_attention", c.relative_attention);
  c.max_relative_positions = config.get_int("max_relative_positions", c.max_relative_positions);
  c.position_buckets = config.get_int("position_buckets", c.position_buckets);
  c.share_att_key = config.get_bool("share_att_key", c.share_att_key);
  if (config.has("pos_att_type")) c.pos_att_type = string_list(config, "pos_att_type");
  c.norm_rel_ebd = split_types(config.get_string("norm_rel_ebd", "none"));
  c.position_biased_input = config.get_bool("position_biased_input", c.position_biased_input);
  c.conv_kernel_size = config.get_int("conv_kernel_size", c.conv_kernel_size);
  c.conv_groups = config.get_int("conv_groups", c.conv_groups);
  c.conv_act = activation(config, "conv_act", c.conv_act);
  c.pooler_hidden_size = config.get_int("pooler_hidden_size", c.hidden_size);
  c.pooler_hidden_act = activation(config, "pooler_hidden_act", c.pooler_hidden_act);
  c.legacy = config.get_bool("legacy", c.legacy);
  c.pad_token_id = config.pad_token_id.value_or(c.pad_token_id);
  c.tie_word_embeddings = config.tie_word_embeddings.value_or(true);
  c.num_labels = models::num_labels(config);

  // What transformers builds but cannot run: refused here, naming the field.
  if (c.attention_head_size * c.num_attention_heads != c.hidden_size)
    throw Error(context(config.path, "\"attention_head_size\" (" +
                                         std::to_string(c.attention_head_size) +
                                         ") times num_attention_heads must be hidden_size (" +
                                         std::to_string(c.hidden_size) + ")"));
  if (c.pooler_hidden_size != c.hidden_size)
    throw Error(
        context(config.path, "\"pooler_hidden_size\" (" + std::to_string(c.pooler_hidden_size) +
                                 ") must be hidden_size (" + std::to_string(c.hidden_size) + ")"));
  if (c.conv_kernel_size > 0 &&
      (c.conv_kernel_size % 2 == 0 || c.conv_groups <= 0 || c.hidden_size % c.conv_groups))
    throw Error(context(config.path,
                        "\"conv_kernel_size\" must be odd and \"conv_groups\" divide hidden_size"));
  if (!c.legacy && c.embedding_size != c.hidden_size)
    throw Error(context(config.path,
                        "\"legacy\": false (lm_predictions) needs embedding_size == hidden_size"));
  return c;
}

bool DebertaV2Config::has(const std::string& att_type) const {
  return std::find(pos_att_type.begin(), pos_att_type.end(), att_type) != pos_att_type.end();
}

at::Tensor make_log_bucket_position(const at::Tensor& relative_pos, int64_t bucket_size,
                                    int64_t max_position) {
  at::Tensor sign = at::sign(relative_pos);
  const int64_t mid = bucket_size / 2;
  at::Tensor abs_pos =
      at::where(relative_pos.lt(mid).bitwise_and(relative_pos.gt(-mid)),
                at::scalar_tensor(mid - 1, relative_pos.options()), at::abs(relative_pos));
  // `abs_pos / mid` is true division (float32); the log base is a float32 tensor, as
  // torch.tensor(float) makes it.
  at::Tensor log_base =
      at::log(at::scalar_tensor(static_cast<double>(max_position - 1) / mid, at::kFloat));
  at::Tensor log_pos = at::ceil(at::log(abs_pos / mid) / log_base * (mid - 1)) + mid;
  return at::where(abs_pos.le(mid), relative_pos.to(log_pos.scalar_type()), log_pos * sign);
}

at::Tensor build_relative_position(const at::Tensor& like, int64_t bucket_size,
                                   int64_t max_position) {
  // Queries and keys have the same length here: q_ids and k_ids are one arange,
  // taken from the input so that a --dynamic trace follows its length.
  at::Tensor ids = arange_like(like, 1);
  at::Tensor rel_pos_ids = ids.unsqueeze(1) - ids.unsqueeze(0);
  if (bucket_size > 0 && max_position > 0)
    rel_pos_ids = make_log_bucket_position(rel_pos_ids, bucket_size, max_position);
  return rel_pos_ids.to(at::kLong).unsqueeze(0);
}

DebertaV2Embeddings::DebertaV2Embeddings(const WeightLoader& w, const DebertaV2Config& c) {
  Scope s(*this, w);
  word_embeddings = s.add<Embedding>("word_embeddings", c.vocab_size, c.embedding_size);
  if (c.position_biased_input)
    position_embeddings_ =
        s.add<Embedding>("position_embeddings", c.max_position_embeddings, c.embedding_size);
  else
    w.skip("position_embeddings");  // _keys_to_ignore_on_load_unexpected
  if (c.type_vocab_size > 0)
    token_type_embeddings_ =
        s.add<Embedding>("token_type_embeddings", c.type_vocab_size, c.embedding_size);
  if (c.embedding_size != c.hidden_size)
    embed_proj_ = s.add<Linear>("embed_proj", c.embedding_size, c.hidden_size, false);
  layer_norm_ = s.add<LayerNorm>("LayerNorm", c.hidden_size, c.layer_norm_eps);
}

at::Tensor DebertaV2Embeddings::forward(const at::Tensor& input_ids,
                                        const at::Tensor& token_type_ids,
                                        const at::Tensor& mask) const {
  at::Tensor embeddings = word_embeddings->forward(input_ids);
  if (position_embeddings_)
    embeddings = embeddings + position_embeddings_->forward(arange_positions(input_ids));
  if (token_type_embeddings_)
    embeddings = embeddings + token_type_embeddings_->forward(token_type_ids);
  if (embed_proj_) embeddings = embed_proj_->forward(embeddings);
  embeddings = layer_norm_->forward(embeddings);
  return embeddings * mask.unsqueeze(2).to(embeddings.scalar_type());
}

DisentangledSelfAttention::DisentangledSelfAttention(const WeightLoader& w,
                                                     const DebertaV2Config& c)
    : heads_(c.num_attention_heads),
      c2p_(c.has("c2p")),
      p2c_(c.has("p2c")),
      relative_attention_(c.relative_attention),
      share_att_key_(c.share_att_key),
      att_span_(c.att_span()) {
  Scope s(*this, w);
  const int64_t all_head_size = c.num_attention_heads * c.attention_head_size;
  query_proj_ = s.add<Linear>("query_proj", c.hidden_size, all_head_size);
  key_proj_ = s.add<Linear>("key_proj", c.hidden_size, all_head_size);
  value_proj_ = s.add<Linear>("value_proj", c.hidden_size, all_head_size);
  if (relative_attention_ && !share_att_key_) {
    if (c2p_) pos_key_proj_ = s.add<Linear>("pos_key_proj", c.hidden_size, all_head_size);
    if (p2c_) pos_query_proj_ = s.add<Linear>("pos_query_proj", c.hidden_size, all_head_size);
  }
}

at::Tensor DisentangledSelfAttention::transpose_for_scores(const at::Tensor& x) const {
  at::Tensor split = view_keeping(x, {x.size(0), x.size(1), heads_, -1}, {0, 1});
  at::Tensor t = split.permute({0, 2, 1, 3}).contiguous();
  return view_keeping(t, {-1, split.size(1), split.size(-1)}, {1}, &split);
}

namespace {

// scaled_size_sqrt: sqrt(torch.tensor(d, dtype=float) * scale_factor), a float32 scalar tensor.
at::Tensor scaled_size_sqrt(const at::Tensor& layer, int64_t scale_factor) {
  return at::sqrt(at::scalar_tensor(static_cast<double>(layer.size(-1)), at::kFloat) *
                  scale_factor);
}

}  // namespace

at::Tensor DisentangledSelfAttention::forward(const at::Tensor& hidden,
                                              const at::Tensor& attention_mask,
                                              const at::Tensor& relative_pos,
                                              const at::Tensor& rel_embeddings) const {
  at::Tensor query_layer = transpose_for_scores(query_proj_->forward(hidden));
  at::Tensor key_layer = transpose_for_scores(key_proj_->forward(hidden));
  at::Tensor value_layer = transpose_for_scores(value_proj_->forward(hidden));

  const int64_t scale_factor = 1 + int64_t(c2p_) + int64_t(p2c_);
  at::Tensor scale = scaled_size_sqrt(query_layer, scale_factor);
  at::Tensor scores =
      at::bmm(query_layer, key_layer.transpose(-1, -2) / scale.to(query_layer.scalar_type()));
  if (relative_attention_ && (c2p_ || p2c_))
    scores = scores + disentangled_attention_bias(query_layer, key_layer, relative_pos,
                                                  rel_embeddings, scale_factor, hidden);
  trace_sizes("size", 4, {{2, &scores, 1}, {3, &scores, 2}});
  scores = scores.view({-1, heads_, scores.size(-2), scores.size(-1)});

  scores = scores.masked_fill(attention_mask.to(at::kBool).bitwise_not(),
                              finfo_min(query_layer.scalar_type()));
  at::Tensor probs = at::softmax(scores, -1);
  trace_sizes("size", 3, {{1, &probs, 2}, {2, &probs, 3}});
  at::Tensor flat_probs = probs.view({-1, probs.size(-2), probs.size(-1)});
  at::Tensor context = at::bmm(flat_probs, value_layer);
  trace_sizes("size", 4, {{2, &context, 1}, {3, &context, 2}});
  context = context.view({-1, heads_, context.size(-2), context.size(-1)})
                .permute({0, 2, 1, 3})
                .contiguous();
  return view_keeping(context, {context.size(0), context.size(1), -1}, {0, 1});
}

at::Tensor DisentangledSelfAttention::pos_layer(const Linear& proj,
                                                const at::Tensor& rel_embeddings,
                                                const at::Tensor& hidden) const {
  at::Tensor layer = transpose_for_scores(proj.forward(rel_embeddings));
  // .repeat(query_layer.size(0) // num_attention_heads, 1, 1): the batch size, traced from the
  // input.
  trace_sizes("repeats", 3, {{0, &hidden, 0}});
  return layer.repeat({hidden.size(0), 1, 1});
}

at::Tensor DisentangledSelfAttention::disentangled_attention_bias(
    const at::Tensor& query_layer, const at::Tensor& key_layer, const at::Tensor& relative_pos_in,
    const at::Tensor& rel_embeddings_in, int64_t scale_factor, const at::Tensor& hidden) const {
  const at::Tensor relative_pos = relative_pos_in.unsqueeze(1).to(at::kLong);  // [1, 1, L, L]
  const int64_t att_span = att_span_;
  const at::Tensor rel_embeddings = rel_embeddings_in.slice(0, 0, att_span * 2).unsqueeze(0);

  at::Tensor score;
  // content->position
  if (c2p_) {
    at::Tensor pos_key_layer =
        pos_layer(share_att_key_ ? *key_proj_ : *pos_key_proj_, rel_embeddings, hidden);
    at::Tensor scale = scaled_size_sqrt(pos_key_layer, scale_factor);
    at::Tensor c2p_att = at::bmm(query_layer, pos_key_layer.transpose(-1, -2));
    at::Tensor c2p_pos = at::clamp(relative_pos + att_span, 0, att_span * 2 - 1).squeeze(0);
    trace_sizes("size", 3, {{0, &query_layer, 0}, {1, &query_layer, 1}, {2, &relative_pos, -1}});
    at::Tensor index =
        c2p_pos.expand({query_layer.size(0), query_layer.size(1), relative_pos.size(-1)});
    c2p_att = at::gather(c2p_att, -1, index);
    score = c2p_att / scale.to(c2p_att.scalar_type());
  }
  // position->content (queries and keys have one length: build_rpos is relative_pos)
  if (p2c_) {
    at::Tensor pos_query_layer =
        pos_layer(share_att_key_ ? *query_proj_ : *pos_query_proj_, rel_embeddings, hidden);
    at::Tensor scale = scaled_size_sqrt(pos_query_layer, scale_factor);
    at::Tensor p2c_pos =
        at::clamp(at::neg(relative_pos) + att_span, 0, att_span * 2 - 1).squeeze(0);
    at::Tensor p2c_att = at::bmm(key_layer, pos_query_layer.transpose(-1, -2));
    trace_sizes("size", 3, {{0, &query_layer, 0}, {1, &key_layer, -2}, {2, &key_layer, -2}});
    at::Tensor index =
        p2c_pos.expand({query_layer.size(0), key_layer.size(-2), key_layer.size(-2)});
    p2c_att = at::gather(p2c_att, -1, index).transpose(-1, -2);
    at::Tensor term = p2c_att / scale.to(p2c_att.scalar_type());
    score = score.defined() ? score + term : term;
  }
  return score;
}

DebertaV2SelfOutput::DebertaV2SelfOutput(const WeightLoader& w, const DebertaV2Config& c,
                                         int64_t in, const std::string& hf_class)
    : torch::nn::Module(hf_class) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", in, c.hidden_size);
  layer_norm_ = s.add<LayerNorm>("LayerNorm", c.hidden_size, c.layer_norm_eps);
}

at::Tensor DebertaV2SelfOutput::forward(const at::Tensor& hidden,
                                        const at::Tensor& residual) const {
  return layer_norm_->forward(dense_->forward(hidden) + residual);
}

DebertaV2Attention::DebertaV2Attention(const WeightLoader& w, const DebertaV2Config& c) {
  Scope s(*this, w);
  self_ = s.add<DisentangledSelfAttention>("self", c);
  output_ = s.add<DebertaV2SelfOutput>("output", c, c.hidden_size, "DebertaV2SelfOutput");
}

at::Tensor DebertaV2Attention::forward(const at::Tensor& hidden, const at::Tensor& attention_mask,
                                       const at::Tensor& relative_pos,
                                       const at::Tensor& rel_embeddings) const {
  return output_->forward(self_->forward(hidden, attention_mask, relative_pos, rel_embeddings),
                          hidden);
}

DebertaV2Intermediate::DebertaV2Intermediate(const WeightLoader& w, const DebertaV2Config& c)
    : act_(c.hidden_act) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", c.hidden_size, c.intermediate_size);
}

at::Tensor DebertaV2Intermediate::forward(const at::Tensor& hidden) const {
  return activate(act_, dense_->forward(hidden));
}

DebertaV2Layer::DebertaV2Layer(const WeightLoader& w, const DebertaV2Config& c) {
  Scope s(*this, w);
  attention_ = s.add<DebertaV2Attention>("attention", c);
  intermediate_ = s.add<DebertaV2Intermediate>("intermediate", c);
  output_ = s.add<DebertaV2SelfOutput>("output", c, c.intermediate_size, "DebertaV2Output");
}

at::Tensor DebertaV2Layer::forward(const at::Tensor& hidden, const at::Tensor& attention_mask,
                                   const at::Tensor& relative_pos,
                                   const at::Tensor& rel_embeddings) const {
  at::Tensor attention_output =
      attention_->forward(hidden, attention_mask, relative_pos, rel_embeddings);
  return output_->forward(intermediate_->forward(attention_output), attention_output);
}

Conv1d::Conv1d(const WeightLoader& w, int64_t channels, int64_t kernel, int64_t groups)
    : padding_((kernel - 1) / 2), groups_(groups) {
  weight = register_parameter("weight", w.tensor("weight", {channels, channels / groups, kernel}),
                              false);
  bias = register_parameter("bias", w.tensor("bias", {channels}), false);
}

at::Tensor Conv1d::forward(const at::Tensor& x) const {
  return at::conv1d(x, weight, bias, /*stride=*/{1}, /*padding=*/{padding_}, /*dilation=*/{1},
                    groups_);
}

ConvLayer::ConvLayer(const WeightLoader& w, const DebertaV2Config& c) : act_(c.conv_act) {
  Scope s(*this, w);
  conv_ = s.add<Conv1d>("conv", c.hidden_size, c.conv_kernel_size, c.conv_groups);
  layer_norm_ = s.add<LayerNorm>("LayerNorm", c.hidden_size, c.layer_norm_eps);
}

at::Tensor ConvLayer::forward(const at::Tensor& hidden, const at::Tensor& residual,
                              const at::Tensor& input_mask) const {
  at::Tensor out =
      conv_->forward(hidden.permute({0, 2, 1}).contiguous()).permute({0, 2, 1}).contiguous();
  at::Tensor rmask = at::rsub(input_mask, 1).to(at::kBool);
  out = out.masked_fill(rmask.unsqueeze(-1).expand_as(out), 0);
  out = activate(act_, out);
  at::Tensor output = layer_norm_->forward(residual + out);
  return output * input_mask.unsqueeze(2).to(output.scalar_type());
}

DebertaV2Encoder::DebertaV2Encoder(const WeightLoader& w, const DebertaV2Config& c)
    : position_buckets_(c.position_buckets), max_relative_positions_(c.max_relative()) {
  Scope s(*this, w);
  layer_ = s.list<DebertaV2Layer>("layer");
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer_.push(c);
  if (c.relative_attention)
    rel_embeddings_ = s.add<Embedding>("rel_embeddings", c.att_span() * 2, c.hidden_size);
  if (std::find(c.norm_rel_ebd.begin(), c.norm_rel_ebd.end(), "layer_norm") != c.norm_rel_ebd.end())
    layer_norm_ = s.add<LayerNorm>("LayerNorm", c.hidden_size, c.layer_norm_eps);
  if (c.conv_kernel_size > 0) conv_ = s.add<ConvLayer>("conv", c);
}

at::Tensor DebertaV2Encoder::get_rel_embedding() const {
  if (!rel_embeddings_) return {};
  at::Tensor rel_embeddings = rel_embeddings_->weight;
  return layer_norm_ ? layer_norm_->forward(rel_embeddings) : rel_embeddings;
}

at::Tensor DebertaV2Encoder::forward(const at::Tensor& hidden, const at::Tensor& attention_mask,
                                     std::vector<at::Tensor>* all_hidden) const {
  const at::Tensor& input_mask = attention_mask;
  // get_attention_mask: [batch, L] -> [batch, 1, L, L], 1 where both tokens are.
  at::Tensor extended = attention_mask.unsqueeze(1).unsqueeze(2);
  at::Tensor mask = extended * extended.squeeze(-2).unsqueeze(-1);
  at::Tensor relative_pos;
  if (rel_embeddings_)
    relative_pos =
        build_relative_position(attention_mask, position_buckets_, max_relative_positions_);

  if (all_hidden) all_hidden->push_back(hidden);
  const at::Tensor rel_embeddings = get_rel_embedding();
  at::Tensor next_kv = hidden;
  for (size_t i = 0; i < layer_.size(); ++i) {
    at::Tensor output_states = layer_[i].forward(next_kv, mask, relative_pos, rel_embeddings);
    if (i == 0 && conv_) output_states = conv_->forward(hidden, output_states, input_mask);
    if (all_hidden) all_hidden->push_back(output_states);
    next_kv = output_states;
  }
  return next_kv;
}

DebertaV2Model::DebertaV2Model(const WeightLoader& w, const DebertaV2Config& c) {
  Scope s(*this, w);
  embeddings_ = s.add<DebertaV2Embeddings>("embeddings", c);
  encoder_ = s.add<DebertaV2Encoder>("encoder", c);
}

BaseOutput DebertaV2Model::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  const at::Tensor token_type_ids =
      in.token_type_ids.defined() ? in.token_type_ids : at::zeros_like(in.input_ids);
  at::Tensor embedding_output =
      embeddings_->forward(in.input_ids, token_type_ids, in.attention_mask);
  BaseOutput out;
  out.last_hidden_state = encoder_->forward(embedding_output, in.attention_mask, hidden);
  return out;
}

ContextPooler::ContextPooler(const WeightLoader& w, const DebertaV2Config& c)
    : act_(c.pooler_hidden_act) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", c.pooler_hidden_size, c.pooler_hidden_size);
}

at::Tensor ContextPooler::forward(const at::Tensor& hidden) const {
  return activate(act_, dense_->forward(hidden.select(1, 0)));
}

DebertaV2ClassificationHead::DebertaV2ClassificationHead(const HeadContext& h,
                                                         const DebertaV2Config& c)
    : pooler_(h.root.add<ContextPooler>("pooler", c)),
      classifier_(h.root.add<Linear>("classifier", h.hidden_size, h.num_labels)) {}

std::vector<at::Tensor> DebertaV2ClassificationHead::forward(const BaseOutput& base,
                                                             const ModelInputs&) const {
  return {classifier_->forward(pooler_->forward(base.last_hidden_state))};
}

DebertaV2LMPredictionHead::DebertaV2LMPredictionHead(const WeightLoader& w,
                                                     const DebertaV2Config& c)
    : act_(c.hidden_act) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", c.hidden_size, c.hidden_size);
  layer_norm_ = s.add<LayerNorm>("LayerNorm", c.hidden_size, c.layer_norm_eps);
  bias_ = register_parameter("bias", w.tensor("bias", {c.vocab_size}), false);
}

at::Tensor DebertaV2LMPredictionHead::forward(const at::Tensor& hidden,
                                              const at::Tensor& word_embeddings) const {
  at::Tensor x = layer_norm_->forward(activate(act_, dense_->forward(hidden)));
  return at::matmul(x, word_embeddings.t()) + bias_;
}

DebertaV2MaskedLMHead::DebertaV2MaskedLMHead(const HeadContext& h, const DebertaV2Config& c)
    : lm_head_(h.root.child("lm_predictions", "DebertaV2OnlyMLMHead")
                   .add<DebertaV2LMPredictionHead>("lm_head", c)),
      word_embeddings_(h.base.word_embeddings()) {
  h.root.weights().skip("mask_predictions");  // _keys_to_ignore_on_load_unexpected
}

std::vector<at::Tensor> DebertaV2MaskedLMHead::forward(const BaseOutput& base,
                                                       const ModelInputs&) const {
  return {lm_head_->forward(base.last_hidden_state, word_embeddings_)};
}

namespace {

// LegacyDebertaV2OnlyMLMHead: cls.predictions.transform (dense to embedding_size, act,
// LayerNorm), decoder tied to the word embeddings. Tied, decoder.bias is
// cls.predictions.bias; untied (transformers 5 then ties neither), the decoder has
// its own bias and cls.predictions.bias is a parameter the forward never reads.
HeadSpec legacy_masked_lm(const DebertaV2Config& c) {
  LMHeadLayout lm;
  lm.dense = "cls.predictions.transform.dense";
  lm.norm = "cls.predictions.transform.LayerNorm";
  lm.decoder = "cls.predictions.decoder";
  lm.bias = c.tie_word_embeddings ? LMHeadLayout::Bias::Parent : LMHeadLayout::Bias::Own;
  lm.classes = {{"cls", "LegacyDebertaV2OnlyMLMHead"},
                {"cls.predictions", "LegacyDebertaV2LMPredictionHead"},
                {"cls.predictions.transform", "LegacyDebertaV2PredictionHeadTransform"}};
  lm.act = c.hidden_act;
  lm.dim = c.embedding_size;
  lm.eps = c.layer_norm_eps;
  lm.vocab_size = c.vocab_size;
  lm.tie = c.tie_word_embeddings;
  return {[lm](const HeadContext& h) {
    auto head = std::make_unique<MaskedLMHead>(h, lm);
    if (lm.bias == LMHeadLayout::Bias::Own) {
      const Scope predictions = h.root.path("cls.predictions", lm.classes);
      predictions.module().register_parameter(
          "bias", predictions.weights().tensor("bias", {lm.vocab_size}), false);
    }
    h.root.weights().skip("mask_predictions");  // _keys_to_ignore_on_load_unexpected
    return head;
  }};
}

}  // namespace

FamilyParts deberta_v2_parts(const ModelConfig& config, const BuildOptions&) {
  const DebertaV2Config c = DebertaV2Config::from(config);
  FamilyParts p;
  p.hidden_size = c.hidden_size;
  p.num_labels = c.num_labels;
  p.num_hidden_states = c.num_hidden_layers + 1;
  p.base = [c](const WeightLoader& w, std::optional<bool>) {
    return std::make_shared<DebertaV2Model>(w, c);
  };
  if (c.legacy)
    p.heads["fill-mask"] = legacy_masked_lm(c);
  else
    p.heads["fill-mask"] = {
        [c](const HeadContext& h) { return std::make_unique<DebertaV2MaskedLMHead>(h, c); }};
  p.heads["text-classification"] = {
      [c](const HeadContext& h) { return std::make_unique<DebertaV2ClassificationHead>(h, c); }};
  return p;
}

}  // namespace hfjit::models
