#pragma once
// Length-sorted window batching, the way `hfjit run` streams its inputs.
// Inputs are gathered a window at a time (window_batches batches of
// batch_size), sorted by length inside the window so that each batch pads as
// little as possible (ties keep input order), run batch by batch, and handed to
// the sink in input order; then the sink is flushed and the next window is
// gathered. Memory: one window of inputs and results, whatever the input count.
//
//   Batcher b(runner.batch_size(), Batcher::kWindowBatches,
//             [&](const std::vector<RunInput>& batch) { return runner.run(batch); }, sink);
//   while (source.next(in)) b.add(std::move(in));
//   b.finish();

#include <cstddef>
#include <functional>
#include <vector>

#include "hfjit/run/input.h"
#include "hfjit/run/results.h"
#include "hfjit/run/sinks.h"

namespace hfjit {

class Batcher {
 public:
  // One result per input of the batch, in the batch's order (Runner::run).
  using RunBatch = std::function<std::vector<RunResult>(const std::vector<RunInput>&)>;
  // Batches read ahead from a file or the arguments; standard input uses 1, so
  // a pipe gets each batch's answers as soon as the batch is full.
  static constexpr size_t kWindowBatches = 8;

  Batcher(size_t batch_size, size_t window_batches, RunBatch run_batch, ResultSink& sink);

  // Adds an input; a full window runs and goes to the sink.
  void add(RunInput input);
  // Runs the last, partial window. Call once, after the last add().
  void finish();
  // Results handed to the sink so far.
  size_t done() const { return done_; }

  // The length inputs are sorted by: bytes of the text, text pair and question.
  static size_t length(const RunInput& in);

 private:
  void run_window();

  size_t batch_size_;
  size_t window_;
  RunBatch run_batch_;
  ResultSink& sink_;
  std::vector<RunInput> pending_;
  size_t done_ = 0;
};

}  // namespace hfjit
