#include "hfjit/models/layers.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include <cmath>
#include <limits>
#include <utility>

#include "hfjit/cpu_kernels.h"
#include "hfjit/error.h"

namespace hfjit::models {

namespace {

const std::vector<std::pair<const char*, Activation>>& activation_names() {
  static const std::vector<std::pair<const char*, Activation>> names = {
      {"gelu", Activation::Gelu},
      {"gelu_10", Activation::Gelu10},
      {"gelu_accurate", Activation::GeluAccurate},
      {"gelu_fast", Activation::GeluFast},
      {"gelu_new", Activation::GeluNew},
      {"gelu_python", Activation::GeluPython},
      {"gelu_pytorch_tanh", Activation::GeluPytorchTanh},
      {"laplace", Activation::Laplace},
      {"leaky_relu", Activation::LeakyRelu},
      {"linear", Activation::Linear},
      {"mish", Activation::Mish},
      {"quick_gelu", Activation::QuickGelu},
      {"relu", Activation::Relu},
      {"relu2", Activation::Relu2},
      {"relu6", Activation::Relu6},
      {"sigmoid", Activation::Sigmoid},
      {"silu", Activation::Silu},
      {"swish", Activation::Silu},
      {"tanh", Activation::Tanh},
  };
  return names;
}

}  // namespace

Activation parse_activation(const std::string& name, const ModelConfig& config,
                            const std::string& key) {
  std::string known;
  for (const auto& [n, act] : activation_names()) {
    if (name == n) return act;
    known += (known.empty() ? "" : ", ") + std::string(n);
  }
  throw Error(context(config.path, "\"" + key + "\" is \"" + name +
                                       "\", which is not supported; supported: " + known));
}

// Each case writes the expression of transformers.activations in the same
// order of operations, so results match to the last bit.
at::Tensor activate(Activation act, const at::Tensor& x) {
  switch (act) {
    case Activation::Gelu:
      return at::gelu(x);
    case Activation::Gelu10:
      return at::clamp(at::gelu(x), -10, 10);
    case Activation::GeluFast:
      return 0.5 * x * (1.0 + at::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)));
    case Activation::GeluNew:
    case Activation::GeluAccurate:
      return 0.5 * x * (1.0 + at::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * at::pow(x, 3.0))));
    case Activation::GeluPython:
      return x * 0.5 * (1.0 + at::erf(x / std::sqrt(2.0)));
    case Activation::GeluPytorchTanh:
      return at::gelu(x, "tanh");
    case Activation::Laplace: {
      at::Tensor t = (x - 0.707107).div(0.282095 * std::sqrt(2.0));
      return 0.5 * (1.0 + at::erf(t));
    }
    case Activation::LeakyRelu:
      return at::leaky_relu(x, 0.01);
    case Activation::Linear:
      return x;
    case Activation::Mish:
      return at::mish(x);
    case Activation::QuickGelu:
      return x * at::sigmoid(1.702 * x);
    case Activation::Relu:
      return at::relu(x);
    case Activation::Relu2:
      return at::square(at::relu(x));
    case Activation::Relu6:
      return at::hardtanh(x, 0.0, 6.0);
    case Activation::Sigmoid:
      return at::sigmoid(x);
    case Activation::Silu:
      return at::silu(x);
    case Activation::Tanh:
      return at::tanh(x);
  }
  return x;
}

Linear::Linear(const WeightLoader& w, int64_t in, int64_t out, bool has_bias) {
  weight = register_parameter("weight", w.tensor("weight", {out, in}), false);
  if (has_bias) bias = register_parameter("bias", w.tensor("bias", {out}), false);
}

Linear::Linear(at::Tensor w, at::Tensor b) {
  weight = register_parameter("weight", std::move(w), false);
  if (b.defined()) bias = register_parameter("bias", std::move(b), false);
}

