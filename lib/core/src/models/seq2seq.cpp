#include "hfjit/models/seq2seq.h"

#include <ATen/ATen.h>

#include "hfjit/models/layers.h"

namespace hfjit::models {

Seq2SeqModel::Seq2SeqModel(const std::string& hf_class, bool hidden, const Sizes& sizes)
    : Model(hf_class, hidden), sizes_(sizes), vocab_size_(sizes.vocab), hidden_(hidden) {
  std::vector<std::string> names = {"logits"};
  if (sizes.presents)
    for (int64_t i = 0; i < sizes.decoder_layers; ++i)
      for (const char* what : {"self_key", "self_value", "cross_key", "cross_value"})
        names.push_back("past_key_values." + std::to_string(i) + "." + what);
  names.push_back("encoder_last_hidden_state");
  if (hidden) {
    for (int64_t i = 0; i <= sizes.encoder_layers; ++i)
      names.push_back("encoder_hidden_states." + std::to_string(i));
    for (int64_t i = 0; i <= sizes.decoder_layers; ++i)
      names.push_back("decoder_hidden_states." + std::to_string(i));
  }
  set_output_names(names, 0);
}

std::vector<at::Tensor> Seq2SeqModel::forward(const ModelInputs& in) {
  std::vector<at::Tensor> enc_hidden, dec_hidden;
  const at::Tensor encoder_out =
      run_encoder(in.input_ids, in.attention_mask, hidden_ ? &enc_hidden : nullptr);
  std::vector<LayerKV> kv(static_cast<size_t>(sizes_.decoder_layers));
  for (size_t i = 0; i < kv.size(); ++i)
    std::tie(kv[i].cross_k, kv[i].cross_v) = cross_key_value(i, encoder_out);
  const at::Tensor h = run_decoder(in.decoder_input_ids, arange_like(in.decoder_input_ids, 1), {},
                                   kv, in.attention_mask, hidden_ ? &dec_hidden : nullptr);
  std::vector<at::Tensor> out = {logits(h)};
  if (sizes_.presents)
    for (const LayerKV& l : kv) out.insert(out.end(), {l.self_k, l.self_v, l.cross_k, l.cross_v});
  out.push_back(encoder_out);
  out.insert(out.end(), enc_hidden.begin(), enc_hidden.end());
  out.insert(out.end(), dec_hidden.begin(), dec_hidden.end());
  return out;
}

at::Tensor Seq2SeqModel::encode(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  const at::Tensor encoder_out = run_encoder(input_ids, attention_mask, nullptr);
  std::vector<at::Tensor> per_layer;
  for (size_t i = 0; i < static_cast<size_t>(sizes_.decoder_layers); ++i) {
    auto [k, v] = cross_key_value(i, encoder_out);
    per_layer.push_back(at::stack({k, v}));
  }
  return at::stack(per_layer);
}

std::vector<at::Tensor> Seq2SeqModel::decode(const DecoderStep& step) {
  std::vector<LayerKV> kv(static_cast<size_t>(sizes_.decoder_layers));
  for (size_t i = 0; i < kv.size(); ++i) {
    const at::Tensor layer = step.cross.select(0, static_cast<int64_t>(i));
    kv[i].cross_k = layer.select(0, 0);
    kv[i].cross_v = layer.select(0, 1);
  }
  const at::Tensor h = run_decoder(step.decoder_input_ids, step.cache_position, step.cache, kv,
                                   step.encoder_attention_mask, nullptr);
  return {logits(h.select(1, -1)), step.cache};
}

at::Tensor heads_first(const at::Tensor& x, int64_t head_dim) {
  return view_keeping(x, {x.size(0), x.size(1), -1, head_dim}, {0, 1}).transpose(1, 2);
}

at::Tensor seq2seq_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& bias, double scale) {
  const at::Tensor a = at::scaled_dot_product_attention(q, k, v, bias, 0.0, false, scale)
                           .transpose(1, 2)
                           .contiguous();
  return view_keeping(a, {a.size(0), a.size(1), -1}, {0, 1});
}

at::Tensor causal_mask(const at::Tensor& query_slots, const at::Tensor& key_slots,
                       at::ScalarType dtype) {
  const at::Tensor allowed = key_slots.unsqueeze(0) <= query_slots.unsqueeze(1);
  return at::zeros_like(allowed, allowed.options().dtype(dtype))
      .masked_fill(at::logical_not(allowed), finfo_min(dtype))
      .unsqueeze(0)
      .unsqueeze(0);
}

std::pair<at::Tensor, at::Tensor> cache_update(const at::Tensor& layer_cache,
                                               const at::Tensor& cache_position,
                                               const at::Tensor& k, const at::Tensor& v) {
  at::Tensor keys = layer_cache.select(0, 0), values = layer_cache.select(0, 1);
  keys.index_copy_(2, cache_position, k);
  values.index_copy_(2, cache_position, v);
  return {keys, values};
}

}  // namespace hfjit::models
