// Result sinks: JSON lines, the streamed .npy, the --query ranking.

#include "hfjit/run/sinks.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>

#include "hfjit/error.h"

namespace hfjit {

// ------------------------------------------------------------- JSON lines

JsonLinesSink::JsonLinesSink(std::FILE* stream) : stream_(stream) {}

JsonLinesSink::JsonLinesSink(const std::string& path) : file_(std::make_unique<AtomicFile>(path)) {}

void JsonLinesSink::write(const RunInput&, const RunResult& result) {
  const std::string line = to_json_line(result) + "\n";
  if (file_)
    file_->write(line);
  else
    std::fputs(line.c_str(), stream_);
}

void JsonLinesSink::flush() {
  if (stream_) std::fflush(stream_);
}

void JsonLinesSink::commit() {
  if (file_)
    file_->commit();
  else
    flush();
}

// -------------------------------------------------------------------- .npy

NpyWriter::NpyWriter(const std::string& path) : file_(path) {
  file_.write(header(0, 0));
}

void NpyWriter::add(const std::vector<float>& row) {
  if (cols_ == 0) cols_ = row.size();
  if (row.size() != cols_) throw Error("embeddings of different sizes cannot share one .npy");
  file_.write(row.data(), row.size() * sizeof(float));
  ++rows_;
}

void NpyWriter::commit() {
  const std::string h = header(rows_, cols_);
  file_.write_at(0, h.data(), h.size());
  file_.commit();
}

std::string NpyWriter::header(uint64_t rows, uint64_t cols) {
  char shape[96];
  std::snprintf(shape, sizeof shape, "(%20" PRIu64 ", %10" PRIu64 ")", rows, cols);
  std::string dict =
      std::string("{'descr': '<f4', 'fortran_order': False, 'shape': ") + shape + ", }";
  std::string h = std::string("\x93NUMPY\x01\x00", 8);
  const size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  h += static_cast<char>(dict.size() & 0xff);
  h += static_cast<char>(dict.size() >> 8);
  return h + dict;
}

void NpySink::write(const RunInput&, const RunResult& result) {
  const Embedding* e = std::get_if<Embedding>(&result);
  if (!e)
    throw Error(
        context(path_, ".npy output holds one vector per input: it needs sentence embeddings"));
  npy_.add(e->vector);
}

// ------------------------------------------------------------------ --query

namespace {

std::vector<double> unit_vector(const std::vector<float>& v) {
  std::vector<double> out(v.begin(), v.end());
  double norm = 0;
  for (double x : out) norm += x * x;
  norm = std::sqrt(norm);
  if (norm > 0)
    for (double& x : out) x /= norm;
  return out;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) s += a[i] * b[i];
  return s;
}

const Embedding& embedding_of(const RunResult& result, const std::string& where) {
  const Embedding* e = std::get_if<Embedding>(&result);
  if (!e) throw Error(where + ": --query ranks sentence embeddings; this result is not one");
  return *e;
}

}  // namespace

RankingSink::RankingSink(const Embedding& query) : query_(unit_vector(query.vector)) {}

void RankingSink::write(const RunInput& input, const RunResult& result) {
  seen_.push_back({input.text, dot(query_, unit_vector(embedding_of(result, input.where).vector))});
}

std::vector<RankingSink::Ranked> RankingSink::ranked() const {
  std::vector<Ranked> out = seen_;
  std::stable_sort(out.begin(), out.end(),
                   [](const Ranked& x, const Ranked& y) { return x.score > y.score; });
  return out;
}

}  // namespace hfjit
