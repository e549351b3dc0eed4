// T5ForConditionalGeneration, mirroring transformers 5's models/t5/modeling_t5.py:
// pre-norm blocks with T5's RMS-style layer norm, attention without scaling
// and with a bucketed relative position bias (computed by the first block of
// each stack, shared by the others), a ReLU or gated-GELU (v1.1) feed-forward,
// and the decoder output scaled by d_model^-0.5 before lm_head when the
// config ties the embeddings (scale_decoder_outputs). See seq2seq.h for the
// generation methods.

#include <ATen/ATen.h>

#include <cmath>

#include "hfjit/error.h"
#include "hfjit/models/heads.h"
#include "hfjit/models/layers.h"
#include "hfjit/models/seq2seq.h"

namespace hfjit::models {
namespace {

// T5Config's fields (config.json names) with the class defaults.
struct T5Config {
  int64_t vocab_size = 32128, d_model = 512, d_kv = 64, d_ff = 2048;
  int64_t num_layers = 6, num_decoder_layers = 6, num_heads = 8;
  int64_t num_buckets = 32, max_distance = 128;
  double eps = 1e-6;
  bool gated = false;
  Activation act = Activation::Relu;
  bool scale_decoder_outputs = true;
  bool use_cache = true;

  static T5Config from(const ModelConfig& config) {
    T5Config c;
    c.vocab_size = config.get_int("vocab_size", c.vocab_size);
    c.d_model = config.get_int("d_model", c.d_model);
    c.d_kv = config.get_int("d_kv", c.d_kv);
    c.d_ff = config.get_int("d_ff", c.d_ff);
    c.num_layers = config.get_int("num_layers", c.num_layers);
    c.num_decoder_layers = config.has("num_decoder_layers")
                               ? config.get_int("num_decoder_layers", c.num_layers)
                               : c.num_layers;
    c.num_heads = config.get_int("num_heads", c.num_heads);
    c.num_buckets = config.get_int("relative_attention_num_buckets", c.num_buckets);
    c.max_distance = config.get_int("relative_attention_max_distance", c.max_distance);
    c.eps = config.get_double("layer_norm_epsilon", c.eps);
    // T5Config.__post_init__: "gated-gelu" is gelu_new; "gated-X" / "X" otherwise.
    const std::string proj = config.get_string("feed_forward_proj", "relu");
    const size_t dash = proj.find('-');
    if (dash != std::string::npos &&
        (proj.substr(0, dash) != "gated" || proj.find('-', dash + 1) != std::string::npos))
      throw Error(context(
          config.path, "feed_forward_proj \"" + proj + "\" is not of the form gated-ACT or ACT"));
    c.gated = dash != std::string::npos;
    const std::string act = proj == "gated-gelu" ? "gelu_new" : proj.substr(dash + 1);
    c.act = parse_activation(act, config, "feed_forward_proj");
    // Original T5 scales the decoder output; v1.1 (tie_word_embeddings false) does not.
    c.scale_decoder_outputs = config.has("scale_decoder_outputs")
                                  ? config.get_bool("scale_decoder_outputs", true)
                                  : config.tie_word_embeddings.value_or(true);
    c.use_cache = config.get_bool("use_cache", c.use_cache);
    if (c.num_buckets < 2 || c.max_distance < 2)
      throw Error(context(config.path,
                          "relative_attention_num_buckets and relative_attention_max_distance "
                          "must be at least 2"));
    return c;
  }
};

// Mirrors T5LayerNorm: weight * x * rsqrt(mean(x32^2) + eps), no mean, no bias.
class T5LayerNorm : public torch::nn::Module {
 public:
  T5LayerNorm(const WeightLoader& w, int64_t dim, double eps)
      : torch::nn::Module("T5LayerNorm"), eps_(eps) {
    weight = register_parameter("weight", w.tensor("weight", {dim}), false);
  }
  at::Tensor forward(const at::Tensor& x) const {
    const at::Tensor variance = x.to(at::kFloat).pow(2).mean(-1, /*keepdim=*/true);
    return weight * (x * at::rsqrt(variance + eps_));
  }
  at::Tensor weight;

