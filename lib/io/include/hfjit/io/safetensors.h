#pragma once
// Safetensors: an 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the data. The reader validates the layout and hands out views into a
// memory mapping; the writer is deterministic (tensors sorted by name) and atomic.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hfjit/io/dtype.h"
#include "hfjit/io/file.h"

namespace hfjit {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> tensors;  // in data order
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // file offset of the data section
};

// Largest header we accept (the format's own reference reader uses 100 MB).
constexpr uint64_t kMaxSafetensorsHeader = 100ull << 20;

// Validates a whole file image: header length against the file size and
// kMaxSafetensorsHeader, JSON well formed, known dtypes, offsets inside the
// data and not overlapping, byte length = product(shape) x dtype size.
// `where` names the file in errors. Needs no libtorch; fuzzable.
SafetensorsHeader parse_safetensors(const uint8_t* data, size_t size, const std::string& where);

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);
  const SafetensorsHeader& header() const { return header_; }
  const std::shared_ptr<MappedFile>& mapping() const { return file_; }
  const uint8_t* tensor_data(const SafetensorsEntry& e) const {
    return file_->data() + header_.data_start + e.begin;
  }

 private:
  std::shared_ptr<MappedFile> file_;
  SafetensorsHeader header_;
};

// A tensor to write: contiguous bytes in row-major order.
struct TensorBytes {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  uint64_t nbytes = 0;
  // Optional: the same bytes stored contiguously in a mapped file at this
  // offset; the writer then copies them file to file inside the kernel.
  const MappedFile* source = nullptr;
  uint64_t source_offset = 0;
};

// The header JSON as write_safetensors writes it (sorted by name, offsets
// laid out in that order, padded with spaces to a multiple of 8).
std::string safetensors_header_json(const std::vector<TensorBytes>& tensors,
                                    const std::map<std::string, std::string>& metadata);

// The file image write_safetensors writes, in memory (small tensors carried in
// another file, such as a TorchScript archive's extra files).
std::string safetensors_bytes(const std::vector<TensorBytes>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

// Writes atomically. `on_written(i)` is called after tensor i (in the sorted
// order) is written, so callers can release its memory.
void write_safetensors(const std::string& path, std::vector<TensorBytes> tensors,
                       const std::map<std::string, std::string>& metadata = {},
                       const std::function<void(const TensorBytes&)>& on_written = {});

}  // namespace hfjit
