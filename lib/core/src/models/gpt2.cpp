#include "hfjit/models/gpt2.h"

#include <torch/csrc/jit/frontend/tracer.h>

#include <cmath>

#include "hfjit/error.h"

namespace hfjit::models {

GPT2Config GPT2Config::from(const ModelConfig& config) {
  GPT2Config c;
  c.vocab_size = config.get_int("vocab_size", c.vocab_size);
  c.n_positions = config.get_int("n_positions", c.n_positions);
  c.n_embd = config.get_int("n_embd", c.n_embd);
  c.n_layer = config.get_int("n_layer", c.n_layer);
  c.n_head = config.get_int("n_head", c.n_head);
  if (config.has("n_inner")) c.n_inner = config.get_int("n_inner", 0);
  if (config.has("activation_function"))
    c.activation_function = parse_activation(config.get_string("activation_function", ""), config,
                                             "activation_function");
  c.layer_norm_epsilon = config.get_double("layer_norm_epsilon", c.layer_norm_epsilon);
  c.scale_attn_weights = config.get_bool("scale_attn_weights", c.scale_attn_weights);
  c.scale_attn_by_inverse_layer_idx =
      config.get_bool("scale_attn_by_inverse_layer_idx", c.scale_attn_by_inverse_layer_idx);
  c.reorder_and_upcast_attn = config.get_bool("reorder_and_upcast_attn", c.reorder_and_upcast_attn);
  c.use_cache = config.get_bool("use_cache", c.use_cache);
  c.pad_token_id = config.pad_token_id;
  c.tie_word_embeddings = config.tie_word_embeddings.value_or(true);
  c.num_labels = models::num_labels(config);
  check_heads(config, c.n_embd, c.n_head);
  if (config.get_bool("add_cross_attention", false))
    throw Error(context(config.path, "\"add_cross_attention\" is not supported"));
  return c;
}

GPT2Attention::GPT2Attention(const WeightLoader& w, const GPT2Config& c, int64_t layer_idx)
    : heads_(c.n_head),
      embed_dim_(c.n_embd),
      layer_idx_(layer_idx),
      scale_attn_weights_(c.scale_attn_weights),
      scale_by_inverse_layer_idx_(c.scale_attn_by_inverse_layer_idx),
      reorder_and_upcast_(c.reorder_and_upcast_attn) {
  Scope s(*this, w);
  c_attn_ = s.add<Conv1D>("c_attn", c.n_embd, 3 * c.n_embd);
  c_proj_ = s.add<Conv1D>("c_proj", c.n_embd, c.n_embd);
}

namespace {

// self.bias[:, :, :length, :length] of transformers' buffer: tril(ones) as bool.
at::Tensor causal_mask(int64_t length) {
  return at::ones({length, length}, at::kBool).tril().view({1, 1, length, length});
}

// The same for attention weights w [batch, heads, q, k] (q == k, no past),
// built from w's own shape so a --dynamic trace follows the length.
at::Tensor causal_mask_like(const at::Tensor& w) {
  if (!DynamicShapes::active()) return causal_mask(w.size(-2));
  return at::ones_like(w.select(0, 0).select(0, 0), w.options().dtype(at::kBool))
      .tril()
      .unsqueeze(0)
      .unsqueeze(0);
}

}  // namespace

at::Tensor GPT2Attention::attn(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& mask) const {
  at::Tensor w = at::matmul(q, k.transpose(-1, -2));
  if (scale_attn_weights_)
    w = w / at::scalar_tensor(std::pow(static_cast<double>(v.size(-1)), 0.5), w.options());
  if (scale_by_inverse_layer_idx_) w = w / static_cast<double>(layer_idx_ + 1);
  at::Tensor mask_value = at::scalar_tensor(finfo_min(w.scalar_type()), w.options());
  w = at::where(causal_mask_like(w), w, mask_value);
  w = w + mask;
  w = at::softmax(w, -1).to(v.scalar_type());
  return at::matmul(w, v);
}

at::Tensor GPT2Attention::upcast_and_reordered_attn(const at::Tensor& q, const at::Tensor& k,
                                                    const at::Tensor& v,
                                                    const at::Tensor& mask) const {
  if (DynamicShapes::active())
    throw Error(
        "--dynamic does not support GPT-2's reorder_and_upcast_attn (its buffers are sized by the "
        "length)");
  const int64_t bsz = q.size(0), heads = q.size(1), q_len = q.size(2), dk = q.size(3);
  const int64_t k_len = k.size(2);
  at::Tensor w = at::empty({bsz * heads, q_len, k_len}, q.options().dtype(at::kFloat));
  double scale = 1.0;
  if (scale_attn_weights_) scale /= std::pow(static_cast<double>(v.size(-1)), 0.5);
  if (scale_by_inverse_layer_idx_) scale /= static_cast<double>(layer_idx_ + 1);
  at::Tensor q2 = q.reshape({-1, q_len, dk});
  at::Tensor k2 = k.transpose(-1, -2).reshape({-1, dk, k_len});
  w = at::baddbmm(w, q2.to(at::kFloat), k2.to(at::kFloat), /*beta=*/0, /*alpha=*/scale);
  w = w.reshape({bsz, heads, q_len, k_len});
  at::Tensor mask_value = at::scalar_tensor(finfo_min(w.scalar_type()), w.options());
  w = at::where(causal_mask(q_len), w, mask_value);
  w = w + mask;
  w = at::softmax(w, -1).to(v.scalar_type());
  return at::matmul(w, v);
}

GPT2Attention::Output GPT2Attention::forward(const at::Tensor& hidden,
                                             const at::Tensor& mask) const {
  std::vector<at::Tensor> qkv = c_attn_->forward(hidden).split(embed_dim_, 2);
  at::Tensor q = split_heads(qkv[0], heads_);
  Output out;
  out.key = split_heads(qkv[1], heads_);
  out.value = split_heads(qkv[2], heads_);
  at::Tensor a = reorder_and_upcast_ ? upcast_and_reordered_attn(q, out.key, out.value, mask)
                                     : attn(q, out.key, out.value, mask);
  out.hidden = c_proj_->forward(merge_heads(a));
  return out;
}

at::Tensor GPT2Attention::forward_cached(const at::Tensor& hidden, const at::Tensor& allowed,
                                         const at::Tensor& cache,
                                         const at::Tensor& cache_position) const {
  std::vector<at::Tensor> qkv = c_attn_->forward(hidden).split(embed_dim_, 2);
  const at::Tensor q = split_heads(qkv[0], heads_);
  at::Tensor keys = cache.select(0, 0), values = cache.select(0, 1);
  keys.index_copy_(2, cache_position, split_heads(qkv[1], heads_));
  values.index_copy_(2, cache_position, split_heads(qkv[2], heads_));
  // _attn's arithmetic; the slots a query may not see take finfo.min, as its causal mask does.
  at::Tensor w = at::matmul(q, keys.transpose(-1, -2));
  if (scale_attn_weights_)
    w = w / at::scalar_tensor(std::pow(static_cast<double>(values.size(-1)), 0.5), w.options());
  if (scale_by_inverse_layer_idx_) w = w / static_cast<double>(layer_idx_ + 1);
  w = at::where(allowed, w, at::scalar_tensor(finfo_min(w.scalar_type()), w.options()));
  w = at::softmax(w, -1).to(values.scalar_type());
  return c_proj_->forward(merge_heads(at::matmul(w, values)));
}

GPT2MLP::GPT2MLP(const WeightLoader& w, const GPT2Config& c) : act_(c.activation_function) {
  Scope s(*this, w);
  const int64_t inner = c.n_inner.value_or(4 * c.n_embd);
  c_fc_ = s.add<Conv1D>("c_fc", c.n_embd, inner);
  c_proj_ = s.add<Conv1D>("c_proj", inner, c.n_embd);
}

at::Tensor GPT2MLP::forward(const at::Tensor& x) const {
  return c_proj_->forward(activate(act_, c_fc_->forward(x)));
}

GPT2Block::GPT2Block(const WeightLoader& w, const GPT2Config& c, int64_t layer_idx) {
  Scope s(*this, w);
  ln_1_ = s.add<LayerNorm>("ln_1", c.n_embd, c.layer_norm_epsilon);
  attn_ = s.add<GPT2Attention>("attn", c, layer_idx);
  ln_2_ = s.add<LayerNorm>("ln_2", c.n_embd, c.layer_norm_epsilon);
  mlp_ = s.add<GPT2MLP>("mlp", c);
}

GPT2Attention::Output GPT2Block::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  GPT2Attention::Output out = attn_->forward(ln_1_->forward(hidden), mask);
  at::Tensor h = out.hidden + hidden;
  out.hidden = h + mlp_->forward(ln_2_->forward(h));
  return out;
}

