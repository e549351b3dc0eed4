#pragma once
// Where `hfjit run` puts its results, one per input in input order:
//   JsonLinesSink  one JSON line per result, on stdout or into a file
//   NpySink        sentence embeddings as rows of a float32 .npy (NpyWriter)
//   RankingSink    --query: inputs ranked by cosine similarity to a query
// Files are written atomically: they appear, whole, at commit(); a sink
// destroyed without commit() (an error) leaves nothing behind.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "hfjit/io/file.h"
#include "hfjit/run/input.h"
#include "hfjit/run/results.h"

namespace hfjit {

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // One result, in input order.
  virtual void write(const RunInput& input, const RunResult& result) = 0;
  // After each window of results: what was written reaches its reader (a pipe
  // gets its answers as soon as a batch is done).
  virtual void flush() {}
  // After the last result: the output is made whole.
  virtual void commit() {}
};

class JsonLinesSink : public ResultSink {
 public:
  // On a stdio stream (stdout), flushed at every window.
  explicit JsonLinesSink(std::FILE* stream);
  // Into a file, atomically.
  explicit JsonLinesSink(const std::string& path);
  void write(const RunInput& input, const RunResult& result) override;
  void flush() override;
  void commit() override;

 private:
  std::FILE* stream_ = nullptr;
  std::unique_ptr<AtomicFile> file_;
};

// A .npy (format version 1.0) of float32 rows, streamed: the header's shape is
// written with room to spare and patched at commit(), when the row count is
// known. The file appears at commit().
class NpyWriter {
 public:
  explicit NpyWriter(const std::string& path);
  // Throws Error when the row's size differs from the first row's.
  void add(const std::vector<float>& row);
  void commit();
  uint64_t rows() const { return rows_; }
  uint64_t cols() const { return cols_; }
  // The header for a [rows, cols] '<f4' array: magic, version, dict padded
  // with spaces and a newline to a multiple of 64 bytes. Its size does not
  // depend on rows and cols.
  static std::string header(uint64_t rows, uint64_t cols);

 private:
  AtomicFile file_;
  uint64_t rows_ = 0, cols_ = 0;
};

// sentence-embedding results as the rows of a .npy, [inputs, dim].
class NpySink : public ResultSink {
 public:
  explicit NpySink(const std::string& path) : path_(path), npy_(path) {}
  // Throws Error for a result that is not an Embedding.
  void write(const RunInput& input, const RunResult& result) override;
  void commit() override { npy_.commit(); }

 private:
  std::string path_;
  NpyWriter npy_;
};

// --query (semantic search): each input's sentence embedding scored by its
// cosine similarity to the query's; the ranking is read once all have run.
class RankingSink : public ResultSink {
 public:
  struct Ranked {
    std::string text;
    double score = 0;
  };
  explicit RankingSink(const Embedding& query);
  // Throws Error for a result that is not an Embedding.
  void write(const RunInput& input, const RunResult& result) override;
  // Most similar first; equal scores keep input order.
  std::vector<Ranked> ranked() const;

 private:
  std::vector<double> query_;  // unit length
  std::vector<Ranked> seen_;
};

}  // namespace hfjit
