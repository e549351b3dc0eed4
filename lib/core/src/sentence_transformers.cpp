// sentence-transformers' modules after the encoder (hfjit/sentence_transformers.h): read
// as sentence-transformers 6.2 loads them, and run as its forward passes do.

#include "hfjit/sentence_transformers.h"

#include <ATen/ATen.h>

#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "hfjit/checkpoint.h"
#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/io/safetensors.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace hfjit::st {
namespace {

// A module_input_name / module_output_name that names the sentence embedding (null: the default).
bool is_sentence_embedding(const json& name, bool null_ok) {
  return (null_ok && name.is_null()) ||
         (name.is_string() && name.get<std::string>() == "sentence_embedding");
}

// ------------------------------------------------------------ JSON helpers

// A JSON file of the model; nullopt when absent.
std::optional<json> optional_json(const ModelFiles& files, const std::string& name) {
  const std::optional<std::string> text = files.read(name);
  if (!text) return std::nullopt;
  try {
    return json::parse(*text);
  } catch (const json::exception&) {
    throw Error(files.where(name) + " is not valid JSON");
  }
}

// A JSON object the model must have.
json required_object(const ModelFiles& files, const std::string& name) {
  const std::optional<json> j = optional_json(files, name);
  if (!j) throw Error(files.where(name) + " is missing");
  if (!j->is_object()) throw Error(files.where(name) + " is not a JSON object");
  return *j;
}

// A true/false key; absent: `fallback`; null is false (as Python reads None).
bool flag(const json& j, const char* key, bool fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  if (j[key].is_null()) return false;
  if (!j[key].is_boolean()) throw Error(where + ": \"" + key + "\" should be true or false");
  return j[key].get<bool>();
}

int64_t positive_int(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 1 ||
      j[key].get<int64_t>() > (int64_t{1} << 24))
    throw Error(where + ": \"" + key + "\" should be a positive integer");
  return j[key].get<int64_t>();
}

