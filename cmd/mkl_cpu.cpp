// MKL's fp32 GEMM on CPUs of every vendor at their full ISA.
//
// libtorch's CPU BLAS is Intel's MKL (linked into libtorch_cpu.so). MKL picks
// its code path by the CPU's ISA only where its own vendor tests,
// mkl_serv_intel_cpu_true() and mkl_serv_intel_cpu() (MKL 2024 asks both),
// say Intel; elsewhere (AMD) it keeps to its AVX2 code, AVX-512 unused.
// libtorch_cpu.so calls them through their exported symbols, so the engine's
// own definitions, exported from the executable (cmd/CMakeLists.txt), are the
// ones it calls. MKL still checks the ISA: on a CPU
// without AVX-512 it runs AVX2 as before. What it moves (attention's GEMMs;
// fp32 Linear layers run on oneDNN already): docs/benchmarks.md.
// HFJIT_MKL_VENDOR_CHECK=1 restores MKL's own test.

#include <cpuid.h>

#include <cstdlib>
#include <cstring>

namespace {

bool cpu_is_intel() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
  char vendor[13] = {};
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  return std::strcmp(vendor, "GenuineIntel") == 0;
}

int answer() {
  static const int a = [] {
    const char* e = std::getenv("HFJIT_MKL_VENDOR_CHECK");
    return e && std::strcmp(e, "1") == 0 ? static_cast<int>(cpu_is_intel()) : 1;
  }();
  return a;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int mkl_serv_intel_cpu_true() {
  return answer();
}
extern "C" __attribute__((visibility("default"))) int mkl_serv_intel_cpu() {
  return answer();
}