 private:
  double eps_;
};

// T5Attention._relative_position_bucket, op for op.
at::Tensor relative_position_bucket(at::Tensor relative_position, bool bidirectional,
                                    int64_t num_buckets, int64_t max_distance) {
  at::Tensor buckets = at::zeros_like(relative_position);
  if (bidirectional) {
    num_buckets /= 2;
    buckets = buckets + (relative_position > 0).to(at::kLong) * num_buckets;
    relative_position = at::abs(relative_position);
  } else {
    relative_position = -at::min(relative_position, at::zeros_like(relative_position));
  }
  const int64_t max_exact = num_buckets / 2;
  const at::Tensor is_small = relative_position < max_exact;
  at::Tensor large = (at::log(relative_position.to(at::kFloat) / static_cast<double>(max_exact)) /
                      std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
                      static_cast<double>(num_buckets - max_exact))
                         .to(at::kLong) +
                     max_exact;
  large = at::min(large, at::full_like(large, num_buckets - 1));
  return buckets + at::where(is_small, relative_position, large);
}

class T5Attention : public torch::nn::Module {
 public:
  T5Attention(const WeightLoader& w, const T5Config& c, bool relative_bias, bool decoder)
      : torch::nn::Module("T5Attention"),
        head_dim_(c.d_kv),
        num_buckets_(c.num_buckets),
        max_distance_(c.max_distance),
        bidirectional_(!decoder) {
    Scope s(*this, w);
    const int64_t inner = c.num_heads * c.d_kv;
    q_ = s.add<Linear>("q", c.d_model, inner, false);
    k_ = s.add<Linear>("k", c.d_model, inner, false);
    v_ = s.add<Linear>("v", c.d_model, inner, false);
    o_ = s.add<Linear>("o", inner, c.d_model, false);
    if (relative_bias)
      relative_attention_bias_ =
          s.add<Embedding>("relative_attention_bias", c.num_buckets, c.num_heads);
  }
  std::pair<at::Tensor, at::Tensor> key_value(const at::Tensor& states) const {
    return {heads_first(k_->forward(states), head_dim_),
            heads_first(v_->forward(states), head_dim_)};
  }
  // compute_bias: [1, heads, queries, keys] for query and key positions ([T], [K]).
  at::Tensor compute_bias(const at::Tensor& query_positions,
                          const at::Tensor& key_positions) const {
    const at::Tensor relative = key_positions.unsqueeze(0) - query_positions.unsqueeze(1);
    const at::Tensor buckets =
        relative_position_bucket(relative, bidirectional_, num_buckets_, max_distance_);
    return relative_attention_bias_->forward(buckets).permute({2, 0, 1}).unsqueeze(0);
  }
  // `bias`: the position bias plus the additive mask.
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& bias) const {
    const at::Tensor q = heads_first(q_->forward(hidden), head_dim_);
    return o_->forward(seq2seq_attention(q, k, v, bias, 1.0));
  }

 private:
  int64_t head_dim_, num_buckets_, max_distance_;
  bool bidirectional_;
  std::shared_ptr<Linear> q_, k_, v_, o_;
  std::shared_ptr<Embedding> relative_attention_bias_;
};

// T5LayerSelfAttention / T5LayerCrossAttention: x + attention(layer_norm(x)).
class T5LayerAttention : public torch::nn::Module {
 public:
  T5LayerAttention(const WeightLoader& w, const T5Config& c, bool cross, bool relative_bias,
                   bool decoder)
      : torch::nn::Module(cross ? "T5LayerCrossAttention" : "T5LayerSelfAttention") {
    Scope s(*this, w);
    attention =
        s.add<T5Attention>(cross ? "EncDecAttention" : "SelfAttention", c, relative_bias, decoder);
    layer_norm = s.add<T5LayerNorm>("layer_norm", c.d_model, c.eps);
  }
  std::shared_ptr<T5Attention> attention;
  std::shared_ptr<T5LayerNorm> layer_norm;
};

// T5DenseActDense (wi, wo) or T5DenseGatedActDense (wi_0, wi_1, wo).
class T5Dense : public torch::nn::Module {
 public:
  T5Dense(const WeightLoader& w, const T5Config& c)
      : torch::nn::Module(c.gated ? "T5DenseGatedActDense" : "T5DenseActDense"), act_(c.act) {
    Scope s(*this, w);
    if (c.gated) {
      wi_0_ = s.add<Linear>("wi_0", c.d_model, c.d_ff, false);
      wi_1_ = s.add<Linear>("wi_1", c.d_model, c.d_ff, false);
    } else {
      wi_ = s.add<Linear>("wi", c.d_model, c.d_ff, false);
    }
    wo_ = s.add<Linear>("wo", c.d_ff, c.d_model, false);
  }
  at::Tensor forward(const at::Tensor& x) const {
    if (wi_) return wo_->forward(activate(act_, wi_->forward(x)));
    return wo_->forward(activate(act_, wi_0_->forward(x)) * wi_1_->forward(x));
  }