std::string shape_string(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// ----------------------------------------------------------------- Pooling

// sentence-transformers' names, in its POOLING_MODES order.
const std::pair<const char*, PoolingMode> kModes[] = {
    {"cls", PoolingMode::Cls},
    {"max", PoolingMode::Max},
    {"mean", PoolingMode::Mean},
    {"mean_sqrt_len_tokens", PoolingMode::MeanSqrtLen},
    {"weightedmean", PoolingMode::WeightedMean},
    {"lasttoken", PoolingMode::LastToken}};

// The old boolean keys, in the order their modes are concatenated.
const std::pair<const char*, PoolingMode> kLegacyKeys[] = {
    {"pooling_mode_cls_token", PoolingMode::Cls},
    {"pooling_mode_max_tokens", PoolingMode::Max},
    {"pooling_mode_mean_tokens", PoolingMode::Mean},
    {"pooling_mode_mean_sqrt_len_tokens", PoolingMode::MeanSqrtLen},
    {"pooling_mode_weightedmean_tokens", PoolingMode::WeightedMean},
    {"pooling_mode_lasttoken", PoolingMode::LastToken}};

std::string known_modes() {
  std::string s;
  for (const auto& [name, mode] : kModes) s += (s.empty() ? "" : ", ") + std::string(name);
  return s;
}

// "pooling_mode": one name or a list of them (Pooling.__init__).
std::vector<PoolingMode> parse_modes(const json& value, const std::string& where) {
  std::vector<json> names;
  if (value.is_string())
    names.push_back(value);
  else if (value.is_array())
    names.assign(value.begin(), value.end());
  else
    throw Error(where + ": \"pooling_mode\" should be a mode name or a list of them (" +
                known_modes() + ")");
  std::vector<PoolingMode> modes;
  for (const json& n : names) {
    const std::string name = n.is_string() ? n.get<std::string>() : n.dump();
    auto it = std::find_if(std::begin(kModes), std::end(kModes),
                           [&](const auto& m) { return n.is_string() && name == m.first; });
    if (it == std::end(kModes))
      throw Error(where + ": unknown pooling mode \"" + name + "\" (known: " + known_modes() + ")");
    modes.push_back(it->second);
  }
  if (modes.empty()) throw Error(where + ": \"pooling_mode\" selects no pooling mode");
  return modes;
}

// The prompt sentence-transformers puts before every input when encode() gets
// none: config_sentence_transformers.json's prompts[default_prompt_name], as
// SentenceTransformer._parse_model_config and _validate_prompts read them (the
// prompts "query" and "document" are there, empty, unless the file sets them; a
// null prompt is empty); "" when none.
std::string read_default_prompt(const ModelFiles& files) {
  const std::string name = "config_sentence_transformers.json";
  const std::optional<json> c = optional_json(files, name);
  if (!c) return "";
  const std::string where = files.where(name);
  if (!c->is_object()) throw Error(where + " is not a JSON object");
  const json prompts = c->value("prompts", json::object());
  if (!prompts.is_null() && !prompts.is_object())
    throw Error(where + ": \"prompts\" should be an object of prompt names and texts");
  std::map<std::string, std::string> known = {{"query", ""}, {"document", ""}};
  if (prompts.is_object())
    for (const auto& [key, text] : prompts.items()) {
      if (!text.is_null() && !text.is_string())
        throw Error(where + ": prompt \"" + key + "\" should be a string");
      known[key] = text.is_string() ? text.get<std::string>() : "";
    }
  const json prompt_name = c->value("default_prompt_name", json());
  if (prompt_name.is_null()) return "";
  if (!prompt_name.is_string())
    throw Error(where + ": \"default_prompt_name\" should be a prompt name or null");
  const auto it = known.find(prompt_name.get<std::string>());
  if (it == known.end()) {
    std::string keys;
    for (const auto& [key, text] : known) keys += (keys.empty() ? "" : ", ") + key;
    throw Error(where + ": \"default_prompt_name\" \"" + prompt_name.get<std::string>() +
                "\" is not in \"prompts\" (" + keys + ")");
  }
  return it->second;
}

// <path>/config.json as Pooling.load_config + Pooling.__init__ read it: the old
// word_embedding_dimension and boolean keys turned into the new ones (an explicit
// "pooling_mode" wins over them; none true means mean), nothing else accepted.
Pooling read_pooling(const ModelFiles& files, const std::string& path) {
  const std::string name = path + "/config.json";
  const std::string where = files.where(name);
  const json c = required_object(files, name);
  std::vector<PoolingMode> legacy;
  for (const auto& [key, mode] : kLegacyKeys)
    if (flag(c, key, false, where)) legacy.push_back(mode);
  Pooling pool;  // mean
  if (c.contains("pooling_mode"))
    pool.modes = parse_modes(c["pooling_mode"], where);
  else if (!legacy.empty())
    pool.modes = legacy;
  for (const auto& [key, value] : c.items()) {
    const bool known = key == "embedding_dimension" || key == "word_embedding_dimension" ||
                       key == "pooling_mode" || key == "include_prompt" ||
                       std::any_of(std::begin(kLegacyKeys), std::end(kLegacyKeys),
                                   [&](const auto& k) { return key == k.first; });
    if (!known)
      throw Error(where + ": unknown key \"" + key +
                  "\" (sentence-transformers' Pooling takes embedding_dimension, pooling_mode, "
                  "include_prompt)");
  }
  const bool renamed = !c.contains("embedding_dimension") && c.contains("word_embedding_dimension");
  positive_int(c, renamed ? "word_embedding_dimension" : "embedding_dimension", where);
  if (!flag(c, "include_prompt", true, where)) {
    // Only a prompt changes what include_prompt false pools.
    const std::string prompt = read_default_prompt(files);
    if (!prompt.empty())
      throw Error(where + ": \"include_prompt\": false leaves the default prompt (\"" + prompt +
                  "\", config_sentence_transformers.json) out of pooling; hfjit run pools "
                  "the prompt's tokens too");
  }
  return pool;
}

// ------------------------------------------------------------------- Dense

struct ActivationEntry {
  const char* name;
  const char* file;  // torch/nn/modules/<file>.py
  Activation fn;
};

// torch.nn's activations with their default arguments, as Dense.load builds them.
const ActivationEntry kActivations[] = {
    {"Identity", "linear", +[](const at::Tensor& x) { return x; }},
    {"Tanh", "activation", +[](const at::Tensor& x) { return at::tanh(x); }},
    {"ReLU", "activation", +[](const at::Tensor& x) { return at::relu(x); }},
    {"GELU", "activation", +[](const at::Tensor& x) { return at::gelu(x); }},
    {"Sigmoid", "activation", +[](const at::Tensor& x) { return at::sigmoid(x); }},
    {"SiLU", "activation", +[](const at::Tensor& x) { return at::silu(x); }},
    {"LeakyReLU", "activation", +[](const at::Tensor& x) { return at::leaky_relu(x, 0.01); }},
    {"ELU", "activation", +[](const at::Tensor& x) { return at::elu(x, 1.0); }},
    {"SELU", "activation", +[](const at::Tensor& x) { return at::selu(x); }},
    {"CELU", "activation", +[](const at::Tensor& x) { return at::celu(x, 1.0); }},
    {"Softplus", "activation", +[](const at::Tensor& x) { return at::softplus(x, 1, 20); }},
    {"Mish", "activation", +[](const at::Tensor& x) { return at::mish(x); }},
    {"Hardtanh", "activation", +[](const at::Tensor& x) { return at::hardtanh(x, -1, 1); }},
    {"ReLU6", "activation", +[](const at::Tensor& x) { return at::hardtanh(x, 0, 6); }},
    {"Hardswish", "activation", +[](const at::Tensor& x) { return at::hardswish(x); }},
    {"Hardsigmoid", "activation", +[](const at::Tensor& x) { return at::hardsigmoid(x); }},
    {"Softsign", "activation", +[](const at::Tensor& x) { return x / (x.abs() + 1); }},
    {"LogSigmoid", "activation", +[](const at::Tensor& x) { return at::log_sigmoid(x); }},
    {"Tanhshrink", "activation", +[](const at::Tensor& x) { return x - at::tanh(x); }},
};

// The tensors Dense holds, for messages.
const char kDenseTensors[] =
    "a Dense module has linear.weight, linear.bias when bias is true, and residual.weight "
    "when use_residual is true and in_features != out_features";

// The weights of Dense `d` (strict, as load_state_dict: nothing missing, nothing more);
// `config` names its config.json beside them.
void take_weights(Dense& d, bool bias, const Weights& w, const std::string& config) {
  const std::vector<int64_t> matrix = {d.out_features, d.in_features};
  const std::string sizes = "in_features " + std::to_string(d.in_features) + ", out_features " +
                            std::to_string(d.out_features);
  auto take = [&](const std::string& key, const std::vector<int64_t>& shape) {
    auto it = w.tensors.find(key);
    if (it == w.tensors.end()) throw Error(w.file + ": tensor " + key + " is missing");
    if (it->second.sizes() != at::IntArrayRef(shape))
      throw Error(w.file + ": " + key + " is " + shape_string(it->second.sizes()) + ", but " +
                  config + " says " + sizes + " (" + shape_string(shape) + ")");
    return it->second;
  };
  d.weight = take("linear.weight", matrix);
  if (bias) d.bias = take("linear.bias", {d.out_features});
  if (d.use_residual && d.in_features != d.out_features)
    d.residual = take("residual.weight", matrix);
  for (const auto& [key, t] : w.tensors)
    if (!(key == "linear.weight" || (key == "linear.bias" && bias) ||
          (key == "residual.weight" && d.residual.defined())))
      throw Error(w.file + ": unexpected tensor " + key + " (" + kDenseTensors + "; " + config +
                  " says bias " + (bias ? "true" : "false") + ", use_residual " +
                  (d.use_residual ? "true" : "false") + ", " + sizes + ")");
}

// <path>/config.json and the weights beside it, as Dense.load reads them.
Dense read_dense(const ModelFiles& files, const std::string& path) {
  const std::string name = path + "/config.json";
  const json c = required_object(files, name);
  Dense d;
  d.config = files.where(name);
  d.in_features = positive_int(c, "in_features", d.config);
  d.out_features = positive_int(c, "out_features", d.config);
  const bool bias = flag(c, "bias", true, d.config);
  d.use_residual = flag(c, "use_residual", false, d.config);
  if (c.contains("activation_function")) {
    if (!c["activation_function"].is_string())
      throw Error(d.config + ": \"activation_function\" should be the name of a torch.nn class");
    d.activation_function = c["activation_function"].get<std::string>();
  }
  if (!activation(d.activation_function))
    throw Error(d.config + ": \"activation_function\" " + d.activation_function +
                " is not supported (torch.nn: " + activation_names() + ")");
  if (c.contains("module_input_name") && !is_sentence_embedding(c["module_input_name"], false))
    throw Error(d.config + ": \"module_input_name\" " + c["module_input_name"].dump() +
                ": hfjit runs Dense on the sentence embedding only");
  if (c.contains("module_output_name") && !is_sentence_embedding(c["module_output_name"], true))
    throw Error(d.config + ": \"module_output_name\" " + c["module_output_name"].dump() +
                ": hfjit runs Dense on the sentence embedding only");
  const std::optional<Weights> w = files.weights(path);
  if (!w)
    throw Error(files.where(path + "/model.safetensors") +
                " is missing: the Dense module's weights (model.safetensors or "
                "pytorch_model.bin) are not there");
  take_weights(d, bias, *w, name);
  return d;
}

// ------------------------------------------------------------- the modules

// Normalize's optional config.json: it normalizes the sentence embedding, nothing else.
void check_normalize(const ModelFiles& files, const std::string& path) {
  if (path.empty()) return;
  const std::string name = path + "/config.json";
  const std::optional<json> c = optional_json(files, name);
  if (!c) return;
  if (!c->is_object()) throw Error(files.where(name) + " is not a JSON object");
  for (const char* key : {"module_input_name", "module_output_name"})
    if (c->contains(key) &&
        !is_sentence_embedding((*c)[key], std::string(key) == "module_output_name"))
      throw Error(files.where(name) + ": \"" + key + "\" " + (*c)[key].dump() +
                  ": hfjit normalizes the sentence embedding only");
}

// The class a modules.json "type" names, when it is one hfjit runs; "" otherwise.
std::string module_kind(const std::string& type) {
  if (type.rfind("sentence_transformers.", 0) != 0) return "";
  const std::string cls = type.substr(type.rfind('.') + 1);
  for (const char* k : {"Transformer", "Pooling", "Dense", "Normalize", "Dropout"})
    if (cls == k) return cls;
  return "";
}

// sentence_bert_config.json's do_lower_case (absent or null: false).
bool read_do_lower_case(const ModelFiles& files) {
  const std::string name = "sentence_bert_config.json";
  const std::optional<json> sb = optional_json(files, name);
  if (!sb) return false;
  if (!sb->is_object()) throw Error(files.where(name) + " is not a JSON object");
  return flag(*sb, "do_lower_case", false, files.where(name));
}

// sentence_bert_config.json's max_seq_length, else the tokenizer's model_max_length
// (where sentence-transformers 6 saves it) capped at config.json's
// max_position_embeddings, as Transformer.__init__ sets it; 0 when neither says.
int64_t read_max_seq_length(const ModelFiles& files) {
  const std::string sb_name = "sentence_bert_config.json";
  if (const std::optional<json> sb = optional_json(files, sb_name)) {
    if (!sb->is_object()) throw Error(files.where(sb_name) + " is not a JSON object");
    if (sb->contains("max_seq_length") && !(*sb)["max_seq_length"].is_null()) {
      const json& v = (*sb)["max_seq_length"];
      if (!v.is_number_integer() || v.get<int64_t>() < 0)
        throw Error(files.where(sb_name) + ": \"max_seq_length\" should be a non-negative integer");
      return v.get<int64_t>();
    }
  }
  // The tokenizer's and the model's own files are checked where they are read
  // for themselves; here a value that is not a plain integer means no limit.
  auto integer = [&](const std::string& name, const char* key) -> int64_t {
    try {
      const std::optional<json> j = optional_json(files, name);
      if (j && j->is_object() && j->contains(key) && (*j)[key].is_number_integer())
        return (*j)[key].get<int64_t>();
    } catch (const Error&) {
    }
    return 0;
  };
  int64_t limit = integer("tokenizer_config.json", "model_max_length");
  if (limit <= 0 || limit > (int64_t{1} << 30)) return 0;
  const int64_t positions = integer("config.json", "max_position_embeddings");
  if (positions > 0) limit = std::min(limit, positions);
  return limit;
}

}  // namespace

