#include "hfjit/models/llama.h"

#include <ATen/ATen.h>

#include <cmath>
#include <map>
#include <numbers>
#include <set>

#include "hfjit/error.h"

namespace hfjit::models {
namespace {

// RotaryEmbeddingConfigMixin.standardize_rope_params and the rope_init_fn's reads.
RopeParameters read_rope(const ModelConfig& config, int64_t max_position_embeddings) {
  RopeParameters r;
  nlohmann::json p = nlohmann::json::object();
  for (const char* key : {"rope_parameters", "rope_scaling"})
    if (config.has(key)) {
      if (!config.raw[key].is_object())
        throw Error(context(config.path, std::string("\"") + key + "\" is not an object"));
      p = config.raw[key];
      break;
    }
  const std::string where = config.path + ": rope parameters";
  auto number = [&](const char* key, double fallback) {
    if (!p.contains(key) || p[key].is_null()) return fallback;
    if (!p[key].is_number()) throw Error(where + ": \"" + key + "\" is not a number");
    return p[key].get<double>();
  };
  auto optional = [&](const char* key) -> std::optional<double> {
    if (!p.contains(key) || p[key].is_null()) return std::nullopt;
    return number(key, 0);
  };
  r.rope_type = p.value("rope_type", p.value("type", std::string("default")));
  r.rope_theta = number("rope_theta", config.get_double("rope_theta", 10000.0));
  r.partial_rotary_factor =
      number("partial_rotary_factor", config.get_double("partial_rotary_factor", 1.0));
  if (r.partial_rotary_factor != 1.0)
    throw Error(where + ": partial_rotary_factor " + std::to_string(r.partial_rotary_factor) +
                " is not supported (the Llama family rotates whole heads)");
  static const std::set<std::string> kTypes = {"default", "linear", "dynamic", "llama3", "yarn"};
  if (!kTypes.count(r.rope_type))
    throw Error(where + ": rope_type \"" + r.rope_type +
                "\" is not supported (supported: default, linear, dynamic, llama3, yarn)");
  if (r.rope_type != "default") {
    const std::optional<double> factor = optional("factor");
    if (factor)
      r.factor = *factor;
    else if (r.rope_type != "yarn")
      throw Error(where + ": rope_type \"" + r.rope_type + "\" needs a \"factor\"");
    else  // yarn: max_position_embeddings / original_max_position_embeddings
      r.factor = std::nan("");
  }
  r.original_max_position_embeddings =
      static_cast<int64_t>(number("original_max_position_embeddings",
                                  config.get_double("original_max_position_embeddings",
                                                    static_cast<double>(max_position_embeddings))));
  r.low_freq_factor = number("low_freq_factor", r.low_freq_factor);
  r.high_freq_factor = number("high_freq_factor", r.high_freq_factor);
  if (r.rope_type == "llama3" &&
      (!p.contains("low_freq_factor") || !p.contains("high_freq_factor")))
    throw Error(where + ": rope_type \"llama3\" needs low_freq_factor and high_freq_factor");
  r.attention_factor = optional("attention_factor");
  r.beta_fast = optional("beta_fast");
  r.beta_slow = optional("beta_slow");
  r.mscale = optional("mscale");
  r.mscale_all_dim = optional("mscale_all_dim");
  if (p.contains("truncate") && p["truncate"].is_boolean()) r.truncate = p["truncate"].get<bool>();
  return r;
}

// The rope_init_fn of the config's rope type: inv_freq and attention_factor.
std::pair<at::Tensor, double> rope_init(const LlamaConfig& c) {
  const RopeParameters& r = c.rope;
  const int64_t dim = c.head_dim;
  const double base = r.rope_theta;
  if (r.rope_type == "default") return {rope_inv_freq(base, dim), 1.0};
  if (r.rope_type == "linear") return {rope_inv_freq(base, dim) / r.factor, 1.0};
  if (r.rope_type == "dynamic") {
    // At init (and at every length up to max_position_embeddings, which traces never
    // pass) seq_len is max_position_embeddings; the same double arithmetic as Python's.
    const double seq_len = static_cast<double>(c.max_position_embeddings);
    const double scaled =
        base * std::pow((r.factor * seq_len / static_cast<double>(c.max_position_embeddings)) -
                            (r.factor - 1),
                        static_cast<double>(dim) / static_cast<double>(dim - 2));
    return {rope_inv_freq(scaled, dim), 1.0};
  }
  if (r.rope_type == "llama3") {
    const at::Tensor inv_freq = rope_inv_freq(base, dim);
    const double old_len = static_cast<double>(r.original_max_position_embeddings);
    const double low_wavelen = old_len / r.low_freq_factor;
    const double high_wavelen = old_len / r.high_freq_factor;
    const at::Tensor wavelen = at::reciprocal(inv_freq) * (2 * std::numbers::pi);
    at::Tensor llama = at::where(wavelen > low_wavelen, inv_freq / r.factor, inv_freq);
    const at::Tensor smooth = (at::reciprocal(wavelen) * old_len - r.low_freq_factor) /
                              (r.high_freq_factor - r.low_freq_factor);
    const at::Tensor smoothed = at::rsub(smooth, 1) * llama / r.factor + smooth * llama;
    const at::Tensor medium =
        at::logical_not(wavelen < high_wavelen) * at::logical_not(wavelen > low_wavelen);
    return {at::where(medium, smoothed, llama), 1.0};
  }
  // yarn
  const double mpe = static_cast<double>(c.max_position_embeddings);
  const double original = static_cast<double>(r.original_max_position_embeddings);
  const double factor = std::isnan(r.factor) ? mpe / original : r.factor;
  auto get_mscale = [](double scale, double mscale) {
    return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
  };
  double attention_factor;
  if (r.attention_factor)
    attention_factor = *r.attention_factor;
  else if (r.mscale && r.mscale_all_dim && *r.mscale != 0 && *r.mscale_all_dim != 0)
    attention_factor = get_mscale(factor, *r.mscale) / get_mscale(factor, *r.mscale_all_dim);
  else
    attention_factor = get_mscale(factor, 1);
  const double beta_fast = r.beta_fast && *r.beta_fast != 0 ? *r.beta_fast : 32;
  const double beta_slow = r.beta_slow && *r.beta_slow != 0 ? *r.beta_slow : 1;
  const double d = static_cast<double>(dim);
  auto correction_dim = [&](double rotations) {
    return (d * std::log(original / (rotations * 2 * std::numbers::pi))) / (2 * std::log(base));
  };
  double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
  if (r.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, d - 1);
  if (low == high) high += 0.001;  // linear_ramp_factor's guard against a singularity
  const at::Tensor pos_freqs =
      at::pow(base, at::arange(0, dim, 2, at::TensorOptions().dtype(at::kFloat)) / d);
  const at::Tensor extrapolation = at::reciprocal(pos_freqs) * 1.0;
  const at::Tensor interpolation = at::reciprocal(pos_freqs * factor) * 1.0;
  const at::Tensor ramp = at::clamp(
      (at::arange(dim / 2, at::TensorOptions().dtype(at::kFloat)) - low) / (high - low), 0, 1);
  const at::Tensor extrapolation_factor = at::rsub(ramp, 1);
  return {interpolation * at::rsub(extrapolation_factor, 1) + extrapolation * extrapolation_factor,
          attention_factor};
}

// repeat_kv: [batch, kv_heads, length, dim] -> [batch, kv_heads * n_rep, length, dim].
at::Tensor repeat_kv(const at::Tensor& x, int64_t n_rep) {
  if (n_rep == 1) return x;
  const int64_t b = x.size(0), kv = x.size(1), len = x.size(2), dim = x.size(3);
  return x.unsqueeze(2).expand({b, kv, n_rep, len, dim}).reshape({b, kv * n_rep, len, dim});
}

}  // namespace

LlamaConfig LlamaConfig::from(const ModelConfig& config) {
  LlamaConfig c;
  c.model_type = config.model_type;
  const bool qwen2 = c.model_type == "qwen2", mistral = c.model_type == "mistral";
  if (qwen2) {
    c.vocab_size = 151936;
    c.intermediate_size = 22016;
    c.max_position_embeddings = 32768;
  } else if (mistral) {
    c.intermediate_size = 14336;
    c.num_key_value_heads = 8;
    c.max_position_embeddings = 4096 * 32;
  }
  c.vocab_size = config.get_int("vocab_size", c.vocab_size);
  c.hidden_size = config.get_int("hidden_size", c.hidden_size);
  c.intermediate_size = config.get_int("intermediate_size", c.intermediate_size);
  c.num_hidden_layers = config.get_int("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = config.get_int("num_attention_heads", c.num_attention_heads);
  c.num_key_value_heads =
      config.get_int("num_key_value_heads", mistral ? 8 : c.num_attention_heads);
  if (c.num_attention_heads <= 0 || c.num_key_value_heads <= 0 ||
      c.num_attention_heads % c.num_key_value_heads != 0)
    throw Error(context(config.path, "num_attention_heads (" +
                                         std::to_string(c.num_attention_heads) +
                                         ") is not a multiple of num_key_value_heads (" +
                                         std::to_string(c.num_key_value_heads) + ")"));
  check_heads(config, c.hidden_size, c.num_attention_heads);
  c.head_dim = config.get_int("head_dim", c.hidden_size / c.num_attention_heads);
  if (c.head_dim <= 0 || c.head_dim % 2 != 0)
    throw Error(context(config.path, "head_dim " + std::to_string(c.head_dim) +
                                         " is not a positive even number (rotary halves)"));
  c.hidden_act = parse_activation(config.get_string("hidden_act", "silu"), config, "hidden_act");
  c.max_position_embeddings = config.get_int("max_position_embeddings", c.max_position_embeddings);
  c.rms_norm_eps = config.get_double("rms_norm_eps", c.rms_norm_eps);
  c.use_cache = config.get_bool("use_cache", c.use_cache);
  c.tie_word_embeddings = config.tie_word_embeddings.value_or(false);
  if (qwen2) {
    c.qkv_bias = true;
  } else if (!mistral) {
    c.qkv_bias = c.o_bias = config.get_bool("attention_bias", false);
    c.mlp_bias = config.get_bool("mlp_bias", false);
  }
  c.rope = read_rope(config, c.max_position_embeddings);
  // Sliding windows: Mistral's on every layer; Qwen2's (use_sliding_window) on
  // the layers layer_types names, by default from max_window_layers on.
  c.sliding_window.assign(c.num_hidden_layers, std::nullopt);
  // The class default 4096 when the key is absent; null: none.
  std::optional<int64_t> window;
  if (mistral || (qwen2 && config.get_bool("use_sliding_window", false))) {
    if (!config.raw.contains("sliding_window"))
      window = 4096;
    else if (config.has("sliding_window"))
      window = config.get_int("sliding_window", 0);
  }
  if (window) {
    if (*window <= 0) throw Error(context(config.path, "sliding_window must be positive"));
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      bool sliding = true;
      if (qwen2) {
        if (config.has("layer_types")) {
          const auto& types = config.raw["layer_types"];
          if (!types.is_array() || static_cast<int64_t>(types.size()) != c.num_hidden_layers)
            throw Error(context(config.path, "layer_types does not list num_hidden_layers types"));
          sliding = types[i] == "sliding_attention";
        } else {
          sliding = i >= config.get_int("max_window_layers", 28);
        }
      }
      if (sliding) c.sliding_window[i] = window;
    }
  }
  return c;
}

LlamaRMSNorm::LlamaRMSNorm(const WeightLoader& w, int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", w.tensor("weight", {dim}), false);
}

at::Tensor LlamaRMSNorm::forward(const at::Tensor& x) const {
  const at::Tensor h = x.to(at::kFloat);
  const at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (h * at::rsqrt(variance + eps_)).to(x.scalar_type());
}

LlamaRotaryEmbedding::LlamaRotaryEmbedding(const LlamaConfig& c)
    : torch::nn::Module("LlamaRotaryEmbedding") {
  auto [freq, scaling] = rope_init(c);
  inv_freq = register_buffer("inv_freq", freq);
  attention_scaling_ = scaling;
}

std::pair<at::Tensor, at::Tensor> LlamaRotaryEmbedding::forward(const at::Tensor& position_ids,
                                                                at::ScalarType dtype) const {
  const at::Tensor freqs = position_ids.unsqueeze(-1).to(at::kFloat) * inv_freq;
  const at::Tensor emb = at::cat({freqs, freqs}, -1);
  at::Tensor cos = emb.cos(), sin = emb.sin();
  if (attention_scaling_ != 1.0) {
    cos = cos * attention_scaling_;
    sin = sin * attention_scaling_;
  }
  return {cos.to(dtype), sin.to(dtype)};
}

LlamaMLP::LlamaMLP(const WeightLoader& w, const LlamaConfig& c) : act_(c.hidden_act) {
  Scope s(*this, w);
  gate_proj_ = s.add<Linear>("gate_proj", c.hidden_size, c.intermediate_size, c.mlp_bias);
  up_proj_ = s.add<Linear>("up_proj", c.hidden_size, c.intermediate_size, c.mlp_bias);
  down_proj_ = s.add<Linear>("down_proj", c.intermediate_size, c.hidden_size, c.mlp_bias);
}

at::Tensor LlamaMLP::forward(const at::Tensor& x) const {
  return down_proj_->forward(activate(act_, gate_proj_->forward(x)) * up_proj_->forward(x));
}

LlamaAttention::LlamaAttention(const WeightLoader& w, const LlamaConfig& c)
    : heads_(c.num_attention_heads), kv_heads_(c.num_key_value_heads), head_dim_(c.head_dim) {
  Scope s(*this, w);
  q_proj_ = s.add<Linear>("q_proj", c.hidden_size, heads_ * head_dim_, c.qkv_bias);
  k_proj_ = s.add<Linear>("k_proj", c.hidden_size, kv_heads_ * head_dim_, c.qkv_bias);
  v_proj_ = s.add<Linear>("v_proj", c.hidden_size, kv_heads_ * head_dim_, c.qkv_bias);
  o_proj_ = s.add<Linear>("o_proj", heads_ * head_dim_, c.hidden_size, c.o_bias);
}

LlamaAttention::Output LlamaAttention::forward(const at::Tensor& hidden, const at::Tensor& cos,
                                               const at::Tensor& sin, const at::Tensor& mask,
                                               const at::Tensor& cache,
                                               const at::Tensor& cache_position) const {
  const int64_t batch = hidden.size(0), length = hidden.size(1);
  auto heads_first = [&](const at::Tensor& x) {
    return view_keeping(x, {batch, length, -1, head_dim_}, {0, 1}, &hidden).transpose(1, 2);
  };
  at::Tensor q = heads_first(q_proj_->forward(hidden));
  at::Tensor k = heads_first(k_proj_->forward(hidden));
  at::Tensor v = heads_first(v_proj_->forward(hidden));
  // apply_rotary_pos_emb in the states' own dtype (no upcast, unlike ModernBERT's).
  const at::Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);
  q = q * c + rotate_half(q) * s;
  k = k * c + rotate_half(k) * s;
  Output out;
  out.key = k;
  out.value = v;
  if (cache.defined()) {  // StaticCache.update: index_copy_ into the slots, attend to all of them
    at::Tensor keys = cache.select(0, 0), values = cache.select(0, 1);
    keys.index_copy_(2, cache_position, k);
    values.index_copy_(2, cache_position, v);
    k = keys;
    v = values;
  }
  const int64_t n_rep = heads_ / kv_heads_;
  at::Tensor a =
      at::scaled_dot_product_attention(q, repeat_kv(k, n_rep), repeat_kv(v, n_rep), mask, 0.0,
                                       false, std::pow(static_cast<double>(head_dim_), -0.5));
  a = a.transpose(1, 2).contiguous();
  out.hidden = o_proj_->forward(view_keeping(a, {batch, length, -1}, {0, 1}, &hidden));
  return out;
}

