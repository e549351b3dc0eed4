#pragma once
// The inner loops of hfjit's fused int8 Linear (cpu_kernels.cpp): plain C++
// over one row, compiled apart (int8_loops.cpp) with flags that let the
// compiler vectorize them, each multiply and add rounded as the aten ops they
// replace round them: the results are the same bits.

#include <cstdint>

namespace hfjit::int8_loops {

// The row's smallest and largest values, widened to hold 0: min(min x, 0) and
// max(max x, 0). Finite inputs only.
void row_range(const float* x, int64_t n, float* lo, float* hi);

// q[k] = floor(x[k] * inv + offset) as int8; x[k] * inv + offset must lie in
// [-128, 128).
void quantize_row(const float* x, int64_t n, float inv, float offset, int8_t* q);

// y[j] = fma(float(acc[j]) * step, wscale[j], fma(shift, wsum[j], bias[j])), as
// at::addcmul and at::mul_ round it; with no bias, shift * wsum[j] inside;
// then + residual[j] where residual is given.
void dequantize_row(const int32_t* acc, int64_t n, float step, float shift, const float* wscale,
                    const float* wsum, const float* bias, const float* residual, float* y);

}  // namespace hfjit::int8_loops
