#include "hfjit/io/artifact_meta.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "hfjit/error.h"

namespace hfjit {
namespace {

constexpr int64_t kMaxShape = int64_t{1} << 20;
constexpr size_t kMaxEntries = 1024;

using json = nlohmann::json;

struct Reader {
  const json& j;
  std::string where;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(where + ": hfjit/meta.json: " + what);
  }

  std::string str(const char* key, const std::string& fallback) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_string()) fail(std::string("\"") + key + "\" must be a string");
    return it->get<std::string>();
  }
  // An integer in [lo, hi].
  std::optional<int64_t> integer(const char* key, int64_t lo, int64_t hi) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer() ||
        (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(hi)) ||
        it->get<int64_t>() < lo || it->get<int64_t>() > hi)
      fail(std::string("\"") + key + "\" must be an integer from " + std::to_string(lo) + " to " +
           std::to_string(hi));
    return it->get<int64_t>();
  }
  bool boolean(const char* key, bool fallback) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(std::string("\"") + key + "\" must be true or false");
    return it->get<bool>();
  }
  const json* array(const char* key) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return nullptr;
    if (!it->is_array()) fail(std::string("\"") + key + "\" must be a list");
    if (it->size() > kMaxEntries)
      fail(std::string("\"") + key + "\" has more than " + std::to_string(kMaxEntries) +
           " entries");
    return &*it;
  }
};

// Each object of a list ("inputs", "outputs"): its "name", and its "dtype"
// and "shape" where present.
std::vector<ArtifactTensor> tensors_of(const Reader& r, const char* key) {
  std::vector<ArtifactTensor> out;
  const json* list = r.array(key);
  if (!list) return out;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& e = (*list)[i];
    const std::string entry = std::string("\"") + key + "\" entry " + std::to_string(i);
    const auto name = e.is_object() ? e.find("name") : e.end();
    if (!e.is_object() || name == e.end() || !name->is_string() || name->get<std::string>().empty())
      r.fail(entry + " needs a \"name\" string");
    ArtifactTensor t;
    t.name = name->get<std::string>();
    t.dtype = Reader{e, r.where}.str("dtype", "");
    if (auto shape = e.find("shape"); shape != e.end() && !shape->is_null()) {
      if (!shape->is_array() || shape->size() > 16)
        r.fail(entry + ": \"shape\" must be a list of at most 16 sizes");
      for (const json& d : *shape) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t{1} << 31))
          r.fail(entry + ": \"shape\" must hold sizes from 0 to 2^31");
        t.shape.push_back(d.get<int64_t>());
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

// "methods" and "generation"."prefill": a list of {"name", "length"}.
std::vector<ArtifactMethod> methods_of(const Reader& r, const char* key, const std::string& label) {
  std::vector<ArtifactMethod> out;
  const json* list = r.array(key);
  if (!list) return out;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& e = (*list)[i];
    const std::string entry = label + " entry " + std::to_string(i);
    if (!e.is_object()) r.fail(entry + " must be an object");
    const Reader er{e, r.where};
    ArtifactMethod method;
    method.name = er.str("name", "");
    if (method.name.empty()) r.fail(entry + " needs a \"name\" string");
    std::optional<int64_t> len;
    try {
      len = er.integer("length", 1, kMaxShape);
    } catch (const Error&) {
      // named with its entry below
    }
    if (!len) r.fail(entry + " needs a \"length\" from 1 to " + std::to_string(kMaxShape));
    method.length = *len;
    out.push_back(std::move(method));
  }
  return out;
}

// "generation": checked whole, since `run` indexes the cache by it.
ArtifactGeneration generation_of(const Reader& r) {
  const json& g = r.j["generation"];
  if (!g.is_object()) r.fail("\"generation\" must be an object");
  const Reader gr{g, r.where};
  ArtifactGeneration out;
  out.max_length = gr.integer("max_length", 1, kMaxShape).value_or(0);
  if (out.max_length == 0) r.fail("\"generation\" needs a \"max_length\"");
  out.prefill = methods_of(gr, "prefill", "\"generation\".\"prefill\"");
  if (out.prefill.empty()) r.fail("\"generation\" needs \"prefill\" methods");
  for (const ArtifactMethod& m : out.prefill)
    if (m.length >= out.max_length)
      r.fail("\"generation\": prefill " + m.name + " is not shorter than max_length");
  out.decode = gr.str("decode", "");
  if (out.decode.empty()) r.fail("\"generation\" needs a \"decode\" method name");
  const json* cache = g.contains("cache") && g["cache"].is_object() ? &g["cache"] : nullptr;
  if (!cache) r.fail("\"generation\" needs a \"cache\" object");
  const Reader cr{*cache, r.where};
  out.cache_dtype = cr.str("dtype", "");
  const json* shape = cr.array("shape");
  if (!shape || shape->size() != 6) r.fail("\"generation\".\"cache\" needs a \"shape\" of 6 sizes");
  for (const json& d : *shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > kMaxShape)
      r.fail("\"generation\".\"cache\".\"shape\" must hold sizes from 1 to " +
             std::to_string(kMaxShape));
    out.cache_shape.push_back(d.get<int64_t>());
  }
  if (out.cache_shape[1] != 2 || out.cache_shape[4] != out.max_length)
    r.fail(
        "\"generation\".\"cache\".\"shape\" is not [layers, 2, batch, kv_heads, "
        "max_length, head_dim]");
  return out;
}

