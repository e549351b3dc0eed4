// Batcher: a window of inputs, sorted by length, run batch by batch, emitted in
// input order.

#include "hfjit/run/batcher.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "hfjit/error.h"

namespace hfjit {

Batcher::Batcher(size_t batch_size, size_t window_batches, RunBatch run_batch, ResultSink& sink)
    : batch_size_(std::max<size_t>(batch_size, 1)),
      window_(batch_size_ * std::max<size_t>(window_batches, 1)),
      run_batch_(std::move(run_batch)),
      sink_(sink) {}

size_t Batcher::length(const RunInput& in) {
  return in.text.size() + (in.text_pair ? in.text_pair->size() : 0) +
         (in.question ? in.question->size() : 0);
}

void Batcher::add(RunInput input) {
  pending_.push_back(std::move(input));
  if (pending_.size() >= window_) run_window();
}

void Batcher::finish() {
  run_window();
}

void Batcher::run_window() {
  if (pending_.empty()) return;
  std::vector<size_t> order(pending_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return length(pending_[x]) < length(pending_[y]); });
  std::vector<std::optional<RunResult>> results(pending_.size());
  for (size_t first = 0; first < order.size(); first += batch_size_) {
    const size_t last = std::min(order.size(), first + batch_size_);
    std::vector<RunInput> batch;
    for (size_t k = first; k < last; ++k) batch.push_back(pending_[order[k]]);
    std::vector<RunResult> out = run_batch_(batch);
    if (out.size() != batch.size())
      throw Error("a batch of " + std::to_string(batch.size()) + " inputs gave " +
                  std::to_string(out.size()) + " results");
    for (size_t k = 0; k < out.size(); ++k) results[order[first + k]] = std::move(out[k]);
  }
  for (size_t i = 0; i < results.size(); ++i) sink_.write(pending_[i], *results[i]);
  done_ += pending_.size();
  pending_.clear();
  sink_.flush();
}

}  // namespace hfjit
