#pragma once
// A TorchScript file is code. Before `run` or `bench` call any method of a
// module they loaded, they list every operator that the archive's code calls
// (every function and method it compiled: forward, the functions it calls,
// the submodules' methods) and check each against an allow-list of pure
// compute: the aten, prim and quantized operators that read and write only
// their tensors. Anything else -- file or process access (aten::from_file),
// printing, random state, prim::PythonOp, an unknown namespace -- stops the
// command unless the user passed --trust. docs/reliability.md has the model.

#include <torch/script.h>

#include <string>
#include <vector>

namespace hfjit {

struct OperatorUse {
  std::string op;        // "aten::linear", "prim::GetAttr"
  std::string function;  // the first function or method that calls it
  size_t calls = 0;      // how many nodes call it, across the archive's code
  bool allowed = false;  // on the pure-compute allow-list
};

// Every operator the module's code calls, sorted by name.
std::vector<OperatorUse> list_operators(const torch::jit::Module& module);

// True when `op` ("aten::add") is on the allow-list.
bool is_pure_compute(const std::string& op);

// Throws Error naming the first operator off the allow-list, the function
// that calls it and `path`, with a pointer to --trust.
void check_pure_compute(const torch::jit::Module& module, const std::string& path);

}  // namespace hfjit