at::Tensor GPT2Block::forward_cached(const at::Tensor& hidden, const at::Tensor& allowed,
                                     const at::Tensor& cache,
                                     const at::Tensor& cache_position) const {
  const at::Tensor h =
      attn_->forward_cached(ln_1_->forward(hidden), allowed, cache, cache_position) + hidden;
  return h + mlp_->forward(ln_2_->forward(h));
}

GPT2Model::GPT2Model(const WeightLoader& w, const GPT2Config& c)
    : heads_(c.n_head),
      head_dim_(c.n_embd / c.n_head),
      reorder_and_upcast_(c.reorder_and_upcast_attn) {
  Scope s(*this, w);
  wte_ = s.add<Embedding>("wte", c.vocab_size, c.n_embd);
  wpe_ = s.add<Embedding>("wpe", c.n_positions, c.n_embd);
  h_ = s.list<GPT2Block>("h");
  for (int64_t i = 0; i < c.n_layer; ++i) h_.push(c, i);
  ln_f_ = s.add<LayerNorm>("ln_f", c.n_embd, c.layer_norm_epsilon);
}

BaseOutput GPT2Model::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  const at::Tensor& input_ids = in.input_ids;
  at::Tensor position_ids = arange_positions(input_ids);
  at::Tensor h = wte_->forward(input_ids) + wpe_->forward(position_ids);
  at::Tensor mask = extended_attention_mask(
      view_keeping(in.attention_mask, {input_ids.size(0), -1}, {0}, &input_ids), h.scalar_type());
  BaseOutput out;
  for (size_t i = 0; i < h_.size(); ++i) {
    if (hidden) hidden->push_back(h);
    GPT2Attention::Output block = h_[i].forward(h, mask);
    h = block.hidden;
    out.presents.push_back(block.key);
    out.presents.push_back(block.value);
  }
  out.last_hidden_state = ln_f_->forward(h);
  if (hidden) hidden->push_back(out.last_hidden_state);
  return out;
}

