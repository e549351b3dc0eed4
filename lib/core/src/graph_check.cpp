#include "hfjit/graph_check.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "hfjit/error.h"

namespace hfjit {
namespace {

// Pure compute: each reads its inputs and writes its outputs (or a tensor it
// was given, for the in-place forms) and nothing else: no file, socket,
// process, clock, stdout or global random state. The overloads of one name
// share its entry. Kept to what transformer graphs use (hfjit's own traces
// of every family, int8 and bf16 included, --optimize's frozen graphs, and
// transformers' models under Python's torch.jit.trace / script); an operator
// a real model needs is added here once it is checked to be pure.
constexpr std::string_view kPure[] = {
    // Control flow, values, containers, attributes.
    "prim::BroadcastSizes",
    "prim::CallFunction",
    "prim::CallMethod",
    "prim::Constant",
    "prim::DictConstruct",
    "prim::EnumName",
    "prim::EnumValue",
    "prim::GetAttr",
    "prim::If",
    "prim::ListConstruct",
    "prim::ListUnpack",
    "prim::Loop",
    "prim::NamedTuple",
    "prim::NumToTensor",
    "prim::RaiseException",
    "prim::SetAttr",
    "prim::TupleConstruct",
    "prim::TupleIndex",
    "prim::TupleUnpack",
    "prim::Uninitialized",
    "prim::abs",
    "prim::device",
    "prim::dtype",
    "prim::is_cuda",
    "prim::is_quantized",
    "prim::isinstance",
    "prim::layout",
    "prim::max",
    "prim::min",
    "prim::requires_grad",
    "prim::shape",
    "prim::tolist",
    "prim::unchecked_cast",
    "prim::unchecked_unwrap_optional",
    // Scalars, lists, dicts and strings inside TorchScript code.
    "aten::Bool",
    "aten::Float",
    "aten::FloatImplicit",
    "aten::Int",
    "aten::IntImplicit",
    "aten::ScalarImplicit",
    "aten::__and__",
    "aten::__contains__",
    "aten::__derive_index",
    "aten::__getitem__",
    "aten::__is__",
    "aten::__isnot__",
    "aten::__not__",
    "aten::__or__",
    "aten::__range_length",
    "aten::__xor__",
    "aten::_set_item",
    "aten::append",
    "aten::ceil",
    "aten::dict",
    "aten::extend",
    "aten::floor",
    "aten::floordiv",
    "aten::format",
    "aten::get",
    "aten::insert",
    "aten::items",
    "aten::keys",
    "aten::len",
    "aten::list",
    "aten::pop",
    "aten::str",
    "aten::values",
    "aten::warn",
    // Creation.
    "aten::arange",
    "aten::empty",
    "aten::empty_like",
    "aten::full",
    "aten::full_like",
    "aten::new_empty",
    "aten::new_full",
    "aten::new_ones",
    "aten::new_zeros",
    "aten::ones",
    "aten::ones_like",
    "aten::scalar_tensor",
    "aten::tensor",
    "aten::zeros",
    "aten::zeros_like",
    // Shapes, views, indexing, copies.
    "aten::as_strided",
    "aten::cat",
    "aten::chunk",
    "aten::clone",
    "aten::constant_pad_nd",
    "aten::contiguous",
    "aten::copy_",
    "aten::detach",
    "aten::dim",
    "aten::expand",
    "aten::expand_as",
    "aten::fill_",
    "aten::flatten",
    "aten::flip",
    "aten::gather",
    "aten::index",
    "aten::index_copy",
    "aten::index_copy_",
    "aten::index_put_",
    "aten::index_select",
    "aten::masked_fill",
    "aten::masked_fill_",
    "aten::movedim",
    "aten::narrow",
    "aten::numel",
    "aten::pad",
    "aten::permute",
    "aten::repeat",
    "aten::repeat_interleave",
    "aten::reshape",
    "aten::roll",
    "aten::select",
    "aten::size",
    "aten::slice",
    "aten::split",
    "aten::split_with_sizes",
    "aten::squeeze",
    "aten::stack",
    "aten::t",
    "aten::to",
    "aten::transpose",
    "aten::tril",
    "aten::triu",
    "aten::type_as",
    "aten::unbind",
    "aten::unflatten",
    "aten::unsqueeze",
    "aten::view",
    "aten::view_as",
    "aten::where",
    "aten::zero_",
    // Arithmetic and comparisons.
    "aten::abs",
    "aten::add",
    "aten::add_",
    "aten::addcmul",
    "aten::addcmul_",
    "aten::addmm",
    "aten::baddbmm",
    "aten::bitwise_and",
    "aten::bitwise_not",
    "aten::bitwise_or",
    "aten::bmm",
    "aten::clamp",
    "aten::clamp_",
    "aten::clamp_max",
    "aten::clamp_max_",
    "aten::clamp_min",
    "aten::clamp_min_",
    "aten::cos",
    "aten::div",
    "aten::div_",
    "aten::einsum",
    "aten::eq",
    "aten::erf",
    "aten::exp",
    "aten::fmod",
    "aten::ge",
    "aten::gt",
    "aten::le",
    "aten::log",
    "aten::log1p",
    "aten::logical_and",
    "aten::logical_not",
    "aten::logical_or",
    "aten::lt",
    "aten::_int_mm",
    "aten::matmul",
    "aten::mm",
    "aten::mul",
    "aten::mul_",
    "aten::ne",
    "aten::neg",
    "aten::neg_",
    "aten::pow",
    "aten::reciprocal",
    "aten::remainder",
    "aten::round",
    "aten::round_",
    "aten::rsqrt",
    "aten::rsub",
    "aten::sign",
    "aten::sin",
    "aten::sqrt",
    "aten::square",
    "aten::sub",
    "aten::sub_",
    "aten::tanh",
    // Reductions and selections.
    "aten::all",
    "aten::amax",
    "aten::amin",
    "aten::any",
    "aten::argmax",
    "aten::argmin",
    "aten::argsort",
    "aten::cumsum",
    "aten::max",
    "aten::mean",
    "aten::min",
    "aten::norm",
    "aten::prod",
    "aten::sort",
    "aten::std",
    "aten::sum",
    "aten::topk",
    "aten::var",
    // Neural network functions.
    "aten::_softmax",
    "aten::embedding",
    "aten::gelu",
    "aten::glu",
    "aten::group_norm",
    "aten::hardtanh",
    "aten::layer_norm",
    "aten::leaky_relu",
    "aten::linear",
    "aten::log_softmax",
    "aten::logsumexp",
    "aten::native_layer_norm",
    "aten::relu",
    "aten::relu_",
    "aten::rms_norm",
    "aten::scaled_dot_product_attention",
    "aten::sigmoid",
    "aten::silu",
    "aten::softmax",
    "aten::softplus",
    // int8 and bf16 (hfjit's --quantize int8 and --dtype bfloat16; PyTorch's quantize_dynamic).
    "aten::dequantize",
    "aten::quantize_per_tensor",
    "quantized::linear",
    "quantized::linear_dynamic",
    "quantized::linear_dynamic_fp16",
    "quantized::linear_prepack",
    "quantized::linear_unpack",
    // --optimize (freeze + optimize_for_inference) on oneDNN.
    "prim::mkldnn_convolution",
    "aten::to_dense",
    "aten::to_mkldnn",
};

// Random only when training: pure when their `train` argument is the constant false.
constexpr std::string_view kPureUnlessTraining[] = {"aten::alpha_dropout", "aten::dropout",
                                                    "aten::feature_dropout"};

bool listed(std::string_view op, const auto& list) {
  return std::find(std::begin(list), std::end(list), op) != std::end(list);
}

// The node's `train` argument is a constant false (dropout in eval mode).
bool eval_mode(const torch::jit::Node* n) {
  for (size_t i = 0; i < n->inputs().size(); ++i) {
    const auto& args =
        n->maybeSchema() ? n->maybeSchema()->arguments() : std::vector<c10::Argument>{};
    if (i < args.size() && args[i].name() == "train") {
      auto v = torch::jit::toIValue(n->input(i));
      return v && v->isBool() && !v->toBool();
    }
  }
  return false;
}

bool node_allowed(const torch::jit::Node* n) {
  const std::string op = n->kind().toQualString();
  if (listed(op, kPureUnlessTraining)) return eval_mode(n);
  return is_pure_compute(op);
}

void walk(const torch::jit::Block* block, const std::string& function,
          std::map<std::string, OperatorUse>& uses) {
  for (const torch::jit::Node* n : block->nodes()) {
    const std::string op = n->kind().toQualString();
    auto [it, fresh] = uses.try_emplace(op);
    OperatorUse& u = it->second;
    if (fresh) {
      u.op = op;
      u.function = function;
      u.allowed = true;
    }
    ++u.calls;
    if (!node_allowed(n) && u.allowed) {
      // Reported where it first fails (a dropout in training mode, say).
      u.allowed = false;
      u.function = function;
    }
    for (const torch::jit::Block* b : n->blocks()) walk(b, function, uses);
  }
}

}  // namespace

bool is_pure_compute(const std::string& op) {
  return listed(op, kPure);
}

std::vector<OperatorUse> list_operators(const torch::jit::Module& module) {
  std::map<std::string, OperatorUse> uses;
  // Every function the archive's code defined: methods of the module and of
  // its submodules' classes, and free functions, called or not.
  for (const torch::jit::Function* fn : module._ivalue()->compilation_unit()->get_functions()) {
    if (!fn->isGraphFunction()) continue;
    const auto& gf = torch::jit::toGraphFunction(*fn);
    walk(gf.graph()->block(), fn->qualname().qualifiedName(), uses);
  }
  std::vector<OperatorUse> out;
  for (auto& [op, u] : uses) out.push_back(std::move(u));
  return out;
}

void check_pure_compute(const torch::jit::Module& module, const std::string& path) {
  for (const OperatorUse& u : list_operators(module))
    if (!u.allowed)
      throw Error(context(path, "calls " + u.op + " (in " + u.function +
                                    "), which is not on hfjit's list of pure-compute operators; "
                                    "run it only if you trust the file (--trust)"));
}

}  // namespace hfjit
