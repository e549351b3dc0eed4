#include "hfjit/models/seq2seq.h"

#include <ATen/ATen.h>

#include "hfjit/models/layers.h"

namespace hfjit::models {

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