namespace {

// Quantizes `weight` ([out, in]) into m's buffers for linear_int8:
// weight_int8 [in, out] (at::_int_mm's right operand), one symmetric scale per
// output channel in weight_scale (max|w| / 127.5 with 8 bits, torch.ao's
// per_channel_symmetric qint8 observer; max|w| / 63.5 with the 7 bits of a
// CPU without VNNI, see int8_weight_bits), and in weight_sum each column's sum
// of integer values times its scale, which takes the activations' zero point
// back out of the int32 product.
void register_int8_weight(torch::nn::Module& m, const at::Tensor& weight, at::Tensor& q_out,
                          at::Tensor& scale_out, at::Tensor& sum_out) {
  at::Tensor w = weight.to(at::kFloat);
  const double half = std::ldexp(1.0, int8_weight_bits() - 1);
  at::Tensor scale =
      (std::get<0>(w.abs().max(1)) / (half - 0.5)).clamp_min(std::numeric_limits<float>::epsilon());
  at::Tensor q = (w / scale.unsqueeze(1)).round().clamp(-half, half - 1);
  q_out = m.register_buffer("weight_int8", q.to(at::kChar).t().contiguous());
  scale_out = m.register_buffer("weight_scale", scale);
  sum_out = m.register_buffer("weight_sum", q.sum(1).mul_(scale));
}

// y = x W^T + b with x quantized per call and per token (row): asymmetric
// 8-bit, one step s = (max - min) / 255 per row (min and max widened to hold
// 0), q = floor((x - min) / s + 0.5) in 0..255, stored as q - 128 in int8.
// Per-tensor scales (torch.ao's quantize_dynamic) let one outlier token or
// channel set the step for every row; docs/trace.md has the measurements.
// With x ~ s (q - 128) + (128 s + min) and Q = (q - 128) Wq^T (at::_int_mm,
// int32, exact):
//   y = (s Q) ws + [b + (128 s + min) (colsum(Wq) ws)]
// where the bracket is a rank-1 product by broadcasting. Written so that
// every pass is a vectorized kernel: the rounding is a floor of a value in
// [-127.5, 127.5], which needs no clamp (a round and a clamp took twice as
// long); x / s + c is a multiply and an add (at::addcmul with two broadcast
// operands, 3.4x as long); the rank-1 term is broadcast (at::addmm with an
// inner size of 1, 5x); the int32 product is converted, then scaled (a mixed
// int32 x float multiply, 5-20x). The input's quantization uses no in-place
// op, so the graph executor's common subexpression elimination quantizes an
// input once for all the Linears that read it (query, key and value). All of
// it traces to plain aten ops.
at::Tensor linear_int8(const at::Tensor& x, const at::Tensor& wq, const at::Tensor& wscale,
                       const at::Tensor& wsum, const at::Tensor& bias) {
  std::vector<int64_t> size_out(x.sizes().begin(), x.sizes().end());
  size_out.back() = wq.size(1);
  at::Tensor x2 = x.reshape({-1, x.size(-1)});
  // amin and amax: at::aminmax along a row measured 10x slower than both.
  at::Tensor lo = at::clamp_max(x2.amin(-1, /*keepdim=*/true), 0);
  at::Tensor hi = at::clamp_min(x2.amax(-1, /*keepdim=*/true), 0);
  at::Tensor step = at::clamp_min(at::div(hi - lo, 255), 1e-8);
  at::Tensor inv = at::reciprocal(step);
  at::Tensor offset = at::rsub(lo * inv, -127.5);  // 0.5 - min / s - 128
  at::Tensor xq = at::floor(at::add(x2 * inv, offset)).to(at::kChar);
  at::Tensor shift = at::add(lo, step, 128);  // 128 s + min
  at::Tensor y = bias.defined() ? at::addcmul(bias, shift, wsum.unsqueeze(0))
                                : at::mul(shift, wsum.unsqueeze(0));
  y.addcmul_(at::_int_mm(xq, wq).to(at::kFloat).mul_(step), wscale);
  return y.view(size_out);
}

// Drops the fp32 parameters a packed layer no longer reads.
void drop_parameter(at::Tensor& member, const char* name,
                    torch::OrderedDict<std::string, at::Tensor>& params) {
  if (params.contains(name)) params.erase(name);
  member = at::Tensor();
}

}  // namespace

at::Tensor Linear::forward(const at::Tensor& x) const {
  if (quantized()) return linear_int8(x, weight_int8, weight_scale, weight_sum, bias);
  return at::linear(x, weight, bias);
}

at::Tensor Linear::forward(const at::Tensor& x, const at::Tensor& b) const {
  if (quantized()) return linear_int8(x, weight_int8, weight_scale, weight_sum, b);
  return at::linear(x, weight, b);
}

void Linear::quantize_int8() {
  if (quantized()) return;
  register_int8_weight(*this, weight, weight_int8, weight_scale, weight_sum);
  drop_parameter(weight, "weight", parameters_);
}

Conv1D::Conv1D(const WeightLoader& w, int64_t in, int64_t out) {
  weight = register_parameter("weight", w.tensor("weight", {in, out}), false);
  bias = register_parameter("bias", w.tensor("bias", {out}), false);
}