LlamaDecoderLayer::LlamaDecoderLayer(const WeightLoader& w, const LlamaConfig& c) {
  Scope s(*this, w);
  self_attn_ = s.add<LlamaAttention>("self_attn", c);
  mlp_ = s.add<LlamaMLP>("mlp", c);
  input_layernorm_ = s.add<LlamaRMSNorm>("input_layernorm", c.hidden_size, c.rms_norm_eps);
  post_attention_layernorm_ =
      s.add<LlamaRMSNorm>("post_attention_layernorm", c.hidden_size, c.rms_norm_eps);
}

LlamaAttention::Output LlamaDecoderLayer::forward(const at::Tensor& hidden, const at::Tensor& cos,
                                                  const at::Tensor& sin, const at::Tensor& mask,
                                                  const at::Tensor& cache,
                                                  const at::Tensor& cache_position) const {
  LlamaAttention::Output out =
      self_attn_->forward(input_layernorm_->forward(hidden), cos, sin, mask, cache, cache_position);
  const at::Tensor h = hidden + out.hidden;
  out.hidden = h + mlp_->forward(post_attention_layernorm_->forward(h));
  return out;
}

LlamaModel::LlamaModel(const WeightLoader& w, const LlamaConfig& c) : c_(c) {
  Scope s(*this, w);
  embed_tokens_ = s.add<Embedding>("embed_tokens", c.vocab_size, c.hidden_size);
  layers_ = s.list<LlamaDecoderLayer>("layers");
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers_.push(c);
  norm_ = s.add<LlamaRMSNorm>("norm", c.hidden_size, c.rms_norm_eps);
  rotary_emb_ = register_module("rotary_emb", std::make_shared<LlamaRotaryEmbedding>(c));
}