// ------------------------------------------------------------------- files

std::optional<Weights> ModelFiles::weights(const std::string& module) const {
  const std::string name = module + "/model.safetensors";
  const std::optional<std::string> bytes = read(name);
  if (!bytes) return std::nullopt;
  Weights w;
  w.file = where(name);
  const auto* data = reinterpret_cast<const uint8_t*>(bytes->data());
  const SafetensorsHeader header = parse_safetensors(data, bytes->size(), w.file);
  for (const SafetensorsEntry& e : header.tensors) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(to_scalar_type(e.dtype)));
    if (e.end > e.begin)
      std::memcpy(t.data_ptr(), data + header.data_start + e.begin, e.end - e.begin);
    w.tensors[e.name] = t.to(at::kFloat);
  }
  return w;
}

std::optional<Weights> folder_weights(const std::string& dir, const std::string& module) {
  std::error_code ec;
  for (const char* file : {"model.safetensors", "pytorch_model.bin"}) {
    const fs::path p = fs::path(dir) / module / file;
    if (!fs::is_regular_file(p, ec)) continue;
    const Checkpoint ckpt = Checkpoint::load_file(p.string());
    Weights w;
    w.file = p.string();
    for (const auto& [name, t] : ckpt.tensors())
      w.tensors[name] = t.to(at::kFloat).contiguous().clone();
    return w;
  }
  return std::nullopt;
}

