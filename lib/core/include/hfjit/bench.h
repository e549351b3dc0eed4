#pragma once
// `hfjit bench`: latency and throughput of a model over a sweep of
// (batch size, length) points, with synthetic inputs, in one process so that
// modes compared side by side share the machine's state.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hfjit/cpu_kernels.h"

namespace hfjit {

struct BenchOptions {
  std::vector<int64_t> batch_sizes;  // empty: the artifact's batch size (or 1)
  std::vector<int64_t> lengths;      // empty: the artifact's traced lengths (or 128)
  int iterations = 0;                // 0: as many as fit in min_time_s (at least 5)
  double min_time_s = 1.0;
  int warmup = 3;
  bool compare = false;  // a model folder: eager, traced, traced-bf16 and traced-int8 side by side
  std::string revision;
  uint64_t seed = 0;
  bool trust = false;  // run code off the pure-compute list (graph_check.h)
  // A generation artifact (static cache): new tokens per generation; 0: 128,
  // capped by the cache past the prompt (an encoder-decoder's: by its decoder slots).
  int64_t new_tokens = 0;
  // A .pt's fp32 Linear kernels (cpu_kernels.h); --compare times aten and oneDNN both.
  LinearKernel linear = LinearKernel::Auto;
};

struct BenchPoint {
  std::string mode;  // "eager", "traced", "traced-onednn", "traced-bf16", "traced-int8"
  int64_t batch_size = 0;
  int64_t length = 0;          // requested length
  int64_t run_batch_size = 0;  // the batch it ran at (a static trace's own: >= batch_size; padding)
  int64_t run_length = 0;      // the traced length it ran at (>= length; padding)
  int threads = 0;
  int iterations = 0;
  double min_ms = 0, mean_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0;
  double seqs_per_s = 0, tokens_per_s = 0;
  double peak_rss_mb = 0;
  double gflop = 0;  // model FLOPs per call at run_batch_size x run_length (estimate), in GFLOP
  double gflops_per_s = 0;  // achieved, at p50
  // mode "generate" (a static-cache artifact): length is the prompt, the
  // latencies are of whole generations (prefill + new_tokens - 1 decode steps,
  // greedy), tokens_per_s counts new tokens; then the parts. Mode "seq2seq"
  // (an encoder-decoder): length is the source, a generation is the encode and
  // new_tokens decode steps, and prefill_ms is the encode's.
  int64_t new_tokens = 0;
  double prefill_ms = 0;                  // p50 of the prefill (or encode) calls
  double decode_ms = 0;                   // p50 of every decode step
  std::vector<double> decode_ms_by_step;  // p50 of each step over the generations
};

// Runs the sweep on a .pt written by `hfjit trace` (mode "traced") or a model
// folder / hub id (mode "eager"; with compare also "traced" and the levers
// "traced-bf16", "traced-int8" (trace --dtype / --quantize), traced in memory
// at each point). `on_point` is called as each point finishes,
// `on_progress(done, total)` as iterations run.
std::vector<BenchPoint> run_bench(
    const std::string& model, const BenchOptions& opts,
    const std::function<void(const BenchPoint&)>& on_point = {},
    const std::function<void(int, int, const std::string&)>& on_progress = {});

// Times an n x n x n fp32 matmul: the machine's attainable GFLOP/s.
double peak_gflops(int64_t n = 2048, double min_time_s = 1.0);

// Latency statistics of a list of milliseconds (sorted copy, nearest-rank percentiles).
struct LatencyStats {
  double min = 0, mean = 0, p50 = 0, p90 = 0, p99 = 0;
};
LatencyStats latency_stats(std::vector<double> ms);

double peak_rss_mb();

}  // namespace hfjit
