#pragma once
// Reduced-precision variants of a built model, converted in place: the speed
// levers of `hfjit trace --dtype bfloat16` and `hfjit trace --quantize int8`,
// also timed side by side by `hfjit bench --compare`.

#include <torch/nn/module.h>

#include <string>

namespace hfjit::models {

enum class Precision {
  Float32,   // as loaded
  BFloat16,  // every floating-point parameter and buffer in bfloat16; the activations follow
  Int8,      // dynamic quantization of every Linear / Conv1D (weights int8 per channel,
             // activations quantized per call); embeddings and LayerNorms stay fp32
};

// From trace's --dtype (float32 | bfloat16) and --quantize (none | int8); an
// Error names a value outside those, or the two combined.
Precision parse_precision(const std::string& dtype, const std::string& quantize);
// "fp32", "bf16", "int8": bench's mode suffixes.
const char* precision_label(Precision p);
// The artifact's meta.json fields: dtype ("float32" | "bfloat16") and
// quantization ("none" | "int8-per-token").
const char* precision_dtype(Precision p);
const char* precision_quantization(Precision p);

// Converts `model` in place; returns how many tensors (bf16) or layers (int8)
// it converted. Float32 converts nothing.
int64_t convert(torch::nn::Module& model, Precision p);

}  // namespace hfjit::models
