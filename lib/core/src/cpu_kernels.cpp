#include "hfjit/cpu_kernels.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/cpu/Utils.h>
#include <spdlog/spdlog.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <malloc.h>
#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "hfjit/error.h"
#include "int8_loops.h"

namespace hfjit {
namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;
using Object = c10::intrusive_ptr<c10::ivalue::Object>;

bool onednn_available() {
  return at::hasMKLDNN() && at::globalContext().userEnabledMkldnn() &&
         c10::Dispatcher::singleton().findSchema({"mkldnn::_linear_pointwise", ""}).has_value() &&
         c10::Dispatcher::singleton()
             .findSchema({"mkldnn::_reorder_linear_weight", ""})
             .has_value();
}

// A tensor attribute: the object that holds it and its name.
struct Slot {
  Object owner;
  std::string name;
  bool operator<(const Slot& o) const {
    return owner.get() != o.owner.get() ? owner.get() < o.owner.get() : name < o.name;
  }
};

// The attribute a value reads: a chain of prim::GetAttr from the graph's
// `self` (its first input), resolved on the object `self`.
std::optional<Slot> resolve(Value* v, const Object& self, const Graph& g) {
  std::vector<std::string> names;
  while (v->node()->kind() == c10::prim::GetAttr) {
    names.push_back(v->node()->s(c10::attr::name));
    v = v->node()->input(0);
  }
  if (names.empty() || g.inputs().empty() || v != g.inputs()[0]) return std::nullopt;
  std::reverse(names.begin(), names.end());
  Object obj = self;
  for (size_t i = 0; i + 1 < names.size(); ++i) {
    if (!obj->type()->findAttributeSlot(names[i])) return std::nullopt;
    c10::IValue next = obj->getAttr(names[i]);
    if (!next.isObject()) return std::nullopt;
    obj = next.toObject();
  }
  if (!obj->type()->findAttributeSlot(names.back())) return std::nullopt;
  return Slot{obj, names.back()};
}

std::optional<at::Tensor> tensor_of(const Slot& s) {
  c10::IValue v = s.owner->getAttr(s.name);
  if (!v.isTensor()) return std::nullopt;
  return v.toTensor();
}

bool fp32_cpu_matrix(const at::Tensor& t) {
  return t.defined() && t.layout() == at::kStrided && !t.is_quantized() &&
         t.scalar_type() == at::kFloat && t.device().is_cpu() && t.dim() == 2;
}

// The weight of a Linear node, for every object the graph runs on: its slots
// (one per object) when it is an attribute, or the constant of a frozen graph.
struct Weight {
  std::vector<Slot> slots;
  bool constant = false;
};

std::optional<Weight> linear_weight(Node* n, const Graph& g, const std::vector<Object>& selves) {
  Value* w = n->input(1);
  if (w->node()->kind() == c10::prim::Constant) {
    auto iv = torch::jit::toIValue(w);
    if (!iv || !iv->isTensor() || !fp32_cpu_matrix(iv->toTensor())) return std::nullopt;
    return Weight{{}, true};
  }
  Weight out;
  for (const Object& self : selves) {
    auto slot = resolve(w, self, g);
    if (!slot) return std::nullopt;
    auto t = tensor_of(*slot);
    if (!t || !fp32_cpu_matrix(*t)) return std::nullopt;
    out.slots.push_back(*slot);
  }
  return out;
}

// Every method graph of the module tree, with the objects it runs on (a
// class's methods are shared by all its instances).
std::vector<std::pair<std::shared_ptr<Graph>, std::vector<Object>>> method_graphs(
    const torch::jit::Module& root) {
  std::map<Graph*, size_t> index;
  std::vector<std::pair<std::shared_ptr<Graph>, std::vector<Object>>> out;
  for (const torch::jit::Module& m : root.modules()) {
    for (const torch::jit::Method& method : m.get_methods()) {
      auto* fn = dynamic_cast<torch::jit::GraphFunction*>(&method.function());
      if (!fn) continue;
      std::shared_ptr<Graph> g = fn->graph();
      auto [it, fresh] = index.try_emplace(g.get(), out.size());
      if (fresh) out.push_back({g, {}});
      out[it->second].second.push_back(m._ivalue());
    }
  }
  return out;
}

void for_each_node(torch::jit::Block* b, const std::function<void(Node*)>& f) {
  for (Node* n : b->nodes()) {
    for (torch::jit::Block* sub : n->blocks()) for_each_node(sub, f);
    f(n);
  }
}

// A GELU node's `approximate` ("none" or "tanh": what the fused kernels
// apply), or nothing for another value or a value known only at run time.
std::optional<std::string> gelu_approximate(Node* gelu) {
  if (gelu->inputs().size() < 2) return "none";
  auto a = torch::jit::toIValue(gelu->input(1));
  if (!a || !a->isString() || (a->toStringRef() != "none" && a->toStringRef() != "tanh"))
    return std::nullopt;
  return a->toStringRef();
}

// The GELU that alone reads a Linear's output, and its `approximate`, to
// fuse into oneDNN's kernel.
std::optional<std::pair<Node*, std::string>> sole_gelu(Node* linear) {
  const auto& uses = linear->output()->uses();
  if (uses.size() != 1 || uses[0].user->kind() != c10::Symbol::fromQualString("aten::gelu") ||
      uses[0].offset != 0)
    return std::nullopt;
  Node* gelu = uses[0].user;
  auto approximate = gelu_approximate(gelu);
  if (!approximate) return std::nullopt;
  return std::make_pair(gelu, *approximate);
}

// --- The fused int8 Linear -------------------------------------------------
//
// `--quantize int8` artifacts hold linear_int8 (models/layers.cpp) as plain
// aten ops: per-token quantization of the input in 14 element-wise and
// reduction ops, at::_int_mm, and 4 passes that turn the int32 product into
// floats. Run and bench rewrite each into two ops of ours, with the same
// arithmetic in the same order (the quantized input is the same bytes):
//   hfjit::quantize_per_token(x) -> (xq, step, shift): two passes over x;
//   hfjit::int8_linear(xq, step, shift, w..., bias, residual, activation):
//     at::_int_mm, then one pass to floats, which adds a following residual
//     connection's input, or applies a following GELU to each block of rows
//     while it is in cache.

std::tuple<at::Tensor, at::Tensor, at::Tensor> quantize_per_token(const at::Tensor& input) {
  TORCH_CHECK(input.dim() == 2 && input.scalar_type() == at::kFloat && input.device().is_cpu(),
              "hfjit::quantize_per_token: expected a 2-D float32 CPU tensor, got ",
              input.toString(), " ", input.sizes());
  const at::Tensor x = input.contiguous();
  const int64_t rows = x.size(0), n = x.size(1);
  at::Tensor xq = at::empty({rows, n}, x.options().dtype(at::kChar));
  at::Tensor step = at::empty({rows, 1}, x.options());
  at::Tensor shift = at::empty({rows, 1}, x.options());
  const float* px = x.const_data_ptr<float>();
  int8_t* pq = xq.mutable_data_ptr<int8_t>();
  float* ps = step.mutable_data_ptr<float>();
  float* pc = shift.mutable_data_ptr<float>();
  at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t i = begin; i < end; ++i)
                       int8_loops::quantize_row(px + i * n, n, pq + i * n, ps + i, pc + i);
                   });
  return {xq, step, shift};
}