std::optional<std::string> FolderFiles::read(const std::string& name) const {
  const fs::path p = fs::path(dir_) / name;
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  return read_text_file(p.string());
}

std::string FolderFiles::where(const std::string& name) const {
  return (fs::path(dir_) / name).string();
}

std::optional<Weights> FolderFiles::weights(const std::string& module) const {
  return folder_weights(dir_, module);
}

// ------------------------------------------------------------------ compute

// Pooling._forward_padded, mode by mode.
at::Tensor Pooling::forward(const at::Tensor& tokens, const at::Tensor& mask) const {
  const int64_t length = tokens.size(1), hidden = tokens.size(2);
  const at::ScalarType dtype = tokens.scalar_type();
  std::vector<at::Tensor> out;
  at::Tensor mean_sum, mean_count;
  // The token at `index` [batch] of each row: [batch, hidden].
  auto gather = [&](const at::Tensor& from, const at::Tensor& index) {
    return at::gather(from, 1, index.unsqueeze(-1).unsqueeze(1).expand({-1, 1, hidden})).squeeze(1);
  };
  for (PoolingMode mode : modes) {
    switch (mode) {
      case PoolingMode::Cls:  // the first token the mask keeps
        out.push_back(gather(tokens, mask.to(at::kInt).argmax(1)));
        break;
      case PoolingMode::Max: {
        const at::Tensor m = mask.unsqueeze(-1).expand_as(tokens).to(dtype);
        out.push_back(tokens.masked_fill(m == 0, -std::numeric_limits<float>::infinity()).amax(1));
        break;
      }
      case PoolingMode::Mean:
      case PoolingMode::MeanSqrtLen:
        if (!mean_sum.defined()) {
          const at::Tensor m = mask.unsqueeze(-1).to(dtype);
          mean_sum = (tokens * m).sum(1);
          mean_count = m.sum(1).clamp_min(1e-9);
        }
        out.push_back(mode == PoolingMode::Mean ? mean_sum / mean_count
                                                : mean_sum / at::sqrt(mean_count));
        break;
      case PoolingMode::WeightedMean: {  // weights 1, 2, ... from the first token kept
        const at::Tensor m = mask.unsqueeze(-1).to(dtype);
        const at::Tensor first = mask.to(at::kInt).argmax(1);
        const at::Tensor weights =
            at::arange(1, length + 1, at::TensorOptions().dtype(dtype)).view({1, -1, 1}) -
            first.view({-1, 1, 1});
        const at::Tensor weighted = m * weights;
        out.push_back((tokens * weighted).sum(1) / weighted.sum(1).clamp_min(1e-9));
        break;
      }
      case PoolingMode::LastToken: {  // the last token the mask keeps
        const auto [kept, from_end] = mask.flip(1).max(1);
        const at::Tensor index = length - from_end.masked_fill(kept == 0, length - 1) - 1;
        out.push_back(gather(tokens * mask.unsqueeze(-1).expand_as(tokens).to(dtype), index));
        break;
      }
    }
  }
  return at::cat(out, -1);
}

