// MarianMTModel, mirroring transformers 5's models/marian/modeling_marian.py:
// post-norm encoder and decoder layers, sinusoidal positions (a table computed
// at load, as MarianSinusoidalPositionalEmbedding.create_weight computes it),
// embeddings scaled by sqrt(d_model) (scale_embedding), an lm_head tied to the
// shared embeddings plus final_logits_bias. See seq2seq.h for the generation
// methods.

#include <ATen/ATen.h>

#include <cmath>

#include "hfjit/error.h"
#include "hfjit/models/heads.h"
#include "hfjit/models/layers.h"
#include "hfjit/models/seq2seq.h"

namespace hfjit::models {
namespace {

// MarianConfig's fields (config.json names) with the class defaults.
struct MarianConfig {
  int64_t vocab_size = 58101, decoder_vocab_size = 58101;
  int64_t d_model = 1024;
  int64_t encoder_layers = 12, decoder_layers = 12;
  int64_t encoder_heads = 16, decoder_heads = 16;
  int64_t encoder_ffn_dim = 4096, decoder_ffn_dim = 4096;
  Activation act = Activation::Gelu;
  int64_t max_position_embeddings = 1024;
  bool scale_embedding = false;
  bool share_embeddings = true;
  bool use_cache = true;

  static MarianConfig from(const ModelConfig& config) {
    MarianConfig c;
    c.vocab_size = config.get_int("vocab_size", c.vocab_size);
    c.decoder_vocab_size = config.has("decoder_vocab_size")
                               ? config.get_int("decoder_vocab_size", c.vocab_size)
                               : c.vocab_size;
    c.d_model = config.get_int("d_model", c.d_model);
    c.encoder_layers = config.get_int("encoder_layers", c.encoder_layers);
    c.decoder_layers = config.get_int("decoder_layers", c.decoder_layers);
    c.encoder_heads = config.get_int("encoder_attention_heads", c.encoder_heads);
    c.decoder_heads = config.get_int("decoder_attention_heads", c.decoder_heads);
    c.encoder_ffn_dim = config.get_int("encoder_ffn_dim", c.encoder_ffn_dim);
    c.decoder_ffn_dim = config.get_int("decoder_ffn_dim", c.decoder_ffn_dim);
    c.act = parse_activation(config.get_string("activation_function", "gelu"), config,
                             "activation_function");
    c.max_position_embeddings =
        config.get_int("max_position_embeddings", c.max_position_embeddings);
    c.scale_embedding = config.get_bool("scale_embedding", c.scale_embedding);
    c.share_embeddings = config.get_bool("share_encoder_decoder_embeddings", c.share_embeddings);
    c.use_cache = config.get_bool("use_cache", c.use_cache);
    check_heads(config, c.d_model, c.encoder_heads);
    check_heads(config, c.d_model, c.decoder_heads);
    if (c.max_position_embeddings <= 0)
      throw Error(context(config.path, "max_position_embeddings must be positive"));
    return c;
  }
  double embed_scale() const {
    return scale_embedding ? std::sqrt(static_cast<double>(d_model)) : 1.0;
  }
};

// MarianSinusoidalPositionalEmbedding.create_weight: position / 10000^(2 (j // 2) / dim)
// in double (numpy), sin of the even columns in the first half, cos of the odd
// ones in the second, then fp32.
at::Tensor sinusoidal_table(int64_t positions, int64_t dim) {
  at::Tensor out = at::empty({positions, dim}, at::TensorOptions().dtype(at::kDouble));
  auto a = out.accessor<double, 2>();
  const int64_t sentinel = dim % 2 == 0 ? dim / 2 : dim / 2 + 1;
  for (int64_t pos = 0; pos < positions; ++pos) {
    for (int64_t j = 0; j < dim; ++j) {
      const double angle =
          static_cast<double>(pos) /
          std::pow(10000.0, static_cast<double>(2 * (j / 2)) / static_cast<double>(dim));
      if (j % 2 == 0)
        a[pos][j / 2] = std::sin(angle);
      else
        a[pos][sentinel + j / 2] = std::cos(angle);
    }
  }
  return out.to(at::kFloat);
}

class MarianAttention : public torch::nn::Module {
 public:
  MarianAttention(const WeightLoader& w, int64_t dim, int64_t heads)
      : torch::nn::Module("MarianAttention"), head_dim_(dim / heads) {
    Scope s(*this, w);
    k_proj_ = s.add<Linear>("k_proj", dim, dim);
    v_proj_ = s.add<Linear>("v_proj", dim, dim);
    q_proj_ = s.add<Linear>("q_proj", dim, dim);
    out_proj_ = s.add<Linear>("out_proj", dim, dim);
  }
  // The keys and values of `states`, [batch, heads, length, head_dim].
  std::pair<at::Tensor, at::Tensor> key_value(const at::Tensor& states) const {
    return {heads_first(k_proj_->forward(states), head_dim_),
            heads_first(v_proj_->forward(states), head_dim_)};
  }
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& mask) const {
    const at::Tensor q = heads_first(q_proj_->forward(hidden), head_dim_);
    return out_proj_->forward(
        seq2seq_attention(q, k, v, mask, std::pow(static_cast<double>(head_dim_), -0.5)));
  }