at::Tensor int8_linear(const at::Tensor& xq, const at::Tensor& step, const at::Tensor& shift,
                       const at::Tensor& weight_int8, const at::Tensor& weight_scale,
                       const at::Tensor& weight_sum, const std::optional<at::Tensor>& bias,
                       const std::optional<at::Tensor>& residual, c10::string_view activation) {
  const at::Tensor acc = at::_int_mm(xq, weight_int8);
  const int64_t rows = acc.size(0), n = acc.size(1);
  auto vector_of = [n](const at::Tensor& t, const char* what) {
    TORCH_CHECK(t.scalar_type() == at::kFloat && t.numel() == n, "hfjit::int8_linear: ", what,
                " must hold ", n, " float32 values");
    return t.contiguous();
  };
  const at::Tensor ws = vector_of(weight_scale, "weight_scale");
  const at::Tensor wsum = vector_of(weight_sum, "weight_sum");
  const at::Tensor b = bias && bias->defined() ? vector_of(*bias, "bias") : at::Tensor();
  TORCH_CHECK(step.numel() == rows && shift.numel() == rows && step.scalar_type() == at::kFloat &&
                  shift.scalar_type() == at::kFloat,
              "hfjit::int8_linear: step and shift must hold one float32 per row");
  const bool gelu = activation != "";
  // The residual connection's other input, as the rewrite finds it in
  // hfjit's artifacts: the output's elements in its order ([..., n]). The
  // rewrite cannot see shapes; another shape is refused, not broadcast.
  at::Tensor r;
  if (residual && residual->defined()) {
    TORCH_CHECK(!gelu && residual->scalar_type() == at::kFloat && residual->numel() == rows * n &&
                    residual->dim() >= 1 && residual->size(-1) == n,
                "hfjit::int8_linear: a residual of ", residual->toString(), " ", residual->sizes(),
                " for an output of ", rows, " x ", n, " rows; run with --linear aten");
    r = residual->contiguous();
  }
  at::Tensor y = at::empty({rows, n}, acc.options().dtype(at::kFloat));
  const int32_t* pa = acc.const_data_ptr<int32_t>();
  const float* pst = step.contiguous().const_data_ptr<float>();
  const float* psh = shift.contiguous().const_data_ptr<float>();
  const float* pb = b.defined() ? b.const_data_ptr<float>() : nullptr;
  const float* pr = r.defined() ? r.const_data_ptr<float>() : nullptr;
  float* py = y.mutable_data_ptr<float>();
  const int64_t block = std::max<int64_t>(1, 32768 / std::max<int64_t>(n, 1));
  const at::ThreadLocalState state;  // inference mode, for at::gelu_ in the workers
  at::parallel_for(0, rows, block, [&](int64_t begin, int64_t end) {
    at::ThreadLocalStateGuard guard(state);
    for (int64_t i0 = begin; i0 < end; i0 += block) {
      const int64_t i1 = std::min(end, i0 + block);
      for (int64_t i = i0; i < i1; ++i)
        int8_loops::dequantize_row(pa + i * n, n, pst[i], psh[i], ws.const_data_ptr<float>(),
                                   wsum.const_data_ptr<float>(), pb, pr ? pr + i * n : nullptr,
                                   py + i * n);
      if (gelu) {
        at::Tensor rows_done = y.narrow(0, i0, i1 - i0);
        at::gelu_(rows_done, activation);
      }
    }
  });
  return y;
}

