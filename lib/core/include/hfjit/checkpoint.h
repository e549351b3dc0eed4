#pragma once
// A checkpoint: Hugging Face tensor names -> tensors. Safetensors files and
// the data records of pytorch_model.bin are memory-mapped and the tensors are
// views into the mapping (no copy at load; the mapping is copy-on-write, so
// nothing can ever write to the file). Tensors that share a storage in a .bin
// share it here too, so ties stay visible.

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hfjit/io/dtype.h"
#include "hfjit/io/model_dir.h"
#include "hfjit/io/raw_checkpoint.h"

namespace hfjit {

at::ScalarType to_scalar_type(DType t);
DType from_scalar_type(at::ScalarType t, const std::string& where);

class Checkpoint {
 public:
  // Loads the weights of a model folder (see find_weights).
  static Checkpoint load(const std::string& dir);
  static Checkpoint load(const WeightFiles& files);
  // One file: *.safetensors, or a torch.save zip (pytorch_model.bin).
  static Checkpoint load_file(const std::string& path);

  // The same tensors without libtorch (dtype, shape, strides, mapped bytes).
  const RawCheckpoint& raw() const { return raw_; }
  const std::map<std::string, at::Tensor>& tensors() const { return tensors_; }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws Error naming the tensor when absent.
  const at::Tensor& at(const std::string& name) const;
  // Which file a tensor came from (for errors).
  const std::string& file_of(const std::string& name) const { return raw_.file_of(name); }
  const WeightFiles& files() const { return raw_.files(); }
  // Safetensors __metadata__ (merged over shards).
  const std::map<std::string, std::string>& metadata() const { return raw_.metadata(); }
  uint64_t total_bytes() const { return raw_.total_bytes(); }
  // Drops the pages under a tensor viewing a mapping from memory (they are
  // read from the file again if touched): once a model holds its own copy,
  // the process need not hold the mapped bytes too. Tensors that are not
  // views of a mapping (misaligned ones, copied at load) are left alone.
  void release(const std::string& name) const { raw_.release(name); }

 private:
  explicit Checkpoint(RawCheckpoint raw);

  RawCheckpoint raw_;
  std::map<std::string, at::Tensor> tensors_;
};

}  // namespace hfjit
