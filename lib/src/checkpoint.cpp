#include "hfjit/checkpoint.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>

#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/io/pickle.h"
#include "hfjit/io/safetensors.h"
#include "hfjit/io/zip.h"

namespace hfjit {

at::ScalarType to_scalar_type(DType t) {
  switch (t) {
    case DType::F64: return at::kDouble;
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::I64: return at::kLong;
    case DType::I32: return at::kInt;
    case DType::I16: return at::kShort;
    case DType::I8: return at::kChar;
    case DType::U8: return at::kByte;
    case DType::BOOL: return at::kBool;
  }
  return at::kFloat;
}

DType from_scalar_type(at::ScalarType t, const std::string& where) {
  switch (t) {
    case at::kDouble: return DType::F64;
    case at::kFloat: return DType::F32;
    case at::kHalf: return DType::F16;
    case at::kBFloat16: return DType::BF16;
    case at::kLong: return DType::I64;
    case at::kInt: return DType::I32;
    case at::kShort: return DType::I16;
    case at::kChar: return DType::I8;
    case at::kByte: return DType::U8;
    case at::kBool: return DType::BOOL;
    default:
      throw Error(context(where, std::string("dtype ") + c10::toString(t) +
                                     " cannot be stored in safetensors"));
  }
}

namespace {

// A tensor viewing `bytes` of a mapping; the tensor keeps the mapping alive.
// Misaligned data (possible in hand-made safetensors) is copied instead.
at::Tensor view_of(const std::shared_ptr<MappedFile>& file, const uint8_t* bytes,
                   at::IntArrayRef shape, at::ScalarType type) {
  auto options = at::TensorOptions().dtype(type);
  void* p = const_cast<uint8_t*>(bytes);
  at::Tensor t = at::from_blob(p, shape, [file](void*) {}, options);
  if (reinterpret_cast<uintptr_t>(bytes) % at::elementSize(type) != 0) return t.clone();
  return t;
}

}  // namespace

Checkpoint Checkpoint::load(const std::string& dir) { return load(find_weights(dir)); }

Checkpoint Checkpoint::load(const WeightFiles& files) {
  Checkpoint c;
  c.files_ = files;
  for (const auto& f : files.files) {
    if (files.format == WeightFormat::Safetensors)
      c.add_safetensors(f);
    else
      c.add_pytorch_bin(f);
  }
  return c;
}

Checkpoint Checkpoint::load_file(const std::string& path) {
  WeightFiles w;
  w.files = {path};
  auto file = MappedFile::open(path);
  w.format = looks_like_zip(file->data(), file->size()) ? WeightFormat::PytorchBin
                                                         : WeightFormat::Safetensors;
  if (w.format == WeightFormat::Safetensors && path.size() >= 4 &&
      path.compare(path.size() - 4, 4, ".bin") == 0)
    w.format = WeightFormat::PytorchBin;  // let the .bin reader explain what is wrong
  return load(w);
}

void Checkpoint::insert(const std::string& name, at::Tensor t, const std::string& file) {
  if (tensors_.count(name))
    throw Error(context(file, "tensor \"" + name + "\" also appears in " + origin_[name]));
  tensors_.emplace(name, std::move(t));
  origin_.emplace(name, file);
}

void Checkpoint::add_safetensors(const std::string& path) {
  SafetensorsFile f = SafetensorsFile::open(path);
  mappings_.push_back(f.mapping());
  for (const auto& e : f.header().tensors)
    insert(e.name, view_of(f.mapping(), f.tensor_data(e), e.shape, to_scalar_type(e.dtype)), path);
  for (const auto& [k, v] : f.header().metadata) metadata_[k] = v;
}

void Checkpoint::add_pytorch_bin(const std::string& path) {
  auto file = MappedFile::open(path);
  mappings_.push_back(file);
  const uint8_t* d = file->data();
  const size_t n = file->size();
  if (!looks_like_zip(d, n)) {
    // The pre-1.6 format starts with a pickled magic number after PROTO 2.
    if (n >= 2 && d[0] == 0x80 && d[1] == 0x02)
      throw Error(context(path, "legacy (pre-1.6) torch.save format is not supported; re-save it "
                                "with a current torch.save or convert it to safetensors"));
    throw Error(context(path, "not a PyTorch checkpoint (not a torch.save zip archive)"));
  }
  std::vector<ZipEntry> entries = read_zip_directory(d, n, path);
  const ZipEntry* pkl = nullptr;
  for (const auto& e : entries) {
    auto slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      pkl = &e;
      break;
    }
  }
  if (!pkl) throw Error(context(path, "torch.save archive has no data.pkl"));
  if (pkl->compressed) throw Error(context(path, "data.pkl is compressed"));
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - std::strlen("data.pkl"));
  std::map<std::string, const ZipEntry*> records;
  for (const auto& e : entries) records[e.name] = &e;

  std::vector<PickledTensor> pickled = unpickle_state_dict(d + pkl->offset, pkl->size, path);
  std::map<std::string, at::Tensor> storages;  // key -> 1-D tensor over the record
  for (const auto& p : pickled) {
    const std::string where = path + ": tensor \"" + p.name + "\"";
    auto it = storages.find(p.storage_key);
    if (it == storages.end()) {
      auto rec = records.find(prefix + "data/" + p.storage_key);
      if (rec == records.end())
        throw Error(where + ": storage record data/" + p.storage_key + " is missing");
      if (rec->second->compressed)
        throw Error(where + ": storage record data/" + p.storage_key + " is compressed");
      if (rec->second->size != p.storage_numel * dtype_size(p.dtype))
        throw Error(where + ": storage record data/" + p.storage_key + " holds " +
                    std::to_string(rec->second->size) + " bytes, expected " +
                    std::to_string(p.storage_numel * dtype_size(p.dtype)));
      at::Tensor storage = view_of(file, d + rec->second->offset,
                                   {static_cast<int64_t>(p.storage_numel)}, to_scalar_type(p.dtype));
      it = storages.emplace(p.storage_key, storage).first;
    } else if (it->second.scalar_type() != to_scalar_type(p.dtype)) {
      throw Error(where + ": storage " + p.storage_key + " is used with two dtypes");
    }
    insert(p.name, it->second.as_strided(p.shape, p.stride, p.offset), path);
  }
}

const at::Tensor& Checkpoint::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error("checkpoint has no tensor \"" + name + "\"");
  return it->second;
}

const std::string& Checkpoint::file_of(const std::string& name) const {
  static const std::string none;
  auto it = origin_.find(name);
  return it == origin_.end() ? none : it->second;
}

void Checkpoint::release(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end() || !it->second.defined()) return;
  const at::Tensor& t = it->second;
  const auto* p = static_cast<const uint8_t*>(t.storage().data());
  const size_t n = t.storage().nbytes();
  for (const auto& m : mappings_)
    if (p >= m->data() && p + n <= m->data() + m->size()) return m->release(p - m->data(), n);
}

uint64_t Checkpoint::total_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, t] : tensors_) total += t.numel() * t.element_size();
  return total;
}

}  // namespace hfjit
