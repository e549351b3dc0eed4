// What the pure-compute check (graph_check.h) costs next to loading the file:
//   build/bench/check_cost MODEL.pt [ROUNDS]
// Each of ROUNDS rounds (default 7) times the load without the checks
// (TorchScriptFile::load with trust), the load with the __setstate__ scan,
// and list_operators + check_pure_compute on the loaded module. Prints the
// medians and what both checks add to the load. For docs/benchmarks.md
// (issue 22: under 5% of the load).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "hfjit/graph_check.h"
#include "hfjit/torchscript_file.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: check_cost MODEL.pt [ROUNDS]\n");
    return 2;
  }
  const std::string path = argv[1];
  const int rounds = argc > 2 ? std::max(1, std::stoi(argv[2])) : 7;
  std::vector<double> load, scanned, check;
  size_t ops = 0;
  for (int i = 0; i < rounds; ++i) {
    auto t = std::chrono::steady_clock::now();
    { hfjit::TorchScriptFile::load(path, /*trust=*/true); }
    load.push_back(ms_since(t));
    t = std::chrono::steady_clock::now();
    hfjit::TorchScriptFile ts = hfjit::TorchScriptFile::load(path);
    scanned.push_back(ms_since(t));
    t = std::chrono::steady_clock::now();
    ops = hfjit::list_operators(ts.module).size();
    hfjit::check_pure_compute(ts.module, path);
    check.push_back(ms_since(t));
  }
  const double l = median(load), s = median(scanned), c = median(check);
  std::printf(
      "%s: load %.1f ms; load with the __setstate__ scan %.1f ms; operator check %.2f ms (%zu "
      "operators); "
      "both checks add %.2f%% to the load (medians of %d rounds)\n",
      path.c_str(), l, s, c, ops, 100.0 * (s - l + c) / l, rounds);
  return 0;
}
