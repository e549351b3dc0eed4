#pragma once
// The CPU kernels a loaded module runs its fp32 Linear layers on.
//
// A traced artifact stays portable: it holds plain `aten::linear` (any device,
// any libtorch build). On the CPU, libtorch's fp32 `aten::linear` goes to MKL's
// sgemm, which on some CPUs (AMD with AVX-512: MKL keeps to its AVX2 path
// there) reaches half of what oneDNN does on the same cores. `run` and `bench`
// therefore rewrite, in memory and after the module's checks, each fp32
// `aten::linear` whose weight is a CPU parameter into oneDNN's
// `mkldnn::_linear_pointwise`, with the weight reordered once into oneDNN's
// blocked layout and a following GELU fused into it. Outputs agree with
// aten's within float rounding (the sums run in another order).
//
// The int8 Linears of `--quantize int8` artifacts (plain aten too: some 20
// element-wise ops around at::_int_mm) are rewritten the same way into two
// ops hfjit registers, hfjit::quantize_per_token and hfjit::int8_linear,
// which make the same arithmetic in three passes instead of some twenty, a
// following GELU or residual add fused in: the outputs are the same bits. A module whose code calls
// them itself is foreign code (graph_check): only this rewrite puts them in a graph.

#include <cstdint>
#include <string>

namespace torch::jit {
struct Module;
}

namespace hfjit {

enum class LinearKernel {
  Auto,    // oneDNN where libtorch has it (and MKLDNN is enabled), else aten
  Aten,    // leave the graph as it is
  OneDnn,  // oneDNN, or an error where libtorch has no oneDNN
};

struct CpuKernels {
  LinearKernel chosen = LinearKernel::Aten;  // what ran: Aten or OneDnn
  int linears = 0;                           // aten::linear nodes rewritten (over every method)
  int fused_gelu = 0;                        // of those, with the following GELU fused in
  int packed = 0;                            // weights reordered into oneDNN's layout (each once)
  int skipped = 0;  // aten::linear left alone (not fp32 CPU weights, or weights used elsewhere)
  int int8_linears = 0;         // int8 Linears (--quantize int8) rewritten into hfjit's fused ops
  int int8_fused_gelu = 0;      // of those, with the following GELU fused in
  int int8_fused_residual = 0;  // of those, with the following residual connection's add
};

// Rewrites the fp32 and int8 Linear layers of every method of `module`
// (loaded, not yet run) for `kernel` (LinearKernel::Aten: none of it). `rows` is the number of rows
// (batch x length) the module mostly runs at, a hint for the weights' layout. Modules in bf16 or
// int8, and weights that are not plain 2-D fp32 CPU tensors, are left as they are.
CpuKernels select_cpu_kernels(torch::jit::Module& module, LinearKernel kernel, int64_t rows);

// The kernel for a generation artifact (static cache): Auto is aten. Its decode
// step multiplies one row per sequence, where MKL's sgemv beat oneDNN's packed
// weights (9.3 against 12.6 ms per token on a 110M Llama, docs/benchmarks.md)
// and the packed copies would double the weights' memory.
inline LinearKernel generation_linear(LinearKernel kernel) {
  return kernel == LinearKernel::Auto ? LinearKernel::Aten : kernel;
}

// Whether the CPU multiplies bf16 natively (AVX512-BF16 or AMX-BF16 on x86,
// the BF16 extension on Arm): where it does not, libtorch's bf16 matmuls fall
// back to paths many times slower than float32.
bool cpu_has_native_bf16();
// Bits per int8 weight (--quantize int8): 8 where the CPU sums u8 x s8
// products straight into int32 (AVX512-VNNI, AVX-VNNI, AMX-INT8), else 7, so
// the pairwise int16 sums of plain AVX2 / AVX-512 (vpmaddubsw) cannot saturate.
int int8_weight_bits();
// The warning for an int8 artifact with 8-bit weights (traced on a CPU with
// VNNI) on a CPU with `cpu_bits` (int8_weight_bits()) 7: its int8 products can
// saturate there. Empty when there is nothing to say.
std::string int8_weight_bits_warning(int64_t artifact_bits, int cpu_bits, const std::string& path);
// Logs that warning for this CPU (run and bench).
void warn_int8_weight_bits(int64_t artifact_bits, const std::string& path);
// Keeps freed memory in the process for the next forward call (glibc): blocks
// up to 1 GiB come from the heap, not from mmap, and the heap is trimmed only
// past 1 GiB free. With glibc's defaults, blocks over 32 MiB (an MLM head's
// logits) are mapped and unmapped on every call, and the top of the heap goes
// back to the system whenever twice the last freed large block is free there,
// so every call faults its activations in again: BERT-base int8 at 8 x 128
// took 2.3x as long (docs/benchmarks.md). Called by run and bench; trace keeps
// its own setting (a lower peak while saving).
void hold_freed_memory();
// The CPU's name as cpuinfo reports it ("AMD EPYC"), for messages.
std::string cpu_name();

// One line for logs: "oneDNN (74 Linear, 12 with GELU fused, 74 weights prepacked)",
// with ", int8: 72 Linear fused, 12 with GELU, 24 with the residual add" where
// there were int8 Linears.
std::string describe(const CpuKernels& k);

}  // namespace hfjit
