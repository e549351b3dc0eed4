#pragma once
// The pieces every family shares, written once: activations (transformers'
// ACT2FN), the torch.nn layers with their HF parameter names (Linear, Embedding,
// LayerNorm, GPT-2's Conv1D), and the attention arithmetic. Forwards use
// at::linear / at::addmm / at::layer_norm directly, so a trace records one op
// per layer that freezing can fold.

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hfjit/config.h"
#include "hfjit/weights.h"

namespace hfjit::models {

// transformers.activations.ACT2FN, by name.
enum class Activation {
  Gelu,             // "gelu": erf GELU (nn.functional.gelu)
  Gelu10,           // "gelu_10": erf GELU clipped to [-10, 10]
  GeluFast,         // "gelu_fast"
  GeluNew,          // "gelu_new" (OpenAI GPT's tanh approximation, written out)
  GeluPython,       // "gelu_python": x * 0.5 * (1 + erf(x / sqrt(2)))
  GeluPytorchTanh,  // "gelu_pytorch_tanh": nn.functional.gelu(approximate="tanh")
  GeluAccurate,     // "gelu_accurate"
  Laplace,          // "laplace"
  LeakyRelu,        // "leaky_relu" (slope 0.01)
  Linear,           // "linear": identity
  Mish,             // "mish"
  QuickGelu,        // "quick_gelu": x * sigmoid(1.702 x)
  Relu,             // "relu"
  Relu2,            // "relu2": relu(x)^2
  Relu6,            // "relu6"
  Sigmoid,          // "sigmoid"
  Silu,             // "silu" and "swish"
  Tanh,             // "tanh"
};

// `key` is the config field ("hidden_act"); an unknown name is an Error listing the known ones.
Activation parse_activation(const std::string& name, const ModelConfig& config,
                            const std::string& key);
at::Tensor activate(Activation act, const at::Tensor& x);

// Mirrors torch.nn.Linear: weight [out, in], bias [out].
class Linear : public torch::nn::Module {
 public:
  Linear(const WeightLoader& w, int64_t in, int64_t out, bool bias = true);
  // A Linear whose weight is given (a decoder tied to the input embeddings).
  Linear(at::Tensor weight, at::Tensor bias);
  at::Tensor forward(const at::Tensor& x) const;
  // With a bias held elsewhere (the MLM heads' own "bias" parameter).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias) const;
  // Dynamic int8 quantization: weights int8 per output channel (symmetric; 8
  // bits with VNNI, else 7), activations quantized per call and per token
  // (asymmetric, 8 bits); an int8 GEMM (at::_int_mm). The fp32 weight is
  // dropped; the bias stays fp32.
  void quantize_int8();
  bool quantized() const { return weight_int8.defined(); }
  at::Tensor weight, bias;  // bias undefined when absent; weight undefined once quantized
  // Once quantized: [in, out] int8, [out] scales, [out] column sums x scales.
  at::Tensor weight_int8, weight_scale, weight_sum;
};

// Mirrors transformers.pytorch_utils.Conv1D (GPT-2): weight [in, out], y = addmm(bias, x, weight).
class Conv1D : public torch::nn::Module {
 public:
  Conv1D(const WeightLoader& w, int64_t in, int64_t out);
  at::Tensor forward(const at::Tensor& x) const;
  void quantize_int8();  // as Linear's, on the transposed weight
  bool quantized() const { return weight_int8.defined(); }
  at::Tensor weight, bias;
  at::Tensor weight_int8, weight_scale, weight_sum;
};

// Mirrors torch.nn.Embedding: weight [num, dim].
class Embedding : public torch::nn::Module {
 public:
  Embedding(const WeightLoader& w, int64_t num, int64_t dim);
  // An Embedding whose table is given: one tensor shared by several modules
  // (T5's and Marian's shared / encoder.embed_tokens / decoder.embed_tokens).
  explicit Embedding(at::Tensor table);
  at::Tensor forward(const at::Tensor& ids) const { return at::embedding(weight, ids); }
  at::Tensor weight;
};

// Mirrors torch.nn.LayerNorm over the last dimension; `bias` false is
// LayerNorm(bias=False) (ModernBERT's norm_bias), bias then undefined.
class LayerNorm : public torch::nn::Module {
 public:
  LayerNorm(const WeightLoader& w, int64_t dim, double eps, bool bias = true);
  at::Tensor forward(const at::Tensor& x) const {
    return at::layer_norm(x, {weight.size(0)}, weight, bias, eps_);
  }
  at::Tensor weight, bias;