Activation activation(const std::string& name) {
  for (const ActivationEntry& a : kActivations)
    for (const std::string& prefix : {std::string("torch.nn."), std::string("torch.nn.modules."),
                                      "torch.nn.modules." + std::string(a.file) + "."})
      if (name == prefix + a.name) return a.fn;
  return nullptr;
}

std::string activation_names() {
  std::string s;
  for (const ActivationEntry& a : kActivations) s += (s.empty() ? "" : ", ") + std::string(a.name);
  return s;
}

// Dense.forward.
at::Tensor Dense::forward(const at::Tensor& x) const {
  at::Tensor out = activation(activation_function)(at::linear(x, weight, bias));
  if (use_residual) out = out + (residual.defined() ? at::linear(x, residual) : x);
  return out;
}

std::string Dense::safetensors() const {
  std::vector<at::Tensor> keep;  // float32 copies the bytes point into
  keep.reserve(3);
  std::vector<TensorBytes> tensors;
  for (const auto& [name, t] : {std::pair<const char*, const at::Tensor*>{"linear.weight", &weight},
                                {"linear.bias", &bias},
                                {"residual.weight", &residual}}) {
    if (!t->defined()) continue;
    keep.push_back(t->to(at::kFloat).contiguous());
    const at::Tensor& c = keep.back();
    tensors.push_back({name, DType::F32, c.sizes().vec(), c.data_ptr(),
                       static_cast<uint64_t>(c.numel()) * sizeof(float)});
  }
  return safetensors_bytes(tensors);
}

