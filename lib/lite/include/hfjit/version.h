#pragma once
// Versions of hfjit and of the libtorch it runs on.

#include <string>

namespace hfjit {

std::string version();        // "0.1.0"
std::string torch_version();  // "1.13.1", from the headers hfjit was built with
// Sets libtorch's intra-op thread count; n <= 0 means all cores (needs libtorch).
int set_threads(int n);

}  // namespace hfjit
