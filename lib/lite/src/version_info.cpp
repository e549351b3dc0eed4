// hfjit's and libtorch's versions, fixed at configure time: the front-end
// binary prints them without loading libtorch or including its headers.

#include "hfjit/version.h"
#include "hfjit_version_config.h"

namespace hfjit {

std::string version() {
  return HFJIT_VERSION;
}

std::string torch_version() {
  return HFJIT_TORCH_VERSION;
}

}  // namespace hfjit
