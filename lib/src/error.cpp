#include "hfjit/error.h"

namespace hfjit {

std::string context(const std::string& where, const std::string& what) {
  return where.empty() ? what : where + ": " + what;
}

}  // namespace hfjit