std::vector<at::Tensor> LlamaModel::layer_masks(const at::Tensor& allowed,
                                                const at::Tensor& distance,
                                                at::ScalarType dtype) const {
  // One additive mask per distinct window, shared by the layers that have it.
  std::map<std::optional<int64_t>, at::Tensor> by_window;
  std::vector<at::Tensor> masks;
  for (const auto& window : c_.sliding_window) {
    at::Tensor& m = by_window[window];
    if (!m.defined()) {
      at::Tensor keep = allowed;
      if (window) keep = at::logical_and(keep, (distance < *window).unsqueeze(0));
      m = at::zeros_like(keep, keep.options().dtype(dtype))
              .masked_fill(at::logical_not(keep), finfo_min(dtype))
              .unsqueeze(1);
    }
    masks.push_back(m);
  }
  return masks;
}

at::Tensor LlamaModel::run_layers(at::Tensor h, const at::Tensor& position_ids,
                                  const at::Tensor& allowed, const at::Tensor& distance,
                                  const at::Tensor& cache, const at::Tensor& cache_position,
                                  std::vector<at::Tensor>* hidden,
                                  std::vector<at::Tensor>* presents) const {
  auto [cos, sin] = rotary_emb_->forward(position_ids, h.scalar_type());
  const std::vector<at::Tensor> masks = layer_masks(allowed, distance, h.scalar_type());
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (hidden) hidden->push_back(h);
    const at::Tensor layer_cache =
        cache.defined() ? cache.select(0, static_cast<int64_t>(i)) : at::Tensor();
    LlamaAttention::Output out =
        layers_[i].forward(h, cos, sin, masks[i], layer_cache, cache_position);
    h = out.hidden;
    if (presents) {
      // A sliding-window layer's DynamicCache keeps the last window - 1 positions.
      const std::optional<int64_t>& window = c_.sliding_window[i];
      const int64_t length = out.key.size(2);
      const int64_t keep = window ? std::min(length, *window - 1) : length;
      presents->push_back(out.key.narrow(2, length - keep, keep));
      presents->push_back(out.value.narrow(2, length - keep, keep));
    }
  }
  h = norm_->forward(h);
  if (hidden) hidden->push_back(h);
  return h;
}