 private:
  double eps_;
};

// nn.ModuleList: children named "0", "1", ... under its name; push(args...)
// builds the next one with the weights under "<name>.<i>" (Scope::list).
template <class M>
class ModuleList {
 public:
  ModuleList() = default;
  ModuleList(torch::nn::Module& parent, const std::string& name, WeightLoader w)
      : list_(parent.register_module(name, std::make_shared<torch::nn::Module>("ModuleList"))),
        w_(std::make_shared<WeightLoader>(std::move(w))) {}
  template <class... Args>
  M& push(Args&&... args) {
    const auto i = static_cast<int64_t>(items_.size());
    items_.push_back(list_->register_module(
        std::to_string(i), std::make_shared<M>(w_->sub(i), std::forward<Args>(args)...)));
    return *items_.back();
  }
  size_t size() const { return items_.size(); }
  M& operator[](size_t i) const { return *items_[i]; }

 private:
  std::shared_ptr<torch::nn::Module> list_;
  std::shared_ptr<WeightLoader> w_;
  std::vector<std::shared_ptr<M>> items_;
};

// A module's scope: its children are named once, and each is registered and
// handed the weights under the same name in one call (candle's vb.pp):
//
//   Scope s(*this, w);
//   dense_ = s.add<Linear>("dense", hidden, hidden);      // "dense.weight", "dense.bias"
//   layer_ = s.list<BertLayer>("layer");                   // "layer.0...", then layer_.push(c)
class Scope {
 public:
  Scope(torch::nn::Module& module, WeightLoader w) : module_(&module), w_(std::move(w)) {}

  // Child `name`: M(weights under `name`, args...).
  template <class M, class... Args>
  std::shared_ptr<M> add(const std::string& name, Args&&... args) const {
    return module_->register_module(name,
                                    std::make_shared<M>(w_.sub(name), std::forward<Args>(args)...));
  }
  // Child `name`, already built (a tied decoder).
  template <class M>
  std::shared_ptr<M> put(const std::string& name, std::shared_ptr<M> m) const {
    return module_->register_module(name, std::move(m));
  }
  // nn.ModuleList `name`.
  template <class M>
  ModuleList<M> list(const std::string& name) const {
    return ModuleList<M>(*module_, name, w_.sub(name));
  }
  // The scope of child `name`, a container module of class `hf_class` with no
  // forward of its own (BertOnlyMLMHead), made on first use.
  Scope child(const std::string& name, const std::string& hf_class) const;
  // The scope of a dotted path ("cls.predictions"), its containers named by
  // `classes` ({"cls", "BertOnlyMLMHead"}, {"cls.predictions", ...}).
  Scope path(const std::string& dotted,
             const std::vector<std::pair<std::string, std::string>>& classes) const;

  const WeightLoader& weights() const { return w_; }
  torch::nn::Module& module() const { return *module_; }

 private:
  torch::nn::Module* module_;
  WeightLoader w_;
};

// torch.finfo(dtype).min, the value transformers masks attention scores with.
double finfo_min(at::ScalarType dtype);

// Attention arithmetic, as transformers' eager attention does it.
// [batch, length, heads * head_dim] -> [batch, heads, length, head_dim] (view + permute).
// Shape-polymorphic tracing (hfjit trace --dynamic). While a DynamicShapes
// guard lives, the sizes the layers take from their input (batch, length) are
// recorded in the trace as graph values (aten::size, through the tracer's
// ArgumentStash) instead of constants, so one trace serves every shape.
class DynamicShapes {
 public:
  DynamicShapes();
  ~DynamicShapes();
  DynamicShapes(const DynamicShapes&) = delete;
  DynamicShapes& operator=(const DynamicShapes&) = delete;
  static bool active();