 private:
  Activation act_;
  std::shared_ptr<Linear> wi_, wi_0_, wi_1_, wo_;
};

class T5LayerFF : public torch::nn::Module {
 public:
  T5LayerFF(const WeightLoader& w, const T5Config& c) : torch::nn::Module("T5LayerFF") {
    Scope s(*this, w);
    dense_ = s.add<T5Dense>("DenseReluDense", c);
    layer_norm_ = s.add<T5LayerNorm>("layer_norm", c.d_model, c.eps);
  }
  at::Tensor forward(const at::Tensor& x) const {
    return x + dense_->forward(layer_norm_->forward(x));
  }

 private:
  std::shared_ptr<T5Dense> dense_;
  std::shared_ptr<T5LayerNorm> layer_norm_;
};

// T5Block: layer.0 self-attention, layer.1 cross-attention (decoder), layer.-1 feed-forward.
class T5Block : public torch::nn::Module {
 public:
  T5Block(const WeightLoader& w, const T5Config& c, bool decoder, bool relative_bias)
      : torch::nn::Module("T5Block") {
    auto list = register_module("layer", std::make_shared<torch::nn::Module>("ModuleList"));
    const WeightLoader lw = w.sub("layer");
    int64_t i = 0;
    self_ = list->register_module(
        std::to_string(i),
        std::make_shared<T5LayerAttention>(lw.sub(i), c, false, relative_bias, decoder));
    ++i;
    if (decoder) {
      cross_ = list->register_module(
          std::to_string(i), std::make_shared<T5LayerAttention>(lw.sub(i), c, true, false, true));
      ++i;
    }
    ff_ = list->register_module(std::to_string(i), std::make_shared<T5LayerFF>(lw.sub(i), c));
  }
  const T5Attention& self_attention() const { return *self_->attention; }
  std::pair<at::Tensor, at::Tensor> cross_key_value(const at::Tensor& encoder_hidden) const {
    return cross_->attention->key_value(encoder_hidden);
  }
  // Encoder block: `self_bias` = position bias + padding mask.
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& self_bias) const {
    const at::Tensor normed = self_->layer_norm->forward(hidden);
    auto [k, v] = self_->attention->key_value(normed);
    const at::Tensor h = hidden + self_->attention->forward(normed, k, v, self_bias);
    return ff_->forward(h);
  }
  // Decoder block: `kv.cross_*` given, `kv.self_*` set (with a cache: the whole cache).
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& self_bias,
                     const at::Tensor& cross_bias, LayerKV& kv, const at::Tensor& layer_cache,
                     const at::Tensor& cache_position) const {
    const at::Tensor normed = self_->layer_norm->forward(hidden);
    std::tie(kv.self_k, kv.self_v) = self_->attention->key_value(normed);
    if (layer_cache.defined())
      std::tie(kv.self_k, kv.self_v) =
          cache_update(layer_cache, cache_position, kv.self_k, kv.self_v);
    at::Tensor h = hidden + self_->attention->forward(normed, kv.self_k, kv.self_v, self_bias);
    h = h + cross_->attention->forward(cross_->layer_norm->forward(h), kv.cross_k, kv.cross_v,
                                       cross_bias);
    return ff_->forward(h);
  }

 private:
  std::shared_ptr<T5LayerAttention> self_, cross_;
  std::shared_ptr<T5LayerFF> ff_;
};

class T5Stack : public torch::nn::Module {
 public:
  T5Stack(const WeightLoader& w, const T5Config& c, at::Tensor embed_table, bool decoder)
      : torch::nn::Module("T5Stack") {
    Scope s(*this, w);
    embed_tokens = s.put("embed_tokens", std::make_shared<Embedding>(std::move(embed_table)));
    block = s.list<T5Block>("block");
    const int64_t n = decoder ? c.num_decoder_layers : c.num_layers;
    for (int64_t i = 0; i < n; ++i) block.push(c, decoder, i == 0);
    final_layer_norm = s.add<T5LayerNorm>("final_layer_norm", c.d_model, c.eps);
    // transformers ignores this key (_keys_to_ignore_on_load_unexpected).
    const std::string stray = "block.0.layer.1.EncDecAttention.relative_attention_bias.weight";
    if (decoder && w.contains(stray)) w.skip(stray);
  }
  std::shared_ptr<Embedding> embed_tokens;
  ModuleList<T5Block> block;
  std::shared_ptr<T5LayerNorm> final_layer_norm;
};