at::Tensor Conv1D::forward(const at::Tensor& x) const {
  if (quantized()) return linear_int8(x, weight_int8, weight_scale, weight_sum, bias);
  std::vector<int64_t> size_out(x.sizes().begin(), x.sizes().end() - 1);
  size_out.push_back(weight.size(1));
  std::vector<int64_t> leading(size_out.size() - 1);
  for (size_t i = 0; i < leading.size(); ++i) leading[i] = static_cast<int64_t>(i);
  return view_keeping(at::addmm(bias, x.view({-1, x.size(-1)}), weight), size_out, leading, &x);
}

void Conv1D::quantize_int8() {
  if (quantized()) return;
  register_int8_weight(*this, weight.t(), weight_int8, weight_scale, weight_sum);
  drop_parameter(weight, "weight", parameters_);
}

Embedding::Embedding(const WeightLoader& w, int64_t num, int64_t dim) {
  weight = register_parameter("weight", w.tensor("weight", {num, dim}), false);
}

Embedding::Embedding(at::Tensor table) {
  weight = register_parameter("weight", std::move(table), false);
}

LayerNorm::LayerNorm(const WeightLoader& w, int64_t dim, double eps, bool has_bias) : eps_(eps) {
  weight = register_parameter("weight", w.tensor("weight", {dim}), false);
  if (has_bias) bias = register_parameter("bias", w.tensor("bias", {dim}), false);
}

namespace {
thread_local bool dynamic_shapes = false;
}

DynamicShapes::DynamicShapes() : previous_(dynamic_shapes) {
  dynamic_shapes = true;
}
DynamicShapes::~DynamicShapes() {
  dynamic_shapes = previous_;
}
bool DynamicShapes::active() {
  return dynamic_shapes && torch::jit::tracer::isTracing();
}

at::Tensor view_keeping(const at::Tensor& x, const std::vector<int64_t>& sizes,
                        const std::vector<int64_t>& from, const at::Tensor* source) {
  if (DynamicShapes::active()) {
    namespace tracer = torch::jit::tracer;
    const at::Tensor& src = source ? *source : x;
    for (int64_t i : from)
      tracer::ArgumentStash::stashIntArrayRefElem("size", sizes.size(), static_cast<size_t>(i),
                                                  tracer::getSizeOf(src, i));
  }
  return x.view(sizes);
}

void trace_sizes(const char* arg, size_t n, std::initializer_list<SizeOf> sizes) {
  if (!DynamicShapes::active()) return;
  namespace tracer = torch::jit::tracer;
  for (const SizeOf& s : sizes)
    tracer::ArgumentStash::stashIntArrayRefElem(arg, n, s.index,
                                                tracer::getSizeOf(*s.source, s.dim));
}

at::Tensor arange_positions(const at::Tensor& input_ids) {
  // Under DynamicShapes, a running count over the ids: the same integers, with no length baked in.
  if (DynamicShapes::active()) return at::ones_like(input_ids).cumsum(1).sub(1).narrow(0, 0, 1);
  return at::arange(input_ids.size(1), input_ids.options()).unsqueeze(0);
}

at::Tensor arange_like(const at::Tensor& x, int64_t dim) {
  const at::TensorOptions options = x.options().dtype(at::kLong);
  if (DynamicShapes::active()) {
    // A running count along one line of x through `dim`, as arange_positions does.
    at::Tensor line = x.transpose(dim, -1);
    while (line.dim() > 1) line = line.select(0, 0);
    return at::ones_like(line, options).cumsum(0).sub(1);
  }
  return at::arange(x.size(dim), options);
}

at::Tensor split_heads(const at::Tensor& x, int64_t heads) {
  return view_keeping(x, {x.size(0), x.size(1), heads, x.size(2) / heads}, {0, 1})
      .permute({0, 2, 1, 3});
}

at::Tensor merge_heads(const at::Tensor& x) {
  at::Tensor t = x.permute({0, 2, 1, 3}).contiguous();
  return view_keeping(t, {t.size(0), t.size(1), t.size(2) * t.size(3)}, {0, 1});
}

double finfo_min(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble:
      return std::numeric_limits<double>::lowest();
    case at::kHalf:
      return -65504.0;
    case at::kBFloat16:
      return -3.3895313892515355e38;
    default:
      return std::numeric_limits<float>::lowest();
  }
}

