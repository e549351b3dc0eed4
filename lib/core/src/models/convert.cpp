#include "hfjit/models/convert.h"

#include <ATen/ATen.h>

#include "hfjit/error.h"
#include "hfjit/models/layers.h"

namespace hfjit::models {

Precision parse_precision(const std::string& dtype, const std::string& quantize) {
  if (dtype != "float32" && dtype != "bfloat16")
    throw Error("--dtype must be float32 or bfloat16 (got \"" + dtype + "\")");
  if (quantize != "none" && quantize != "int8")
    throw Error("--quantize must be none or int8 (got \"" + quantize + "\")");
  if (quantize == "int8" && dtype != "float32")
    throw Error("--quantize int8 works on float32 weights; drop --dtype " + dtype);
  if (quantize == "int8") return Precision::Int8;
  return dtype == "bfloat16" ? Precision::BFloat16 : Precision::Float32;
}

const char* precision_label(Precision p) {
  switch (p) {
    case Precision::BFloat16:
      return "bf16";
    case Precision::Int8:
      return "int8";
    default:
      return "fp32";
  }
}

const char* precision_dtype(Precision p) {
  return p == Precision::BFloat16 ? "bfloat16" : "float32";
}

const char* precision_quantization(Precision p) {
  return p == Precision::Int8 ? "int8-per-token" : "none";
}

int64_t convert(torch::nn::Module& model, Precision p) {
  int64_t n = 0;
  if (p == Precision::BFloat16) {
    // set_data keeps each tensor's identity, so the modules' members (which
    // alias their registered parameters) see the new dtype too. Tensors that
    // share their data (--keep-tied) get one converted tensor, still shared.
    std::vector<std::pair<at::Tensor, at::Tensor>> done;  // (source, converted)
    auto to_bf16 = [&](at::Tensor& t) {
      if (!t.is_floating_point() || t.scalar_type() == at::kBFloat16) return;
      for (const auto& [src, bf] : done)
        if (src.data_ptr() == t.data_ptr() && src.sizes() == t.sizes() &&
            src.strides() == t.strides()) {
          t.set_data(bf);
          return;
        }
      at::Tensor bf = t.to(at::kBFloat16);
      done.emplace_back(t.detach(), bf);
      t.set_data(bf);
      ++n;
    };
    for (auto& t : model.parameters(/*recurse=*/true)) to_bf16(t);
    for (auto& t : model.buffers(/*recurse=*/true)) to_bf16(t);
  } else if (p == Precision::Int8) {
    if (!at::globalContext().supportedQEngines().empty() &&
        at::globalContext().qEngine() == at::QEngine::NoQEngine)
      throw Error("--quantize int8: this libtorch has no quantized engine");
    for (const auto& m : model.modules(/*include_self=*/true)) {
      if (auto* lin = dynamic_cast<Linear*>(m.get())) {
        lin->quantize_int8();
        ++n;
      } else if (auto* conv = dynamic_cast<Conv1D*>(m.get())) {
        conv->quantize_int8();
        ++n;
      }
    }
  }
  return n;
}

}  // namespace hfjit::models
