#pragma once
// The inner loops of hfjit's fused int8 Linear (cpu_kernels.cpp): plain C++
// over one row, compiled apart (int8_loops.cpp) with flags that let the
// compiler vectorize them, each multiply and add rounded as the aten ops they
// replace round them: the results are the same bits.

#include <cstdint>

namespace hfjit::int8_loops {

// Quantizes one row as linear_int8 (models/layers.cpp) does, op for op: lo =
// min(min x, 0), hi = max(max x, 0), step = max((hi - lo) / 255, 1e-8),
// q[k] = floor(x[k] / step + (-127.5 - lo / step)) as int8 (the division a
// multiply by 1 / step), shift = lo + 128 step. Finite inputs only.
void quantize_row(const float* x, int64_t n, int8_t* q, float* step, float* shift);

// y[j] = fma(float(acc[j]) * step, wscale[j], fma(shift, wsum[j], bias[j])), as
// at::addcmul and at::mul_ round it; with no bias, shift * wsum[j] inside;
// then + residual[j] where residual is given.
void dequantize_row(const int32_t* acc, int64_t n, float step, float shift, const float* wscale,
                    const float* wsum, const float* bias, const float* residual, float* y);

}  // namespace hfjit::int8_loops