// "seq2seq": checked whole, since `run` sizes the caches by it.
ArtifactSeq2Seq seq2seq_of(const Reader& r) {
  const json& g = r.j["seq2seq"];
  if (!g.is_object()) r.fail("\"seq2seq\" must be an object");
  const Reader sr{g, r.where};
  ArtifactSeq2Seq out;
  out.encode = sr.str("encode", "");
  out.decode = sr.str("decode", "");
  if (out.encode.empty() || out.decode.empty())
    r.fail("\"seq2seq\" needs \"encode\" and \"decode\" method names");
  auto size = [&](const Reader& from, const char* key, const char* label) {
    const int64_t v = from.integer(key, 1, kMaxShape).value_or(0);
    if (v == 0) r.fail(std::string("\"seq2seq\" needs ") + label);
    return v;
  };
  out.max_length = size(sr, "max_length", "a \"max_length\"");
  out.target_length = size(sr, "target_length", "a \"target_length\"");
  if (out.target_length < 2)
    r.fail("\"seq2seq\".\"target_length\" must be at least 2 (the start token and one more)");
  const json* cache = g.contains("cache") && g["cache"].is_object() ? &g["cache"] : nullptr;
  if (!cache) r.fail("\"seq2seq\" needs a \"cache\" object");
  const Reader cr{*cache, r.where};
  out.layers = size(cr, "layers", "\"cache\".\"layers\"");
  out.heads = size(cr, "heads", "\"cache\".\"heads\"");
  out.head_dim = size(cr, "head_dim", "\"cache\".\"head_dim\"");
  out.cache_dtype = cr.str("dtype", "float32");
  if (out.cache_dtype != "float32" && out.cache_dtype != "bfloat16")
    r.fail("\"seq2seq\".\"cache\".\"dtype\" must be float32 or bfloat16");
  return out;
}

std::vector<std::string> names_of(const std::vector<ArtifactTensor>& tensors) {
  std::vector<std::string> out;
  for (const ArtifactTensor& t : tensors) out.push_back(t.name);
  return out;
}

}  // namespace

PrefillPlan plan_prefill(const ArtifactGeneration& g, int64_t longest) {
  PrefillPlan plan;
  for (const ArtifactMethod& m : g.prefill)
    if (m.length >= longest && (!plan.method || m.length < plan.method->length)) plan.method = &m;
  if (!plan.method)  // chunks of the longest
    for (const ArtifactMethod& m : g.prefill)
      if (!plan.method || m.length > plan.method->length) plan.method = &m;
  if (!plan.method) return plan;
  const int64_t p = plan.method->length;
  plan.slots = (std::max<int64_t>(longest, 1) + p - 1) / p * p;
  return plan;
}

ArtifactMeta parse_artifact_meta(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception&) {
    throw Error(where + ": hfjit/meta.json is not valid JSON");
  }
  ArtifactMeta m;
  if (!j.is_object()) throw Error(where + ": hfjit/meta.json is not a JSON object");
  const Reader r{j, where};
  m.hfjit = r.str("format", "") == "hfjit";
  if (!m.hfjit) return m;
  m.task = r.str("task", "");
  m.hf_class = r.str("hf_class", "");
  m.model_type = r.str("model_type", "");
  m.batch_size = r.integer("batch_size", 1, kMaxShape).value_or(1);
  m.max_length = r.integer("max_length", 0, kMaxShape).value_or(0);
  m.methods = methods_of(r, "methods", "\"methods\"");
  m.inputs = tensors_of(r, "inputs");
  m.outputs = tensors_of(r, "outputs");
  m.input_names = names_of(m.inputs);
  m.output_names = names_of(m.outputs);
  m.dynamic = r.boolean("dynamic", false);
  m.pad_token_id = r.integer("pad_token_id", -(int64_t{1} << 31), (int64_t{1} << 31) - 1);
  m.vocab_size = r.integer("vocab_size", 0, (int64_t{1} << 31) - 1).value_or(0);
  m.dtype = r.str("dtype", "float32");
  m.quantization = r.str("quantization", "none");
  m.int8_weight_bits = r.integer("int8_weight_bits", 7, 8).value_or(0);
  if (j.contains("generation") && !j["generation"].is_null()) {
    m.generation = generation_of(r);
    if (m.generation->cache_shape[2] != m.batch_size)
      r.fail("\"generation\".\"cache\".\"shape\" has batch " +
             std::to_string(m.generation->cache_shape[2]) + ", not batch_size " +
             std::to_string(m.batch_size));
  }
  if (j.contains("seq2seq") && !j["seq2seq"].is_null()) {
    if (m.generation) r.fail("has both \"generation\" and \"seq2seq\"");
    m.seq2seq = seq2seq_of(r);
  }
  return m;
}

}  // namespace hfjit
