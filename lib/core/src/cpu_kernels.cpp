#include "hfjit/cpu_kernels.h"

#include <ATen/Context.h>
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

// The GELU that alone reads a Linear's output, and its `approximate` ("none"
// or "tanh"), to fuse into oneDNN's kernel.
std::optional<std::pair<Node*, std::string>> sole_gelu(Node* linear) {
  const auto& uses = linear->output()->uses();
  if (uses.size() != 1 || uses[0].user->kind() != c10::Symbol::fromQualString("aten::gelu") ||
      uses[0].offset != 0)
    return std::nullopt;
  Node* gelu = uses[0].user;
  std::string approximate = "none";
  if (gelu->inputs().size() > 1) {
    auto a = torch::jit::toIValue(gelu->input(1));
    if (!a || !a->isString()) return std::nullopt;
    approximate = a->toStringRef();
  }
  if (approximate != "none" && approximate != "tanh") return std::nullopt;
  return std::make_pair(gelu, approximate);
}

}  // namespace

CpuKernels select_cpu_kernels(torch::jit::Module& module, LinearKernel kernel, int64_t rows) {
  CpuKernels report;
  if (kernel == LinearKernel::Aten) return report;
  if (!onednn_available()) {
    if (kernel == LinearKernel::OneDnn)
      throw Error("--linear onednn: this libtorch has no oneDNN (MKLDNN) Linear kernels");
    return report;
  }
  report.chosen = LinearKernel::OneDnn;
  const c10::Symbol linear = c10::Symbol::fromQualString("aten::linear");
  const c10::Symbol pointwise = c10::Symbol::fromQualString("mkldnn::_linear_pointwise");

  auto graphs = method_graphs(module);
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
  if (k.chosen == LinearKernel::Aten) return "aten (libtorch's default Linear)";
  std::string s = "oneDNN (" + std::to_string(k.linears) + " Linear, " +
                  std::to_string(k.fused_gelu) + " with GELU fused, " + std::to_string(k.packed) +
                  " weights prepacked";
  if (k.skipped) s += ", " + std::to_string(k.skipped) + " left to aten";
  return s + ")";
}

}  // namespace hfjit