 private:
  int64_t head_dim_;
  std::shared_ptr<Linear> k_proj_, v_proj_, q_proj_, out_proj_;
};

class MarianEncoderLayer : public torch::nn::Module {
 public:
  MarianEncoderLayer(const WeightLoader& w, const MarianConfig& c)
      : torch::nn::Module("MarianEncoderLayer"), act_(c.act) {
    Scope s(*this, w);
    self_attn_ = s.add<MarianAttention>("self_attn", c.d_model, c.encoder_heads);
    self_attn_layer_norm_ = s.add<LayerNorm>("self_attn_layer_norm", c.d_model, 1e-5);
    fc1_ = s.add<Linear>("fc1", c.d_model, c.encoder_ffn_dim);
    fc2_ = s.add<Linear>("fc2", c.encoder_ffn_dim, c.d_model);
    final_layer_norm_ = s.add<LayerNorm>("final_layer_norm", c.d_model, 1e-5);
  }
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& mask) const {
    auto [k, v] = self_attn_->key_value(hidden);
    at::Tensor h = self_attn_layer_norm_->forward(hidden + self_attn_->forward(hidden, k, v, mask));
    return final_layer_norm_->forward(h + fc2_->forward(activate(act_, fc1_->forward(h))));
  }

 private:
  Activation act_;
  std::shared_ptr<MarianAttention> self_attn_;
  std::shared_ptr<LayerNorm> self_attn_layer_norm_, final_layer_norm_;
  std::shared_ptr<Linear> fc1_, fc2_;
};

class MarianDecoderLayer : public torch::nn::Module {
 public:
  MarianDecoderLayer(const WeightLoader& w, const MarianConfig& c)
      : torch::nn::Module("MarianDecoderLayer"), act_(c.act) {
    Scope s(*this, w);
    self_attn_ = s.add<MarianAttention>("self_attn", c.d_model, c.decoder_heads);
    self_attn_layer_norm_ = s.add<LayerNorm>("self_attn_layer_norm", c.d_model, 1e-5);
    encoder_attn_ = s.add<MarianAttention>("encoder_attn", c.d_model, c.decoder_heads);
    encoder_attn_layer_norm_ = s.add<LayerNorm>("encoder_attn_layer_norm", c.d_model, 1e-5);
    fc1_ = s.add<Linear>("fc1", c.d_model, c.decoder_ffn_dim);
    fc2_ = s.add<Linear>("fc2", c.decoder_ffn_dim, c.d_model);
    final_layer_norm_ = s.add<LayerNorm>("final_layer_norm", c.d_model, 1e-5);
  }
  std::pair<at::Tensor, at::Tensor> cross_key_value(const at::Tensor& encoder_hidden) const {
    return encoder_attn_->key_value(encoder_hidden);
  }
  // `kv.cross_*` given; `kv.self_*` set to this step's keys and values (with a
  // cache: the whole cache after writing them at `cache_position`).
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& self_mask,
                     const at::Tensor& cross_mask, LayerKV& kv, const at::Tensor& layer_cache,
                     const at::Tensor& cache_position) const {
    std::tie(kv.self_k, kv.self_v) = self_attn_->key_value(hidden);
    if (layer_cache.defined())
      std::tie(kv.self_k, kv.self_v) =
          cache_update(layer_cache, cache_position, kv.self_k, kv.self_v);
    at::Tensor h = self_attn_layer_norm_->forward(
        hidden + self_attn_->forward(hidden, kv.self_k, kv.self_v, self_mask));
    h = encoder_attn_layer_norm_->forward(
        h + encoder_attn_->forward(h, kv.cross_k, kv.cross_v, cross_mask));
    return final_layer_norm_->forward(h + fc2_->forward(activate(act_, fc1_->forward(h))));
  }

 private:
  Activation act_;
  std::shared_ptr<MarianAttention> self_attn_, encoder_attn_;
  std::shared_ptr<LayerNorm> self_attn_layer_norm_, encoder_attn_layer_norm_, final_layer_norm_;
  std::shared_ptr<Linear> fc1_, fc2_;
};