at::Tensor GPT2Model::forward_cached(const CachedInputs& in) const {
  if (reorder_and_upcast_)
    throw Error(
        "a static cache does not support GPT-2's reorder_and_upcast_attn: trace with --cache none");
  const at::Tensor allowed =
      causal_slots(in.cache_position, arange_like(in.attention_mask, 1), in.attention_mask)
          .allowed.unsqueeze(1);
  at::Tensor h = wte_->forward(in.input_ids) + wpe_->forward(in.position_ids);
  for (size_t i = 0; i < h_.size(); ++i)
    h = h_[i].forward_cached(h, allowed, in.cache.select(0, static_cast<int64_t>(i)),
                             in.cache_position);
  return ln_f_->forward(h);
}

std::optional<CacheLayout> GPT2Model::cache_layout() const {
  CacheLayout l{static_cast<int64_t>(h_.size()), heads_, head_dim_};
  l.by_default = false;
  return l;
}

GPT2SequenceClassificationHead::GPT2SequenceClassificationHead(const HeadContext& h,
                                                               std::optional<int64_t> pad_token_id)
    : score_(h.root.add<Linear>("score", h.hidden_size, h.num_labels, false)),
      pad_token_id_(pad_token_id) {}

std::vector<at::Tensor> GPT2SequenceClassificationHead::forward(const BaseOutput& base,
                                                                const ModelInputs& in) const {
  at::Tensor logits = score_->forward(base.last_hidden_state);
  if (!pad_token_id_) return {logits.select(1, -1)};  // transformers requires batch size 1 here
  // transformers' rule: one before the first pad token, modulo the length
  // (so no pad token means the last one).
  const int64_t length = in.input_ids.size(-1);
  at::Tensor lengths = at::eq(in.input_ids, *pad_token_id_).to(at::kInt).argmax(-1) - 1;
  at::Tensor rows;
  if (DynamicShapes::active()) {  // the length and the row numbers from the input's shape, traced
    lengths = at::remainder(lengths, torch::jit::tracer::getSizeOf(in.input_ids, -1));
    rows = at::ones_like(lengths, lengths.options().dtype(at::kLong)).cumsum(0).sub(1);
  } else {
    lengths = at::remainder(lengths, length);
    rows = at::arange(in.input_ids.size(0), lengths.options().dtype(at::kLong));
  }
  return {logits.index({rows, lengths})};
}

FamilyParts gpt2_parts(const ModelConfig& config, const BuildOptions& options) {
  GPT2Config c = GPT2Config::from(config);
  c.use_cache = options.use_cache.value_or(c.use_cache);
  FamilyParts p;
  p.hidden_size = c.n_embd;
  p.num_labels = c.num_labels;
  p.num_hidden_states = c.n_layer + 1;
  if (c.use_cache)
    for (int64_t i = 0; i < c.n_layer; ++i) {
      p.present_names.push_back("present." + std::to_string(i) + ".key");
      p.present_names.push_back("present." + std::to_string(i) + ".value");
    }
  p.base = [c](const WeightLoader& w, std::optional<bool>) {
    return std::make_shared<GPT2Model>(w, c);
  };
  LMHeadLayout lm;  // lm_head: a Linear without bias, tied to wte
  lm.decoder = "lm_head";
  lm.bias = LMHeadLayout::Bias::None;
  lm.vocab_size = c.vocab_size;
  lm.tie = c.tie_word_embeddings;
  HeadSpec generation{[lm](const HeadContext& h) { return std::make_unique<MaskedLMHead>(h, lm); },
                      false, true};
  generation.cached = true;  // trace --cache static
  p.heads["text-generation"] = generation;
  p.heads["text-classification"] = {[pad = c.pad_token_id](const HeadContext& h) {
                                      return std::make_unique<GPT2SequenceClassificationHead>(h,
                                                                                              pad);
                                    },
                                    false, true};
  return p;
}

}  // namespace hfjit::models
