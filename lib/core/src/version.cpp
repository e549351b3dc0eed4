#include "hfjit/version.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <thread>

namespace hfjit {

int set_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return n;
}

}  // namespace hfjit