// MarianEncoder / MarianDecoder: token embeddings (shared), positions, layers.
template <class Layer>
class MarianStack : public torch::nn::Module {
 public:
  MarianStack(const std::string& hf_class, const WeightLoader& w, const MarianConfig& c,
              at::Tensor embed_table, int64_t layers)
      : torch::nn::Module(hf_class), scale_(c.embed_scale()) {
    Scope s(*this, w);
    // The checkpoint's copy of a shared table (if saved) is the same tensor.
    embed_tokens_ = s.put("embed_tokens", std::make_shared<Embedding>(std::move(embed_table)));
    // Not in checkpoints (_keys_to_ignore_on_save): computed, as transformers' _init_weights does.
    embed_positions_ =
        s.put("embed_positions",
              std::make_shared<Embedding>(sinusoidal_table(c.max_position_embeddings, c.d_model)));
    layers_ = s.list<Layer>("layers");
    for (int64_t i = 0; i < layers; ++i) layers_.push(c);
  }
  // embed_tokens(ids) * embed_scale + embed_positions(positions).
  at::Tensor embed(const at::Tensor& ids, const at::Tensor& positions) const {
    return embed_tokens_->forward(ids) * scale_ + embed_positions_->forward(positions);
  }
  const ModuleList<Layer>& layers() const { return layers_; }

 private:
  double scale_;
  std::shared_ptr<Embedding> embed_tokens_, embed_positions_;
  ModuleList<Layer> layers_;
};

using MarianEncoder = MarianStack<MarianEncoderLayer>;
using MarianDecoder = MarianStack<MarianDecoderLayer>;

// MarianModel: shared, encoder, decoder.
class MarianModel : public torch::nn::Module {
 public:
  MarianModel(const WeightLoader& w, const MarianConfig& c) : torch::nn::Module("MarianModel") {
    Scope s(*this, w);
    at::Tensor encoder_table, decoder_table;
    if (c.share_embeddings) {
      shared = s.add<Embedding>("shared", c.vocab_size, c.d_model);
      encoder_table = decoder_table = shared->weight;
      for (const char* stack : {"encoder", "decoder"})
        w.sub(stack).tied("embed_tokens.weight", {c.vocab_size, c.d_model}, shared->weight,
                          w.model_name("shared.weight"), true);
    } else {
      encoder_table = w.sub("encoder").tensor("embed_tokens.weight", {c.vocab_size, c.d_model});
      decoder_table =
          w.sub("decoder").tensor("embed_tokens.weight", {c.decoder_vocab_size, c.d_model});
    }
    this->decoder_table = decoder_table;
    encoder = register_module("encoder",
                              std::make_shared<MarianEncoder>("MarianEncoder", w.sub("encoder"), c,
                                                              encoder_table, c.encoder_layers));
    decoder = register_module("decoder",
                              std::make_shared<MarianDecoder>("MarianDecoder", w.sub("decoder"), c,
                                                              decoder_table, c.decoder_layers));
    // The position tables are never saved; an old checkpoint's copy is ignored.
    for (const char* stack : {"encoder", "decoder"})
      if (w.sub(stack).contains("embed_positions.weight"))
        w.sub(stack).skip("embed_positions.weight");
  }
  std::shared_ptr<Embedding> shared;
  at::Tensor decoder_table;  // what lm_head is tied to
  std::shared_ptr<MarianEncoder> encoder;
  std::shared_ptr<MarianDecoder> decoder;
};