at::Tensor extended_attention_mask(const at::Tensor& attention_mask, at::ScalarType dtype) {
  at::Tensor m = attention_mask.unsqueeze(1).unsqueeze(2).to(dtype);
  // at::rsub, as Python's `1.0 - m` is (ATen's C++ `1.0 - m` would record fill_ + sub_).
  return at::rsub(m, 1.0) * finfo_min(dtype);
}

at::Tensor bert_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const at::Tensor& mask, const at::Tensor& position_bias) {
  // transformers 5's sdpa attention (its default): one fused kernel for
  // q k^T / sqrt(d) + bias + mask, softmax and the product with v.
  const at::Tensor bias = position_bias.defined() ? position_bias + mask : mask;
  return at::scaled_dot_product_attention(q, k, v, bias, /*dropout_p=*/0.0, /*is_causal=*/false,
                                          1.0 / std::sqrt(static_cast<double>(q.size(-1))));
}

at::Tensor rope_inv_freq(double base, int64_t dim) {
  // Python's `1.0 / (base ** (arange(0, dim, 2, dtype=float) / dim))`: pow of a
  // scalar base, then Tensor.__rtruediv__ (reciprocal, times 1.0).
  at::Tensor exponent =
      at::arange(0, dim, 2, at::TensorOptions().dtype(at::kFloat)) / static_cast<double>(dim);
  return at::reciprocal(at::pow(base, exponent)) * 1.0;
}

std::pair<at::Tensor, at::Tensor> rope_cos_sin(const at::Tensor& inv_freq,
                                               const at::Tensor& positions, at::ScalarType dtype) {
  at::Tensor freqs = positions.unsqueeze(-1).to(at::kFloat) * inv_freq.to(at::kFloat);
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

CausalSlots causal_slots(const at::Tensor& query_slots, const at::Tensor& key_slots,
                         const at::Tensor& attention_mask) {
  const at::Tensor query = query_slots.unsqueeze(-1), key = key_slots.unsqueeze(0);
  return {at::logical_and((key <= query).unsqueeze(0), attention_mask.to(at::kBool).unsqueeze(1)),
          query - key};
}

at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({at::neg(x.slice(-1, half)), x.slice(-1, 0, half)}, -1);
}

std::pair<at::Tensor, at::Tensor> apply_rotary_pos_emb(const at::Tensor& q, const at::Tensor& k,
                                                       const at::Tensor& cos,
                                                       const at::Tensor& sin) {
  const at::Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);
  const at::Tensor qf = q.to(at::kFloat), kf = k.to(at::kFloat);
  at::Tensor q_embed = qf * c + rotate_half(qf) * s;
  at::Tensor k_embed = kf * c + rotate_half(kf) * s;
  return {q_embed.to(q.scalar_type()), k_embed.to(k.scalar_type())};
}

std::vector<at::Tensor> split_span_logits(const at::Tensor& logits) {
  std::vector<at::Tensor> parts = logits.split(1, -1);
  return {parts[0].squeeze(-1).contiguous(), parts[1].squeeze(-1).contiguous()};
}

int64_t num_labels(const ModelConfig& config) {
  if (!config.id2label.empty()) return static_cast<int64_t>(config.id2label.size());
  return config.get_int("num_labels", 2);
}

void check_heads(const ModelConfig& config, int64_t hidden, int64_t heads) {
  if (heads <= 0 || hidden % heads != 0)
    throw Error(context(config.path, "the hidden size (" + std::to_string(hidden) +
                                         ") is not a multiple of the number of attention heads (" +
                                         std::to_string(heads) + ")"));
}

}  // namespace hfjit::models

namespace hfjit::models {

Scope Scope::child(const std::string& name, const std::string& hf_class) const {
  std::shared_ptr<torch::nn::Module> m;
  for (const auto& c : module_->named_children())
    if (c.key() == name) m = c.value();
  if (!m) m = module_->register_module(name, std::make_shared<torch::nn::Module>(hf_class));
  return Scope(*m, w_.sub(name));
}

Scope Scope::path(const std::string& dotted,
                  const std::vector<std::pair<std::string, std::string>>& classes) const {
  Scope s = *this;
  std::string so_far;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    const std::string part = dotted.substr(start, dot - start);
    so_far += (so_far.empty() ? "" : ".") + part;
    std::string hf_class = "Module";
    for (const auto& [p, c] : classes)
      if (p == so_far) hf_class = c;
    s = s.child(part, hf_class);
    start = dot + 1;
  }
  return s;
}

}  // namespace hfjit::models
