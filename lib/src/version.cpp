#include "hfjit/version.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <thread>

#include "hfjit_version_config.h"

namespace hfjit {

std::string version() { return HFJIT_VERSION; }

std::string torch_version() { return TORCH_VERSION; }

int set_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return n;
}

}  // namespace hfjit