void Modules::check_dimensions(int64_t hidden) const {
  int64_t size = static_cast<int64_t>(pooling.modes.size()) * hidden;
  std::string from =
      "the pooling (" + std::to_string(pooling.modes.size()) + " x " + std::to_string(hidden) + ")";
  for (const Step& s : steps) {
    if (s.kind != Step::Kind::Dense) continue;
    if (s.dense.in_features != size)
      throw Error(s.dense.config + ": \"in_features\" is " + std::to_string(s.dense.in_features) +
                  ", but " + from + " gives " + std::to_string(size) + " values");
    size = s.dense.out_features;
    from = s.path + " before it";
  }
}

at::Tensor Modules::forward(const at::Tensor& tokens, const at::Tensor& mask) const {
  check_dimensions(tokens.size(2));
  at::Tensor x = pooling.forward(tokens, mask);
  for (const Step& s : steps) {
    if (s.kind == Step::Kind::Dense)
      x = s.dense.forward(x);
    else  // torch.nn.functional.normalize(x, p=2, dim=-1)
      x = x / x.norm(2, -1, true).clamp_min(1e-12).expand_as(x);
  }
  return x;
}

std::map<std::string, std::string> Modules::weight_files() const {
  std::map<std::string, std::string> out;
  for (const Step& s : steps)
    if (s.kind == Step::Kind::Dense) out[s.path + "/model.safetensors"] = s.dense.safetensors();
  return out;
}

Modules read_modules(const ModelFiles& files) {
  const std::string where = files.where("modules.json");
  const std::optional<json> list = optional_json(files, "modules.json");
  if (!list) throw Error(where + " is missing");
  if (!list->is_array()) throw Error(where + " should be a list of sentence-transformers modules");
  Modules m;
  bool pooled = false;
  for (const json& e : *list) {
    if (!e.is_object() || !e.contains("type") || !e["type"].is_string() ||
        (e.contains("path") && !e["path"].is_string()))
      throw Error(where + ": each module should be an object with a string \"type\" and \"path\"");
    const std::string type = e["type"].get<std::string>();
    const std::string path = e.value("path", "");
    const std::string kind = module_kind(type);
    if (kind.empty())
      throw Error(where + ": sentence-transformers module " + type +
                  " is not supported (hfjit runs Transformer, Pooling, Dense, Normalize, Dropout)");
    if (path.find("..") != std::string::npos || (!path.empty() && path[0] == '/'))
      throw Error(where + ": module path \"" + path + "\" is not a folder inside the model");
    if ((kind == "Pooling" || kind == "Dense") && path.empty())
      throw Error(where + ": the " + kind + " module has no \"path\" (its folder)");
    if (kind == "Transformer" && !pooled) continue;
    if (kind == "Pooling" && !pooled) {
      m.pooling = read_pooling(files, path);
      pooled = true;
      continue;
    }
    if (!pooled || kind == "Pooling" || kind == "Transformer")
      throw Error(where + ": " + kind + " (" + (path.empty() ? type : path) + ") " +
                  (pooled ? "after Pooling" : "before any Pooling module") +
                  " is not supported (hfjit runs Transformer, Pooling, then Dense, Normalize, "
                  "Dropout)");
    if (kind == "Dense") {
      m.steps.push_back({Step::Kind::Dense, path, read_dense(files, path)});
    } else if (kind == "Normalize") {
      check_normalize(files, path);
      m.steps.push_back({Step::Kind::Normalize, path, {}});
    }  // Dropout: nothing at inference
  }
  const Dense* previous = nullptr;
  for (const Step& s : m.steps) {
    if (s.kind != Step::Kind::Dense) continue;
    if (previous && s.dense.in_features != previous->out_features)
      throw Error(s.dense.config + ": \"in_features\" is " + std::to_string(s.dense.in_features) +
                  ", but the Dense before it gives " + std::to_string(previous->out_features) +
                  " values");
    previous = &s.dense;
  }
  m.max_seq_length = read_max_seq_length(files);
  m.do_lower_case = read_do_lower_case(files);
  m.default_prompt = read_default_prompt(files);
  return m;
}

}  // namespace hfjit::st
