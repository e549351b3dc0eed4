#include "hfjit/error.h"

namespace hfjit {

std::string context(const std::string& where, const std::string& what) {
  return where.empty() ? what : where + ": " + what;
}

std::string first_line(const std::string& message) {
  size_t pos = 0;
  while (pos < message.size()) {
    size_t end = message.find('\n', pos);
    if (end == std::string::npos) end = message.size();
    size_t b = message.find_first_not_of(" \t\r", pos);
    if (b != std::string::npos && b < end) {
      size_t e = message.find_last_not_of(" \t\r", end - 1);
      return message.substr(b, e - b + 1);
    }
    pos = end + 1;
  }
  return "(no message)";
}

}  // namespace hfjit