TORCH_LIBRARY(hfjit, m) {
  m.def("quantize_per_token(Tensor x) -> (Tensor, Tensor, Tensor)", &quantize_per_token);
  m.def(
      "int8_linear(Tensor xq, Tensor step, Tensor shift, Tensor weight_int8, Tensor weight_scale, "
      "Tensor weight_sum, Tensor? bias, Tensor? residual, str activation) -> Tensor",
      &int8_linear);
}

// The node that makes v, if it is a `kind`.
Node* made_by(Value* v, const char* kind) {
  return v->node()->kind() == c10::Symbol::fromQualString(kind) ? v->node() : nullptr;
}

// Whether v is a constant equal to x (an int or a float).
bool constant_is(Value* v, double x) {
  auto iv = torch::jit::toIValue(v);
  return iv && (iv->isInt() || iv->isDouble()) && iv->toScalar().toDouble() == x;
}

// Whether v's one use is input `offset` of a `kind` node; that node.
Node* sole_user(Value* v, const char* kind, size_t offset = 0) {
  const auto& uses = v->uses();
  if (uses.size() != 1 || uses[0].offset != offset ||
      uses[0].user->kind() != c10::Symbol::fromQualString(kind))
    return nullptr;
  return uses[0].user;
}

// linear_int8's quantization of its input, read back from the ops it traced
// to (the `to` node that casts to int8): the input x, its step s and its
// min widened to 0 (linear_int8's `lo`), or nothing if the ops are not
// exactly those.
struct QuantizedInput {
  Value* x;
  Value* step;
  Value* lo;
};

