#pragma once
// Wall-clock stage timing shared by trace, untie and bench (not a public header).

#include <chrono>

namespace hfjit {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace hfjit