 private:
  bool previous_;
};

// x.view(sizes), where sizes[i] for i in `from` is source.size(i) (source: x
// itself unless given) and is traced as a value under DynamicShapes.
at::Tensor view_keeping(const at::Tensor& x, const std::vector<int64_t>& sizes,
                        const std::vector<int64_t>& from, const at::Tensor* source = nullptr);

// Element `index` of a traced op's size list, read as `source`.size(`dim`).
struct SizeOf {
  size_t index;
  const at::Tensor* source;
  int64_t dim;
};
// view_keeping for any op and any sources: under DynamicShapes, the next traced
// op whose int-list argument is `arg` ("size" for view and expand, "repeats" for
// repeat), of `n` elements, records those elements as aten::size values instead
// of constants. A no-op otherwise; call it right before the op:
//   trace_sizes("size", 3, {{0, &q, 0}, {1, &q, 1}, {2, &k, 1}});
//   index = pos.expand({q.size(0), q.size(1), k.size(1)});
void trace_sizes(const char* arg, size_t n, std::initializer_list<SizeOf> sizes);

// [[0, 1, ..., length - 1]] for input ids [batch, length].
at::Tensor arange_positions(const at::Tensor& input_ids);
// [0, 1, ..., x.size(dim) - 1] (int64, 1-D) for any x; under DynamicShapes the
// length is x's traced size, not a constant (MPNet's relative positions).
at::Tensor arange_like(const at::Tensor& x, int64_t dim);

at::Tensor split_heads(const at::Tensor& x, int64_t heads);
// [batch, heads, length, head_dim] -> [batch, length, heads * head_dim].
at::Tensor merge_heads(const at::Tensor& x);
// get_extended_attention_mask: [batch, length] of 1/0 -> [batch, 1, 1, length] of
// 0 / finfo(dtype).min, to add to attention scores.
at::Tensor extended_attention_mask(const at::Tensor& attention_mask, at::ScalarType dtype);
// BertSelfAttention's eager path: softmax(q k^T / sqrt(head_dim) + mask) v, over
// [batch, heads, length, head_dim] tensors; `mask` from extended_attention_mask.
// A defined `position_bias` ([1 or batch, heads, length, length]) is added
// before the mask, as MPNet's relative attention bias is.
at::Tensor bert_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const at::Tensor& mask, const at::Tensor& position_bias = {});

// Rotary position embeddings, as transformers' default RoPE computes them.
// rope_inv_freq: 1 / base^(arange(0, dim, 2) / dim) in fp32 (the rotary
// module's inv_freq buffer).
at::Tensor rope_inv_freq(double base, int64_t dim);
// cos and sin of cat(freqs, freqs), freqs = positions[..., None].float() *
// inv_freq, cast to `dtype`: [1 or batch, length, dim] from positions
// [1 or batch, length] (arange_positions follows a --dynamic trace's length).
std::pair<at::Tensor, at::Tensor> rope_cos_sin(const at::Tensor& inv_freq,
                                               const at::Tensor& positions, at::ScalarType dtype);
// Causal attention over slots: a query at slot query_slots[t] ([T]) sees key
// slot key_slots[j] ([K]) when j's slot is not after its own and the key holds a
// token of the row (attention_mask [batch, K], 1/0). `allowed` [batch, T, K];
// `distance` [T, K] is query slot - key slot (for sliding windows).
struct CausalSlots {
  at::Tensor allowed, distance;
};
CausalSlots causal_slots(const at::Tensor& query_slots, const at::Tensor& key_slots,
                         const at::Tensor& attention_mask);

// rotate_half: cat(-x2, x1) of x's two halves along the last dimension.
at::Tensor rotate_half(const at::Tensor& x);
// apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=1) on [batch, heads,
// length, head_dim] q and k: x * cos + rotate_half(x) * sin in fp32, back to x's dtype.
std::pair<at::Tensor, at::Tensor> apply_rotary_pos_emb(const at::Tensor& q, const at::Tensor& k,
                                                       const at::Tensor& cos,
                                                       const at::Tensor& sin);

// The QA heads' `start, end = logits.split(1, -1)`, squeezed and contiguous.
std::vector<at::Tensor> split_span_logits(const at::Tensor& logits);

// Config fields several families read.
int64_t num_labels(const ModelConfig& config);  // len(id2label), else num_labels, else 2
// hidden % heads == 0, or an Error naming the config.
void check_heads(const ModelConfig& config, int64_t hidden, int64_t heads);

}  // namespace hfjit::models