std::optional<QuantizedInput> quantized_input(Value* xq) {
  Node* cast = made_by(xq, "aten::to");
  if (!cast || cast->inputs().size() != 5 || !constant_is(cast->input(1), 1)) return std::nullopt;
  Node* fl = made_by(cast->input(0), "aten::floor");
  Node* add = fl ? made_by(fl->input(0), "aten::add") : nullptr;
  if (!add || !constant_is(add->input(2), 1)) return std::nullopt;
  Node* mul = made_by(add->input(0), "aten::mul");
  Node* rsub = made_by(add->input(1), "aten::rsub");
  if (!mul || !rsub || !constant_is(rsub->input(1), -127.5) || !constant_is(rsub->input(2), 1))
    return std::nullopt;
  Value* x = mul->input(0);
  Value* inv = mul->input(1);
  Node* lo_inv = made_by(rsub->input(0), "aten::mul");
  Node* rec = made_by(inv, "aten::reciprocal");
  if (!lo_inv || !rec || lo_inv->input(1) != inv) return std::nullopt;
  Value* step = rec->input(0);
  Node* floor_step = made_by(step, "aten::clamp_min");
  Node* div = floor_step ? made_by(floor_step->input(0), "aten::div") : nullptr;
  Node* sub = div ? made_by(div->input(0), "aten::sub") : nullptr;
  if (!sub || !constant_is(floor_step->input(1), 1e-8) || !constant_is(div->input(1), 255) ||
      !constant_is(sub->input(2), 1))
    return std::nullopt;
  // hi = clamp_min(amax(x, [-1], keepdim), 0), lo = clamp_max(amin(...), 0).
  auto widened = [x](Value* v, const char* clamp, const char* reduce) {
    Node* c = made_by(v, clamp);
    Node* r = c && constant_is(c->input(1), 0) ? made_by(c->input(0), reduce) : nullptr;
    if (!r || r->input(0) != x) return false;
    // dims [-1]: a constant, or (as traced) a list made of one.
    Node* dims = r->input(1)->node();
    const bool last = dims->kind() == c10::prim::ListConstruct
                          ? dims->inputs().size() == 1 && constant_is(dims->input(0), -1)
                          : torch::jit::toIValue(r->input(1)) ==
                                std::optional<c10::IValue>(c10::List<int64_t>({-1}));
    auto keep = torch::jit::toIValue(r->input(2));
    return last && keep && keep->isBool() && keep->toBool();
  };
  Value* lo = lo_inv->input(0);
  if (sub->input(1) != lo || !widened(sub->input(0), "aten::clamp_min", "aten::amax") ||
      !widened(lo, "aten::clamp_max", "aten::amin"))
    return std::nullopt;
  return QuantizedInput{x, step, lo};
}

// What fuse_int8_linear took in with a Linear.
enum class Fused { Alone, Gelu, Residual };

// Whether v may be read at `at` (defined before it, in the same block).
bool available_at(Value* v, Node* at) {
  Node* def = v->node();
  if (def->kind() == c10::prim::Param) return def->owningBlock() == at->owningBlock();
  return def->owningBlock() == at->owningBlock() && def->isBefore(at);
}