class MarianMTModel : public Seq2SeqModel {
 public:
  MarianMTModel(const std::string& hf_class, const WeightLoader& w, const MarianConfig& c,
                bool hidden)
      : Seq2SeqModel(hf_class, hidden,
                     {c.share_embeddings ? c.vocab_size : c.decoder_vocab_size, c.encoder_layers,
                      c.decoder_layers, c.use_cache}),
        c_(c) {
    Scope s(*this, w);
    model_ = s.add<MarianModel>("model", c);
    const int64_t vocab = vocab_size();
    final_logits_bias_ =
        register_buffer("final_logits_bias", w.contains("final_logits_bias")
                                                 ? w.tensor("final_logits_bias", {1, vocab})
                                                 : at::zeros({1, vocab}));
    // lm_head: the checkpoint's own when it has one (transformers 5 does not tie
    // weights that differ), else a clone of the decoder's embeddings.
    const std::string source =
        c.share_embeddings ? "model.shared.weight" : "model.decoder.embed_tokens.weight";
    const at::Tensor table = model_->decoder_table;
    const bool tie = !w.contains("lm_head.weight");
    at::Tensor weight =
        w.sub("lm_head").tied("weight", {vocab, c.d_model}, table, w.model_name(source), tie);
    lm_head_ = s.put("lm_head", std::make_shared<Linear>(weight, at::Tensor()));
  }

  CacheLayout decoder_cache() const override {
    return CacheLayout{c_.decoder_layers, c_.decoder_heads, c_.d_model / c_.decoder_heads};
  }

 private:
  at::Tensor run_encoder(const at::Tensor& ids, const at::Tensor& mask,
                         std::vector<at::Tensor>* hidden) const override {
    const auto& enc = *model_->encoder;
    at::Tensor h = enc.embed(ids, arange_like(ids, 1));
    const at::Tensor m = extended_attention_mask(mask, h.scalar_type());
    if (hidden) hidden->push_back(h);
    for (size_t i = 0; i < enc.layers().size(); ++i) {
      h = enc.layers()[i].forward(h, m);
      if (hidden) hidden->push_back(h);
    }
    return h;
  }

  // The decoder over `ids` at `positions` (= cache slots with a cache).
  at::Tensor run_decoder(const at::Tensor& ids, const at::Tensor& positions,
                         const at::Tensor& cache, std::vector<LayerKV>& kv,
                         const at::Tensor& encoder_mask,
                         std::vector<at::Tensor>* hidden) const override {
    const auto& dec = *model_->decoder;
    at::Tensor h = dec.embed(ids, positions);
    const at::Tensor key_slots = cache.defined() ? arange_like(cache, 4) : positions;
    const at::Tensor self_mask = causal_mask(positions, key_slots, h.scalar_type());
    const at::Tensor cross_mask = extended_attention_mask(encoder_mask, h.scalar_type());
    if (hidden) hidden->push_back(h);
    for (size_t i = 0; i < dec.layers().size(); ++i) {
      const at::Tensor layer_cache =
          cache.defined() ? cache.select(0, static_cast<int64_t>(i)) : at::Tensor();
      h = dec.layers()[i].forward(h, self_mask, cross_mask, kv[i], layer_cache, positions);
      if (hidden) hidden->push_back(h);
    }
    return h;
  }

  std::pair<at::Tensor, at::Tensor> cross_key_value(size_t layer,
                                                    const at::Tensor& encoder_out) const override {
    return model_->decoder->layers()[layer].cross_key_value(encoder_out);
  }

  at::Tensor logits(const at::Tensor& h) const override {
    return lm_head_->forward(h) + final_logits_bias_;
  }

  MarianConfig c_;
  std::shared_ptr<MarianModel> model_;
  std::shared_ptr<Linear> lm_head_;
  at::Tensor final_logits_bias_;
};

}  // namespace

FamilyParts marian_parts(const ModelConfig& config, const BuildOptions& options) {
  MarianConfig c = MarianConfig::from(config);
  c.use_cache = options.use_cache.value_or(c.use_cache);
  FamilyParts p;
  p.hidden_size = c.d_model;
  p.seq2seq = [c](const WeightLoader& w, const std::string& hf_class, bool hidden) {
    return std::make_shared<MarianMTModel>(hf_class, w, c, hidden);
  };
  return p;
}

}  // namespace hfjit::models
