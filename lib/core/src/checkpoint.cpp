#include "hfjit/checkpoint.h"

#include <ATen/ATen.h>

#include "hfjit/error.h"
#include "hfjit/io/file.h"

#include <tuple>

namespace hfjit {

at::ScalarType to_scalar_type(DType t) {
  switch (t) {
    case DType::F64:
      return at::kDouble;
    case DType::F32:
      return at::kFloat;
    case DType::F16:
      return at::kHalf;
    case DType::BF16:
      return at::kBFloat16;
    case DType::I64:
      return at::kLong;
    case DType::I32:
      return at::kInt;
    case DType::I16:
      return at::kShort;
    case DType::I8:
      return at::kChar;
    case DType::U8:
      return at::kByte;
    case DType::BOOL:
      return at::kBool;
  }
  return at::kFloat;
}

DType from_scalar_type(at::ScalarType t, const std::string& where) {
  switch (t) {
    case at::kDouble:
      return DType::F64;
    case at::kFloat:
      return DType::F32;
    case at::kHalf:
      return DType::F16;
    case at::kBFloat16:
      return DType::BF16;
    case at::kLong:
      return DType::I64;
    case at::kInt:
      return DType::I32;
    case at::kShort:
      return DType::I16;
    case at::kChar:
      return DType::I8;
    case at::kByte:
      return DType::U8;
    case at::kBool:
      return DType::BOOL;
    default:
      throw Error(context(
          where, std::string("dtype ") + c10::toString(t) + " cannot be stored in safetensors"));
  }
}

namespace {

// A 1-D tensor over a storage's bytes; it keeps the mapping alive.
// Misaligned data (possible in hand-made safetensors) is copied instead.
at::Tensor storage_of(const RawTensor& r) {
  const at::ScalarType type = to_scalar_type(r.dtype);
  const auto numel = static_cast<int64_t>(r.storage_nbytes / dtype_size(r.dtype));
  std::shared_ptr<MappedFile> keep = r.file;
  at::Tensor t = at::from_blob(
      const_cast<uint8_t*>(r.storage), {numel}, [keep](void*) {}, at::TensorOptions().dtype(type));
  if (reinterpret_cast<uintptr_t>(r.storage) % at::elementSize(type) != 0) return t.clone();
  return t;
}

}  // namespace

Checkpoint::Checkpoint(RawCheckpoint raw) : raw_(std::move(raw)) {
  // Tensors of one storage (a .bin's ties) view one at::Tensor storage.
  // (An empty safetensors tensor may start where the next one does: the key
  // holds the length and dtype too.)
  std::map<std::tuple<const uint8_t*, uint64_t, DType>, at::Tensor> storages;
  for (const auto& [name, r] : raw_.tensors()) {
    const auto key = std::make_tuple(r.storage, r.storage_nbytes, r.dtype);
    auto it = storages.find(key);
    if (it == storages.end()) it = storages.emplace(key, storage_of(r)).first;
    tensors_.emplace(name, it->second.as_strided(r.shape, r.strides, r.offset));
  }
}

Checkpoint Checkpoint::load(const std::string& dir) {
  return Checkpoint(RawCheckpoint::load(dir));
}

Checkpoint Checkpoint::load(const WeightFiles& files) {
  return Checkpoint(RawCheckpoint::load(files));
}

Checkpoint Checkpoint::load_file(const std::string& path) {
  return Checkpoint(RawCheckpoint::load_file(path));
}

const at::Tensor& Checkpoint::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error("checkpoint has no tensor \"" + name + "\"");
  return it->second;
}

}  // namespace hfjit