// Rewrites one linear_int8 (its aten::_int_mm node) into the fused ops;
// whether it did, and what went with it.
std::optional<Fused> fuse_int8_linear(Graph& g, Node* mm) {
  auto in = quantized_input(mm->input(0));
  if (!in) return std::nullopt;
  // mm -> to(float) -> mul_(step) -> addcmul_(y0, ., weight_scale), y0 =
  // addcmul(bias, shift, unsqueeze(weight_sum, 0)) or mul(shift, ...).
  Node* cast = sole_user(mm->output(), "aten::to");
  if (!cast || cast->inputs().size() != 5 || !constant_is(cast->input(1), 6)) return std::nullopt;
  Node* scale = sole_user(cast->output(), "aten::mul_");
  if (!scale || scale->input(1) != in->step) return std::nullopt;
  Node* out = sole_user(scale->output(), "aten::addcmul_", 1);
  if (!out || !constant_is(out->input(3), 1)) return std::nullopt;
  Node* y0 = out->input(0)->node();
  Value* bias = nullptr;
  Value *shift, *unsq;
  if (y0->kind() == c10::Symbol::fromQualString("aten::addcmul") && constant_is(y0->input(3), 1)) {
    bias = y0->input(0);
    shift = y0->input(1);
    unsq = y0->input(2);
  } else if (y0->kind() == c10::Symbol::fromQualString("aten::mul")) {
    shift = y0->input(0);
    unsq = y0->input(1);
  } else {
    return std::nullopt;
  }
  Node* shift_node = made_by(shift, "aten::add");
  Node* wsum = made_by(unsq, "aten::unsqueeze");
  if (y0->output()->uses().size() != 1 || !shift_node || shift_node->input(0) != in->lo ||
      shift_node->input(1) != in->step || !constant_is(shift_node->input(2), 128) || !wsum ||
      !constant_is(wsum->input(1), 0))
    return std::nullopt;

  // A GELU that alone reads the output (through one view, as linear_int8
  // restores the input's leading dimensions) is applied inside; else a
  // residual connection's add, a + b or b + a (the same bits).
  Node* gelu = nullptr;
  std::string approximate;
  Node* add = nullptr;
  Value* residual = nullptr;
  Node* view = sole_user(out->output(), "aten::view");
  if (view) {
    if (Node* candidate = sole_user(view->output(), "aten::gelu")) {
      if (auto a = gelu_approximate(candidate)) {
        gelu = candidate;
        approximate = *a;
      }
    }
    const auto& uses = view->output()->uses();
    if (!gelu && uses.size() == 1 && uses[0].offset < 2 &&
        uses[0].user->kind() == c10::Symbol::fromQualString("aten::add") &&
        uses[0].user->inputs().size() == 3 && constant_is(uses[0].user->input(2), 1)) {
      Value* other = uses[0].user->input(1 - uses[0].offset);
      if (other != view->output() && available_at(other, out)) {
        add = uses[0].user;
        residual = other;
      }
    }
  }

  torch::jit::WithInsertPoint guard(out);
  Node* q =
      g.insertNode(g.create(c10::Symbol::fromQualString("hfjit::quantize_per_token"), {in->x}, 3));
  for (Value* o : q->outputs()) o->setType(c10::TensorType::get());
  Value* none = g.insertConstant(c10::IValue());
  Node* fused = g.insertNode(g.create(
      c10::Symbol::fromQualString("hfjit::int8_linear"),
      {q->output(0), q->output(1), q->output(2), mm->input(1), out->input(2), wsum->input(0),
       bias ? bias : none, residual ? residual : none, g.insertConstant(approximate)}));
  fused->output()->setType(out->output()->type());
  if (!q->maybeSchema() || !fused->maybeSchema())
    throw Error("hfjit::int8_linear: no schema matches the rewritten int8 Linear");
  out->output()->replaceAllUsesWith(fused->output());
  for (Node* n : {gelu, add}) {
    if (!n) continue;
    n->output()->replaceAllUsesWith(view->output());
    n->destroy();
  }
  // The old tail, last first (each in-place op's output is unused by then);
  // dead-code elimination takes the quantization chain.
  for (Node* n : {out, scale, cast, mm, y0}) n->destroy();
  return gelu ? Fused::Gelu : add ? Fused::Residual : Fused::Alone;
}

}  // namespace

