#include "hfjit/io/raw_checkpoint.h"

#include <algorithm>
#include <cstring>

#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/io/pickle.h"
#include "hfjit/io/safetensors.h"
#include "hfjit/io/zip.h"

namespace hfjit {

int64_t RawTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t k = shape.size(); k-- > 1;)
    strides[k - 1] = strides[k] * std::max<int64_t>(shape[k], 1);
  return strides;
}

bool RawTensor::is_contiguous() const {
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (size_t k = shape.size(); k-- > 0;) {
    if (shape[k] != 1 && strides[k] != expected) return false;
    expected *= shape[k];
  }
  return true;
}

bool RawTensor::same_view(const RawTensor& other) const {
  return storage == other.storage && offset == other.offset && shape == other.shape &&
         strides == other.strides && dtype == other.dtype;
}

std::vector<uint8_t> contiguous_bytes(const RawTensor& t) {
  const size_t esize = dtype_size(t.dtype);
  std::vector<uint8_t> out(t.nbytes());
  if (out.empty()) return out;
  if (t.is_contiguous()) {
    std::memcpy(out.data(), t.data(), out.size());
    return out;
  }
  // Walk the index space in row-major order, one element at a time.
  std::vector<int64_t> index(t.shape.size(), 0);
  uint8_t* dst = out.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) {
    int64_t element = t.offset;
    for (size_t k = 0; k < index.size(); ++k) element += index[k] * t.strides[k];
    std::memcpy(dst, t.storage + element * static_cast<int64_t>(esize), esize);
    dst += esize;
    for (size_t k = index.size(); k-- > 0;) {
      if (++index[k] < t.shape[k]) break;
      index[k] = 0;
    }
  }
  return out;
}

bool equal_bytes(const RawTensor& a, const RawTensor& b) {
  if (a.dtype != b.dtype || a.shape != b.shape) return false;
  if (a.same_view(b)) return true;
  if (a.is_contiguous() && b.is_contiguous())
    return std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
  return contiguous_bytes(a) == contiguous_bytes(b);
}

RawCheckpoint RawCheckpoint::load(const std::string& dir) {
  return load(find_weights(dir));
}

RawCheckpoint RawCheckpoint::load(const WeightFiles& files) {
  RawCheckpoint c;
  c.files_ = files;
  for (const auto& f : files.files) {
    if (files.format == WeightFormat::Safetensors)
      c.add_safetensors(f);
    else
      c.add_pytorch_bin(f);
  }
  return c;
}

RawCheckpoint RawCheckpoint::load_file(const std::string& path) {
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

void RawCheckpoint::insert(const std::string& name, RawTensor t, const std::string& file) {
  if (tensors_.count(name))
    throw Error(context(file, "tensor \"" + name + "\" also appears in " + origin_[name]));
  tensors_.emplace(name, std::move(t));
  origin_.emplace(name, file);
}

void RawCheckpoint::add_safetensors(const std::string& path) {
  SafetensorsFile f = SafetensorsFile::open(path);
  mappings_.push_back(f.mapping());
  for (const auto& e : f.header().tensors) {
    RawTensor t;
    t.dtype = e.dtype;
    t.shape = e.shape;
    t.strides = contiguous_strides(e.shape);
    t.storage = f.tensor_data(e);
    t.storage_nbytes = e.end - e.begin;
    t.file = f.mapping();
    t.storage_file_offset = f.header().data_start + e.begin;
    insert(e.name, std::move(t), path);
  }
  for (const auto& [k, v] : f.header().metadata) metadata_[k] = v;
}

void RawCheckpoint::add_pytorch_bin(const std::string& path) {
  auto file = MappedFile::open(path);
  mappings_.push_back(file);
  const uint8_t* d = file->data();
  const size_t n = file->size();
  if (!looks_like_zip(d, n)) {
    // The pre-1.6 format starts with a pickled magic number after PROTO 2.
    if (n >= 2 && d[0] == 0x80 && d[1] == 0x02)
      throw Error(context(path,
                          "legacy (pre-1.6) torch.save format is not supported; re-save it "
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
  std::map<std::string, DType> storage_dtype;  // a storage is read with one dtype
  for (const auto& p : pickled) {
    const std::string where = path + ": tensor \"" + p.name + "\"";
    auto rec = records.find(prefix + "data/" + p.storage_key);
    if (rec == records.end())
      throw Error(where + ": storage record data/" + p.storage_key + " is missing");
    if (rec->second->compressed)
      throw Error(where + ": storage record data/" + p.storage_key + " is compressed");
    if (rec->second->size != p.storage_numel * dtype_size(p.dtype))
      throw Error(where + ": storage record data/" + p.storage_key + " holds " +
                  std::to_string(rec->second->size) + " bytes, expected " +
                  std::to_string(p.storage_numel * dtype_size(p.dtype)));
    auto [it, fresh] = storage_dtype.emplace(p.storage_key, p.dtype);
    if (!fresh && it->second != p.dtype)
      throw Error(where + ": storage " + p.storage_key + " is used with two dtypes");
    RawTensor t;
    t.dtype = p.dtype;
    t.shape = p.shape;
    t.strides = p.stride;
    t.offset = p.offset;
    t.storage = d + rec->second->offset;
    t.storage_nbytes = rec->second->size;
    t.file = file;
    t.storage_file_offset = rec->second->offset;
    insert(p.name, std::move(t), path);
  }
}

const RawTensor& RawCheckpoint::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error("checkpoint has no tensor \"" + name + "\"");
  return it->second;
}

const std::string& RawCheckpoint::file_of(const std::string& name) const {
  static const std::string none;
  auto it = origin_.find(name);
  return it == origin_.end() ? none : it->second;
}

void RawCheckpoint::release(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end() || it->second.file == nullptr) return;
  it->second.file->release(it->second.storage_file_offset, it->second.storage_nbytes);
}

uint64_t RawCheckpoint::total_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, t] : tensors_) total += t.nbytes();
  return total;
}

}  // namespace hfjit
