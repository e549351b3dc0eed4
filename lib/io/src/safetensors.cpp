#include "hfjit/io/safetensors.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "hfjit/error.h"

namespace hfjit {
namespace {

using json = nlohmann::json;

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Multiplies with an overflow check.
bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
  *out = a * b;
  return false;
}

}  // namespace

SafetensorsHeader parse_safetensors(const uint8_t* data, size_t size, const std::string& where) {
  if (size < 8)
    throw Error(context(where, "truncated safetensors file (" + std::to_string(size) +
                                   " bytes, the header length alone needs 8)"));
  const uint64_t n = read_u64_le(data);
  if (n > kMaxSafetensorsHeader)
    throw Error(context(where, "safetensors header length " + std::to_string(n) +
                                   " exceeds the limit of " +
                                   std::to_string(kMaxSafetensorsHeader)));
  if (n > size - 8)
    throw Error(context(where, "safetensors header length " + std::to_string(n) +
                                   " is beyond the end of the file (" + std::to_string(size) +
                                   " bytes)"));
  json header;
  try {
    header = json::parse(data + 8, data + 8 + n);
  } catch (const json::exception& e) {
    throw Error(context(where, "safetensors header is not valid JSON (" +
                                   std::string(e.what()).substr(0, 120) + ")"));
  }
  if (!header.is_object()) throw Error(context(where, "safetensors header is not a JSON object"));

  SafetensorsHeader out;
  out.data_start = 8 + n;
  const uint64_t data_size = size - out.data_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error(context(where, "__metadata__ is not an object"));
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          throw Error(context(where, "__metadata__ value for \"" + m.key() + "\" is not a string"));
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string tw = where + ": tensor \"" + name + "\"";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets"))
      throw Error(tw + ": entry needs dtype, shape and data_offsets");
    const json& jd = v["dtype"];
    const json& js = v["shape"];
    const json& jo = v["data_offsets"];
    if (!jd.is_string()) throw Error(tw + ": dtype is not a string");
    if (!js.is_array()) throw Error(tw + ": shape is not an array");
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() ||
        !jo[1].is_number_unsigned())
      throw Error(tw + ": data_offsets is not a pair of non-negative integers");
    SafetensorsEntry e;
    e.name = name;
    e.dtype = parse_dtype(jd.get<std::string>(), tw);
    uint64_t count = 1;
    for (const json& d : js) {
      if (!d.is_number_unsigned()) throw Error(tw + ": shape has a negative or non-integer size");
      uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          mul_overflows(count, dim, &count))
        throw Error(tw + ": shape is too large");
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    e.begin = jo[0].get<uint64_t>();
    e.end = jo[1].get<uint64_t>();
    if (e.begin > e.end) throw Error(tw + ": data_offsets begin > end");
    if (e.end > data_size)
      throw Error(tw + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                  "] are out of range (data section is " + std::to_string(data_size) + " bytes)");
    uint64_t nbytes = 0;
    if (mul_overflows(count, dtype_size(e.dtype), &nbytes) || nbytes != e.end - e.begin)
      throw Error(tw + ": shape and byte length disagree (" + std::to_string(count) +
                  " elements of " + dtype_name(e.dtype) + " but " +
                  std::to_string(e.end - e.begin) + " bytes)");
    out.tensors.push_back(std::move(e));
  }
  std::sort(out.tensors.begin(), out.tensors.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  for (size_t i = 1; i < out.tensors.size(); ++i) {
    const auto& a = out.tensors[i - 1];
    const auto& b = out.tensors[i];
    if (b.begin < a.end)
      throw Error(context(where, "tensors \"" + a.name + "\" and \"" + b.name +
                                     "\" have overlapping data_offsets"));
  }
  return out;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  f.file_ = MappedFile::open(path);
  f.header_ = parse_safetensors(f.file_->data(), f.file_->size(), path);
  return f;
}

namespace {

struct Layout {
  std::string header;  // padded JSON
  std::vector<size_t> order;
};

Layout layout(const std::vector<TensorBytes>& tensors,
              const std::map<std::string, std::string>& metadata) {
  Layout l;
  l.order.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) l.order[i] = i;
  std::sort(l.order.begin(), l.order.end(),
            [&](size_t a, size_t b) { return tensors[a].name < tensors[b].name; });
  // nlohmann's ordered_json keeps insertion order: metadata first, then sorted names.
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = m;
  }
  uint64_t offset = 0;
  for (size_t i : l.order) {
    const TensorBytes& t = tensors[i];
    uint64_t count = 1;
    for (int64_t d : t.shape) count *= static_cast<uint64_t>(d);
    if (count * dtype_size(t.dtype) != t.nbytes)
      throw Error("tensor \"" + t.name + "\": shape and byte length disagree");
    if (h.contains(t.name)) throw Error("tensor \"" + t.name + "\" is listed twice");
    h[t.name] = {{"dtype", dtype_name(t.dtype)},
                 {"shape", t.shape},
                 {"data_offsets", {offset, offset + t.nbytes}}};
    offset += t.nbytes;
  }
  l.header = h.dump();
  while (l.header.size() % 8 != 0) l.header.push_back(' ');
  return l;
}

}  // namespace

std::string safetensors_header_json(const std::vector<TensorBytes>& tensors,
                                    const std::map<std::string, std::string>& metadata) {
  return layout(tensors, metadata).header;
}

std::string safetensors_bytes(const std::vector<TensorBytes>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  const Layout l = layout(tensors, metadata);
  std::string out;
  const uint64_t n = l.header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += l.header;
  for (size_t i : l.order)
    if (tensors[i].nbytes > 0)
      out.append(static_cast<const char*>(tensors[i].data), static_cast<size_t>(tensors[i].nbytes));
  return out;
}

void write_safetensors(const std::string& path, std::vector<TensorBytes> tensors,
                       const std::map<std::string, std::string>& metadata,
                       const std::function<void(const TensorBytes&)>& on_written) {
  Layout l = layout(tensors, metadata);
  AtomicFile out(path);
  uint8_t len[8];
  uint64_t n = l.header.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  out.write(len, 8);
  out.write(l.header);
  // One descriptor per source file; -1 when it cannot be used (write from memory).
  std::map<const MappedFile*, int> sources;
  struct CloseAll {
    std::map<const MappedFile*, int>& fds;
    ~CloseAll() {
      for (const auto& [file, fd] : fds)
        if (fd >= 0) ::close(fd);
    }
  } close_all{sources};
  for (size_t i : l.order) {
    const TensorBytes& t = tensors[i];
    bool copied = false;
    if (t.source != nullptr && t.nbytes > 0 && t.source_offset + t.nbytes <= t.source->size()) {
      auto it = sources.find(t.source);
      if (it == sources.end()) it = sources.emplace(t.source, t.source->reopen()).first;
      if (it->second >= 0) {
        copied = out.copy_from(it->second, t.source_offset, t.nbytes);
        if (!copied) {  // not between these files: stop trying this source
          ::close(it->second);
          it->second = -1;
        }
      }
    }
    if (!copied) out.write(t.data, t.nbytes);
    if (on_written) on_written(t);
  }
  out.commit();
}

}  // namespace hfjit