CpuKernels select_cpu_kernels(torch::jit::Module& module, LinearKernel kernel, int64_t rows) {
  CpuKernels report;
  if (kernel == LinearKernel::Aten) return report;
  auto graphs = method_graphs(module);
  const c10::Symbol int_mm = c10::Symbol::fromQualString("aten::_int_mm");
  for (auto& [g, selves] : graphs) {
    std::vector<Node*> mms;
    for_each_node(g->block(), [&](Node* n) {
      if (n->kind() == int_mm) mms.push_back(n);
    });
    for (Node* mm : mms) {
      auto fused = fuse_int8_linear(*g, mm);
      if (!fused) continue;
      ++report.int8_linears;
      report.int8_fused_gelu += *fused == Fused::Gelu;
      report.int8_fused_residual += *fused == Fused::Residual;
    }
    if (!mms.empty()) torch::jit::EliminateDeadCode(g);
  }
  if (!onednn_available()) {
    if (kernel == LinearKernel::OneDnn)
      throw Error("--linear onednn: this libtorch has no oneDNN (MKLDNN) Linear kernels");
    return report;
  }
  report.chosen = LinearKernel::OneDnn;
  const c10::Symbol linear = c10::Symbol::fromQualString("aten::linear");
  const c10::Symbol pointwise = c10::Symbol::fromQualString("mkldnn::_linear_pointwise");

  // Pass 1: the Linear nodes to rewrite, and how every tensor attribute they
  // read is used: a weight is reordered only if nothing but those nodes reads it.
  struct Site {
    Node* node;
    Graph* graph;
    Weight weight;
  };
  std::vector<Site> sites;
  std::set<Node*> rewritten;
  std::map<Slot, bool> only_linear;  // slot -> every read is a rewritten Linear's weight
  for (auto& [g, selves] : graphs) {
    for_each_node(g->block(), [&](Node* n) {
      if (n->kind() != linear || n->inputs().size() != 3) return;
      auto w = linear_weight(n, *g, selves);
      if (!w) {
        ++report.skipped;
        return;
      }
      sites.push_back({n, g.get(), *w});
      rewritten.insert(n);
    });
  }
  for (auto& [g, selves] : graphs) {
    for_each_node(g->block(), [&](Node* n) {
      if (n->kind() != c10::prim::GetAttr ||
          n->output()->type()->kind() != c10::TypeKind::TensorType)
        return;
      for (const Object& self : selves) {
        auto slot = resolve(n->output(), self, *g);
        if (!slot) continue;
        bool ok = true;
        for (const torch::jit::Use& u : n->output()->uses())
          ok = ok && u.offset == 1 && rewritten.count(u.user);
        auto [it, fresh] = only_linear.try_emplace(*slot, ok);
        if (!fresh) it->second = it->second && ok;
      }
    });
  }

  // A tensor held in two slots (weights kept tied: trace --keep-tied) stays
  // one plain tensor: reordering one slot would keep two copies in memory.
  std::map<const void*, int> holders;
  for (const torch::jit::Module& m : module.modules()) {
    const Object obj = m._ivalue();
    for (size_t i = 0; i < obj->slots().size(); ++i) {
      const c10::IValue& v = obj->getSlot(i);
      if (v.isTensor() && v.toTensor().defined() && v.toTensor().has_storage())
        ++holders[v.toTensor().storage().unsafeGetStorageImpl()];
    }
  }

  // Pass 2: rewrite, fuse, reorder.
  static const auto reorder = c10::Dispatcher::singleton()
                                  .findSchemaOrThrow("mkldnn::_reorder_linear_weight", "")
                                  .typed<at::Tensor(const at::Tensor&, std::optional<int64_t>)>();
  std::set<Slot> packed;
  for (Site& s : sites) {
    Graph& g = *s.graph;
    Node* n = s.node;
    torch::jit::WithInsertPoint guard(n);
    auto gelu = sole_gelu(n);
    Value* attr = g.insertConstant(gelu ? "gelu" : "none");
    Node* list = g.insertNode(g.createList(c10::OptionalType::create(c10::NumberType::get()), {}));
    Value* algorithm = g.insertConstant(gelu ? gelu->second : "");
    Node* fused = g.create(
        pointwise, {n->input(0), n->input(1), n->input(2), attr, list->output(), algorithm});
    fused->insertBefore(n);
    fused->output()->setType(n->output()->type());
    if (!fused->maybeSchema())
      throw Error("mkldnn::_linear_pointwise: no schema matches the rewritten Linear");
    if (gelu) {
      gelu->first->output()->replaceAllUsesWith(fused->output());
      ++report.fused_gelu;
    } else {
      n->output()->replaceAllUsesWith(fused->output());
    }
    ++report.linears;
    for (const Slot& slot : s.weight.slots) {
      if (packed.count(slot) || !only_linear[slot]) continue;
      const at::Tensor w = *tensor_of(slot);
      if (holders[w.storage().unsafeGetStorageImpl()] > 1) continue;
      slot.owner->setAttr(slot.name, reorder.call(w.detach(), std::max<int64_t>(rows, 1)));
      packed.insert(slot);
    }
  }
  report.packed = static_cast<int>(packed.size());
  for (auto& [g, selves] : graphs) torch::jit::EliminateDeadCode(g);
  return report;
}

