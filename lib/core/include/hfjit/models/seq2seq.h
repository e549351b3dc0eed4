#pragma once
// Encoder-decoders (MarianMT, T5): the whole model is the family's own class,
// with transformers' forward (source ids, mask and decoder ids in; logits,
// the per-layer keys and values, the encoder's last hidden state out) and the
// two pieces generation runs, which `hfjit trace` records as two methods:
//
//   encode(input_ids [B, S], attention_mask [B, S])
//       -> cross [layers, 2, B, heads, S, head_dim]: every decoder layer's
//          cross-attention keys and values, computed once per input
//   decode(decoder_input_ids [R, n], cache_position [n], cache, cross,
//          encoder_attention_mask [R, S])
//       -> logits [R, vocab] of the last position, cache (updated in place)
//
// The self-attention cache is static, [layers, 2, R, heads, T, head_dim]: the
// n new tokens are written at slots cache_position (= their positions, from 0),
// and each attends to the slots up to its own. R is the rows decoded (inputs x
// beams); cross and the encoder mask are expanded to them by the caller.

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hfjit/models/model.h"
#include "hfjit/weights.h"

namespace hfjit::models {

// One decoder step of an encoder-decoder (see the header comment).
struct DecoderStep {
  at::Tensor decoder_input_ids;       // [R, n] int64
  at::Tensor cache_position;          // [n] int64, ascending
  at::Tensor cache;                   // [layers, 2, R, heads, T, head_dim], updated in place
  at::Tensor cross;                   // [layers, 2, R, heads, S, head_dim]
  at::Tensor encoder_attention_mask;  // [R, S] int64
};

// A decoder layer's keys and values: its self-attention's (a step's new ones,
// or the whole cache after writing them) and its cross-attention's.
struct LayerKV {
  at::Tensor self_k, self_v, cross_k, cross_v;
};

// The arguments of the decode method, in order, and of the encode method.
inline const std::vector<std::string> kDecodeInputNames = {
    "decoder_input_ids", "cache_position", "cache", "cross", "encoder_attention_mask"};
inline const std::vector<std::string> kEncodeInputNames = {"input_ids", "attention_mask"};

// The generic half of an encoder-decoder: forward, encode and decode are
// written once here over the family's pieces (run_encoder, cross_key_value,
// run_decoder, logits).
class Seq2SeqModel : public Model {
 public:
  // transformers' forward: logits, then (with use_cache) each decoder layer's
  // self key, self value, cross key, cross value, then the encoder's last
  // hidden state, then the encoder's and the decoder's hidden states when asked.
  std::vector<at::Tensor> forward(const ModelInputs& in) final;
  // The cross-attention keys and values of every decoder layer for a source batch.
  at::Tensor encode(const at::Tensor& input_ids, const at::Tensor& attention_mask);
  // {logits [R, vocab] of the step's last position, the cache}.
  std::vector<at::Tensor> decode(const DecoderStep& step);
  // The decoder's self-attention cache (and the cross tensor) dimensions.
  virtual CacheLayout decoder_cache() const = 0;
  // The logits' width (the target vocabulary).
  int64_t vocab_size() const { return vocab_size_; }

 protected:
  struct Sizes {
    int64_t vocab = 0, encoder_layers = 0, decoder_layers = 0;
    bool presents = true;  // config's use_cache: forward returns the keys and values
  };
  Seq2SeqModel(const std::string& hf_class, bool hidden, const Sizes& sizes);

  // The encoder's last hidden state; appends its hidden states to `hidden` when given.
  virtual at::Tensor run_encoder(const at::Tensor& ids, const at::Tensor& mask,
                                 std::vector<at::Tensor>* hidden) const = 0;
  // Decoder layer `layer`'s cross-attention keys and values of the encoder output.
  virtual std::pair<at::Tensor, at::Tensor> cross_key_value(
      size_t layer, const at::Tensor& encoder_out) const = 0;
  // The decoder's last hidden state over `ids` at `positions` (the cache slots
  // when `cache` is given); kv[i].cross_* given, kv[i].self_* set.
  virtual at::Tensor run_decoder(const at::Tensor& ids, const at::Tensor& positions,
                                 const at::Tensor& cache, std::vector<LayerKV>& kv,
                                 const at::Tensor& encoder_mask,
                                 std::vector<at::Tensor>* hidden) const = 0;
  virtual at::Tensor logits(const at::Tensor& last_hidden) const = 0;

 private:
  Sizes sizes_;
  int64_t vocab_size_;
  bool hidden_;
};

// Attention over [batch, heads, length, head_dim] tensors: softmax(q k^T *
// scale + bias) v, with `bias` an additive mask (and position bias) broadcast
// to [batch, heads, q length, k length]; returns [batch, q length, heads * head_dim].
at::Tensor seq2seq_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& bias, double scale);
// [batch, length, heads * head_dim] -> [batch, heads, length, head_dim].
at::Tensor heads_first(const at::Tensor& x, int64_t head_dim);
// The additive causal mask of decoder self-attention: a query at slot
// query_slots[t] sees key slots up to its own; [1, 1, T, K] of 0 / finfo.min.
at::Tensor causal_mask(const at::Tensor& query_slots, const at::Tensor& key_slots,
                       at::ScalarType dtype);
// Writes k and v ([R, heads, n, head_dim]) into a layer's cache ([2, R, heads,
// T, head_dim]) at `cache_position` and returns the whole keys and values.
std::pair<at::Tensor, at::Tensor> cache_update(const at::Tensor& layer_cache,
                                               const at::Tensor& cache_position,
                                               const at::Tensor& k, const at::Tensor& v);

}  // namespace hfjit::models
