#pragma once
// The weights of a checkpoint without libtorch: each tensor is a typed,
// strided view of a storage, and the storage is bytes of a memory-mapped
// file (a safetensors data range, or a data record of pytorch_model.bin).
// Tensors of a .bin that share a storage share it here too, so ties stay
// visible. hfjit::Checkpoint builds at::Tensors on top of this; `untie` of a
// model folder needs nothing more, so it runs without loading libtorch.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hfjit/io/dtype.h"
#include "hfjit/io/model_dir.h"

namespace hfjit {

class MappedFile;

struct RawTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;      // in elements, none negative
  int64_t offset = 0;                // in elements from the storage's start
  const uint8_t* storage = nullptr;  // inside `file`'s mapping
  uint64_t storage_nbytes = 0;
  std::shared_ptr<MappedFile> file;  // keeps the mapping alive
  uint64_t storage_file_offset = 0;  // where the storage starts in the file

  int64_t numel() const;
  uint64_t nbytes() const { return static_cast<uint64_t>(numel()) * dtype_size(dtype); }
  bool is_contiguous() const;
  // The first element's bytes (contiguous tensors: all of them).
  const uint8_t* data() const { return storage + offset * static_cast<int64_t>(dtype_size(dtype)); }
  // Same storage, same view: one tensor under two names.
  bool same_view(const RawTensor& other) const;
};

// The elements of `t` in row-major order, as bytes.
std::vector<uint8_t> contiguous_bytes(const RawTensor& t);
// Same dtype, shape and bytes (bit equality: a tie, not a numeric comparison).
bool equal_bytes(const RawTensor& a, const RawTensor& b);
// Row-major strides of a shape.
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape);

class RawCheckpoint {
 public:
  // The weights of a model folder (see find_weights).
  static RawCheckpoint load(const std::string& dir);
  static RawCheckpoint load(const WeightFiles& files);
  // One file: *.safetensors, or a torch.save zip (pytorch_model.bin).
  static RawCheckpoint load_file(const std::string& path);

  const std::map<std::string, RawTensor>& tensors() const { return tensors_; }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws Error naming the tensor when absent.
  const RawTensor& at(const std::string& name) const;
  const std::string& file_of(const std::string& name) const;
  const WeightFiles& files() const { return files_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  uint64_t total_bytes() const;
  // Drops the mapped pages under a tensor's storage from memory.
  void release(const std::string& name) const;

 private:
  void add_safetensors(const std::string& path);
  void add_pytorch_bin(const std::string& path);
  void insert(const std::string& name, RawTensor t, const std::string& file);

  WeightFiles files_;
  std::map<std::string, RawTensor> tensors_;
  std::map<std::string, std::string> origin_;
  std::map<std::string, std::string> metadata_;
  std::vector<std::shared_ptr<MappedFile>> mappings_;
};

}  // namespace hfjit
