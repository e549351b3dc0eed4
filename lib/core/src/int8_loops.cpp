#include "int8_loops.h"

#include <algorithm>
#include <cmath>

// Built with -O3 -ffp-contract=off -fno-trapping-math -ffinite-math-only
// -fno-signed-zeros -fno-math-errno (lib/core/CMakeLists.txt): the min/max
// reductions and floor vectorize only with them, and no multiply is fused
// into an add unless written as std::fma, where aten fuses it. One copy per x86-64 level, picked at
// load time by the CPU.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define HFJIT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HFJIT_CLONES
#endif

namespace hfjit::int8_loops {

HFJIT_CLONES void quantize_row(const float* __restrict x, int64_t n, int8_t* __restrict q,
                               float* step, float* shift) {
  float lo = 0.f, hi = 0.f;
  for (int64_t k = 0; k < n; ++k) {
    lo = x[k] < lo ? x[k] : lo;
    hi = x[k] > hi ? x[k] : hi;
  }
  const float s = std::max((hi - lo) / 255.f, 1e-8f);
  const float inv = 1.f / s;
  const float offset = -127.5f - lo * inv;
  for (int64_t k = 0; k < n; ++k)
    q[k] = static_cast<int8_t>(static_cast<int32_t>(std::floor(x[k] * inv + offset)));
  *step = s;
  *shift = lo + 128.f * s;
}

HFJIT_CLONES void dequantize_row(const int32_t* __restrict acc, int64_t n, float step, float shift,
                                 const float* __restrict wscale, const float* __restrict wsum,
                                 const float* __restrict bias, const float* __restrict residual,
                                 float* __restrict y) {
  // at::addcmul rounds once (a fused multiply-add), at::mul_ apart.
  if (bias) {
    for (int64_t j = 0; j < n; ++j)
      y[j] =
          std::fma(static_cast<float>(acc[j]) * step, wscale[j], std::fma(shift, wsum[j], bias[j]));
  } else {
    for (int64_t j = 0; j < n; ++j)
      y[j] = std::fma(static_cast<float>(acc[j]) * step, wscale[j], shift * wsum[j]);
  }
  if (residual)
    for (int64_t j = 0; j < n; ++j) y[j] += residual[j];
}

}  // namespace hfjit::int8_loops
