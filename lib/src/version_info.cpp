// hfjit's and libtorch's versions, from headers only: the front-end binary
// prints them without loading libtorch.

#include <torch/version.h>

#include "hfjit/version.h"
#include "hfjit_version_config.h"

namespace hfjit {

std::string version() { return HFJIT_VERSION; }

std::string torch_version() { return TORCH_VERSION; }

}  // namespace hfjit