BaseOutput LlamaModel::forward(const ModelInputs& in, std::vector<at::Tensor>* hidden) const {
  // LlamaModel.forward without position ids or a cache: positions 0 .. length - 1,
  // the causal mask combined with the padding mask.
  const at::Tensor positions = arange_like(in.input_ids, 1);
  const CausalSlots slots = causal_slots(positions, positions, in.attention_mask);
  BaseOutput out;
  out.last_hidden_state =
      run_layers(embed_tokens_->forward(in.input_ids), positions.unsqueeze(0), slots.allowed,
                 slots.distance, {}, {}, hidden, c_.use_cache ? &out.presents : nullptr);
  return out;
}

at::Tensor LlamaModel::forward_cached(const CachedInputs& in) const {
  // StaticCache: the slots are the cache positions; a query sees the slots up to
  // its own that hold tokens of its row.
  const CausalSlots slots =
      causal_slots(in.cache_position, arange_like(in.attention_mask, 1), in.attention_mask);
  return run_layers(embed_tokens_->forward(in.input_ids), in.position_ids, slots.allowed,
                    slots.distance, in.cache, in.cache_position, nullptr, nullptr);
}

std::optional<CacheLayout> LlamaModel::cache_layout() const {
  return CacheLayout{c_.num_hidden_layers, c_.num_key_value_heads, c_.head_dim};
}

FamilyParts llama_parts(const ModelConfig& config, const BuildOptions& options) {
  LlamaConfig c = LlamaConfig::from(config);
  c.use_cache = options.use_cache.value_or(c.use_cache);
  FamilyParts p;
  p.hidden_size = c.hidden_size;
  p.num_labels = num_labels(config);
  p.num_hidden_states = c.num_hidden_layers + 1;
  if (c.use_cache)
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      p.present_names.push_back("present." + std::to_string(i) + ".key");
      p.present_names.push_back("present." + std::to_string(i) + ".value");
    }
  p.base = [c](const WeightLoader& w, std::optional<bool>) {
    return std::make_shared<LlamaModel>(w, c);
  };
  LMHeadLayout lm;  // lm_head: a Linear without bias, tied to embed_tokens when configured
  lm.decoder = "lm_head";
  lm.bias = LMHeadLayout::Bias::None;
  lm.vocab_size = c.vocab_size;
  lm.tie = c.tie_word_embeddings;
  HeadSpec head{[lm](const HeadContext& h) { return std::make_unique<MaskedLMHead>(h, lm); }, false,
                true};
  head.cached = true;
  p.heads["text-generation"] = head;
  return p;
}

}  // namespace hfjit::models