bool cpu_has_native_bf16() {
  const auto caps = at::cpu::get_cpu_capabilities();
  for (const char* key : {"avx512_bf16", "amx_bf16", "bf16", "sve_bf16"}) {
    auto it = caps.find(key);
    if (it != caps.end() && it->second.isBool() && it->second.toBool()) return true;
  }
  return false;
}

int int8_weight_bits() {
  const auto caps = at::cpu::get_cpu_capabilities();
  for (const char* key : {"avx512_vnni", "avx_vnni", "amx_int8"}) {
    auto it = caps.find(key);
    if (it != caps.end() && it->second.isBool() && it->second.toBool()) return 8;
  }
  return 7;
}

std::string int8_weight_bits_warning(int64_t artifact_bits, int cpu_bits, const std::string& path) {
  if (artifact_bits <= cpu_bits) return "";
  return path + ": quantized with 8-bit weights on a CPU with VNNI; this CPU (" + cpu_name() +
         ") has no VNNI, where its int8 products can saturate: trace it again here";
}

void warn_int8_weight_bits(int64_t artifact_bits, const std::string& path) {
  const std::string w = int8_weight_bits_warning(artifact_bits, int8_weight_bits(), path);
  if (!w.empty()) spdlog::warn("{}", w);
}

void hold_freed_memory() {
#ifdef __GLIBC__
  // glibc before 2.35 refuses thresholds over 32 MiB (HEAP_MAX_SIZE / 2).
  if (::mallopt(M_MMAP_THRESHOLD, 1 << 30) == 0) ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

std::string cpu_name() {
  const auto caps = at::cpu::get_cpu_capabilities();
  auto it = caps.find("cpu_name");
  return it != caps.end() && it->second.isString() ? it->second.toStringRef() : "unknown CPU";
}

std::string describe(const CpuKernels& k) {
  std::string s;
  if (k.chosen == LinearKernel::Aten) {
    s = "aten (libtorch's default Linear)";
  } else {
    s = "oneDNN (" + std::to_string(k.linears) + " Linear, " + std::to_string(k.fused_gelu) +
        " with GELU fused, " + std::to_string(k.packed) + " weights prepacked";
    if (k.skipped) s += ", " + std::to_string(k.skipped) + " left to aten";
    s += ")";
  }
  if (k.int8_linears)
    s += ", int8: " + std::to_string(k.int8_linears) + " Linear fused, " +
         std::to_string(k.int8_fused_gelu) + " with GELU, " +
         std::to_string(k.int8_fused_residual) + " with the residual add";
  return s;
}

}  // namespace hfjit