class T5ForConditionalGeneration : public Seq2SeqModel {
 public:
  T5ForConditionalGeneration(const std::string& hf_class, const WeightLoader& w, const T5Config& c,
                             bool hidden)
      : Seq2SeqModel(hf_class, hidden,
                     {c.vocab_size, c.num_layers, c.num_decoder_layers, c.use_cache}),
        c_(c) {
    Scope s(*this, w);
    shared_ = s.add<Embedding>("shared", c.vocab_size, c.d_model);
    for (const char* stack : {"encoder", "decoder"})
      w.sub(stack).tied("embed_tokens.weight", {c.vocab_size, c.d_model}, shared_->weight,
                        w.model_name("shared.weight"), true);
    encoder_ = s.add<T5Stack>("encoder", c, shared_->weight, false);
    decoder_ = s.add<T5Stack>("decoder", c, shared_->weight, true);
    // The checkpoint's lm_head when it has one (v1.1, untied), else a clone of `shared`.
    const at::Tensor weight =
        w.sub("lm_head").tied("weight", {c.vocab_size, c.d_model}, shared_->weight,
                              w.model_name("shared.weight"), !w.contains("lm_head.weight"));
    lm_head_ = s.put("lm_head", std::make_shared<Linear>(weight, at::Tensor()));
  }

  CacheLayout decoder_cache() const override {
    return CacheLayout{c_.num_decoder_layers, c_.num_heads, c_.d_kv};
  }

 private:
  at::Tensor run_encoder(const at::Tensor& ids, const at::Tensor& mask,
                         std::vector<at::Tensor>* hidden) const override {
    at::Tensor h = encoder_->embed_tokens->forward(ids);
    const at::Tensor positions = arange_like(ids, 1);
    const at::Tensor bias = encoder_->block[0].self_attention().compute_bias(positions, positions) +
                            extended_attention_mask(mask, h.scalar_type());
    for (size_t i = 0; i < encoder_->block.size(); ++i) {
      if (hidden) hidden->push_back(h);
      h = encoder_->block[i].forward(h, bias);
    }
    h = encoder_->final_layer_norm->forward(h);
    if (hidden) hidden->push_back(h);
    return h;
  }

  at::Tensor run_decoder(const at::Tensor& ids, const at::Tensor& positions,
                         const at::Tensor& cache, std::vector<LayerKV>& kv,
                         const at::Tensor& encoder_mask,
                         std::vector<at::Tensor>* hidden) const override {
    at::Tensor h = decoder_->embed_tokens->forward(ids);
    const at::Tensor key_slots = cache.defined() ? arange_like(cache, 4) : positions;
    const at::Tensor self_bias =
        decoder_->block[0].self_attention().compute_bias(positions, key_slots) +
        causal_mask(positions, key_slots, h.scalar_type());
    const at::Tensor cross_bias = extended_attention_mask(encoder_mask, h.scalar_type());
    for (size_t i = 0; i < decoder_->block.size(); ++i) {
      if (hidden) hidden->push_back(h);
      const at::Tensor layer_cache =
          cache.defined() ? cache.select(0, static_cast<int64_t>(i)) : at::Tensor();
      h = decoder_->block[i].forward(h, self_bias, cross_bias, kv[i], layer_cache, positions);
    }
    h = decoder_->final_layer_norm->forward(h);
    if (hidden) hidden->push_back(h);
    return h;
  }

  std::pair<at::Tensor, at::Tensor> cross_key_value(size_t layer,
                                                    const at::Tensor& encoder_out) const override {
    return decoder_->block[layer].cross_key_value(encoder_out);
  }

  at::Tensor logits(const at::Tensor& h) const override {
    if (c_.scale_decoder_outputs)
      return lm_head_->forward(h * std::pow(static_cast<double>(c_.d_model), -0.5));
    return lm_head_->forward(h);
  }

  T5Config c_;
  std::shared_ptr<Embedding> shared_;
  std::shared_ptr<T5Stack> encoder_, decoder_;
  std::shared_ptr<Linear> lm_head_;
};

}  // namespace

FamilyParts t5_parts(const ModelConfig& config, const BuildOptions& options) {
  T5Config c = T5Config::from(config);
  c.use_cache = options.use_cache.value_or(c.use_cache);
  FamilyParts p;
  p.hidden_size = c.d_model;
  p.seq2seq = [c](const WeightLoader& w, const std::string& hf_class, bool hidden) {
    return std::make_shared<T5ForConditionalGeneration>(hf_class, w, c, hidden);
  };
  return p;
}

}  // namespace hfjit::models
