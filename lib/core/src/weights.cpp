#include "hfjit/weights.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace hfjit {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

// transformers' _fix_key: old TensorFlow-style LayerNorm names.
std::string fix_key(const std::string& key) {
  if (key.find("beta") != std::string::npos) return replace_all(key, "beta", "bias");
  if (key.find("gamma") != std::string::npos) return replace_all(key, "gamma", "weight");
  return key;
}

std::string shape_str(at::IntArrayRef shape) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ']';
  return s.str();
}

// The checkpoint as a whole, for messages: its index, its one file, or its folder.
std::string checkpoint_name(const Checkpoint& ckpt) {
  const WeightFiles& f = ckpt.files();
  if (!f.index.empty()) return f.index;
  if (f.files.size() == 1) return f.files[0];
  if (!f.files.empty()) return std::filesystem::path(f.files[0]).parent_path().string();
  return "checkpoint";
}

std::string list(const std::vector<std::string>& names, const char* what) {
  constexpr size_t kShown = 20;
  std::string s = std::to_string(names.size()) + " " + what + (names.size() == 1 ? "" : "s") + ": ";
  for (size_t i = 0; i < names.size() && i < kShown; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > kShown) s += ", ... (" + std::to_string(names.size() - kShown) + " more)";
  return s;
}

}  // namespace

struct WeightLoader::State {
  const Checkpoint* ckpt = nullptr;
  LoadOptions options;
  std::map<std::string, std::string> keys;  // fixed name -> checkpoint key
  std::set<std::string> consumed;           // checkpoint keys
  std::set<std::string> skipped;            // checkpoint keys
  std::vector<std::string> missing;
  std::vector<std::pair<std::string, std::string>> tied;
  std::string base_scope;  // the base model's checkpoint scope when it is a prefix
  size_t loaded = 0;
};

WeightLoader::WeightLoader(const Checkpoint& ckpt, LoadOptions options)
    : state_(std::make_shared<State>()) {
  if (!at::isFloatingType(options.dtype))
    throw Error(std::string("weights can only load as a floating-point dtype, not ") +
                c10::toString(options.dtype));
  state_->ckpt = &ckpt;
  state_->options = std::move(options);
  for (const auto& [key, tensor] : ckpt.tensors()) {
    const std::string fixed = fix_key(key);
    auto [it, inserted] = state_->keys.emplace(fixed, key);
    if (!inserted && key == fixed) it->second = key;  // the current name wins over an old one
  }
}

WeightLoader WeightLoader::sub(const std::string& name) const {
  return WeightLoader(state_, model_scope_ + name + ".", ckpt_scope_ + name + ".");
}

WeightLoader WeightLoader::sub(int64_t index) const {
  return sub(std::to_string(index));
}

namespace {

bool has_prefix(const std::map<std::string, std::string>& keys, const std::string& scope) {
  auto it = keys.lower_bound(scope);
  return it != keys.end() && starts_with(it->first, scope);
}

}  // namespace

WeightLoader WeightLoader::base(const std::string& prefix) const {
  const std::string scope = ckpt_scope_ + prefix + ".";
  const bool prefixed = has_prefix(state_->keys, scope);
  if (prefixed) state_->base_scope = scope;
  return WeightLoader(state_, model_scope_ + prefix + ".", prefixed ? scope : ckpt_scope_);
}

WeightLoader WeightLoader::base_alone(const std::string& prefix) const {
  const std::string scope = ckpt_scope_ + prefix + ".";
  const bool prefixed = has_prefix(state_->keys, scope);
  if (prefixed) state_->base_scope = scope;
  return WeightLoader(state_, model_scope_, prefixed ? scope : ckpt_scope_);
}

const std::string* WeightLoader::find(const std::string& name) const {
  auto it = state_->keys.find(ckpt_scope_ + name);
  return it == state_->keys.end() ? nullptr : &it->second;
}

bool WeightLoader::contains(const std::string& name) const {
  return find(name) != nullptr;
}

std::string WeightLoader::model_name(const std::string& name) const {
  return model_scope_ + name;
}

at::ScalarType WeightLoader::dtype() const {
  return state_->options.dtype;
}

at::Tensor WeightLoader::copy(const std::string& key, at::IntArrayRef shape) const {
  const Checkpoint& ckpt = *state_->ckpt;
  const at::Tensor& t = ckpt.at(key);
  const std::string& file = ckpt.file_of(key);
  if (!at::isFloatingType(t.scalar_type()))
    throw Error(context(file, "tensor \"" + key + "\" has dtype " + c10::toString(t.scalar_type()) +
                                  ", expected a floating-point tensor"));
  if (t.sizes() != shape)
    throw Error(context(file, "tensor \"" + key + "\" has shape " + shape_str(t.sizes()) +
                                  ", the model expects " + shape_str(shape)));
  state_->consumed.insert(key);
  ++state_->loaded;
  const at::ScalarType dtype = state_->options.dtype;
  // Always a copy: the checkpoint's tensors view a file mapping, whose pages
  // are then dropped so that peak memory is one copy of the weights, not two.
  at::Tensor out =
      t.scalar_type() == dtype ? t.clone(at::MemoryFormat::Contiguous) : t.to(dtype).contiguous();
  ckpt.release(key);
  return out;
}

at::Tensor WeightLoader::tensor(const std::string& name, at::IntArrayRef shape) const {
  if (const std::string* key = find(name)) return copy(*key, shape);
  state_->missing.push_back(model_name(name));
  return at::zeros(shape, at::TensorOptions().dtype(state_->options.dtype));
}

at::Tensor WeightLoader::first_of(const std::vector<std::string>& names,
                                  at::IntArrayRef shape) const {
  const std::string* found = nullptr;
  for (const auto& n : names) {
    const std::string* key = find(n);
    if (!key) continue;
    if (found)
      state_->consumed.insert(*key);  // an alias of the one read
    else
      found = key;
  }
  if (found) return copy(*found, shape);
  return tensor(names.front(), shape);
}

at::Tensor WeightLoader::tied(const std::string& name, at::IntArrayRef shape,
                              const at::Tensor& source, const std::string& source_name,
                              bool tie) const {
  if (!tie) return tensor(name, shape);
  if (source.sizes() != shape)
    throw Error("tied tensor \"" + model_name(name) + "\" takes \"" + source_name + "\" of shape " +
                shape_str(source.sizes()) + ", the model expects " + shape_str(shape));
  if (const std::string* key = find(name)) state_->consumed.insert(*key);
  state_->tied.emplace_back(model_name(name), source_name);
  return source.clone(at::MemoryFormat::Contiguous);
}

void WeightLoader::skip(const std::string& name) const {
  const std::string exact = ckpt_scope_ + name;
  const std::string scope = exact + ".";
  for (auto it = state_->keys.lower_bound(exact);
       it != state_->keys.end() && starts_with(it->first, exact); ++it) {
    if (it->first != exact && !starts_with(it->first, scope)) continue;
    state_->skipped.insert(it->second);
    state_->consumed.insert(it->second);
  }
}

LoadReport WeightLoader::finish() const {
  const State& s = *state_;
  LoadReport r;
  r.missing = s.missing;
  r.tied = s.tied;
  r.loaded = s.loaded;
  for (const auto& [fixed, key] : s.keys) {
    (void)fixed;
    if (s.skipped.count(key)) {
      r.unused.push_back(key);
      continue;
    }
    if (s.consumed.count(key)) continue;
    bool buffer = false;
    for (const auto& b : s.options.buffers)
      if (key == b || ends_with(key, "." + b)) buffer = true;
    if (buffer)
      r.ignored.push_back(key);
    else if (!s.options.strict && !s.base_scope.empty() && !starts_with(key, s.base_scope))
      r.unused.push_back(key);
    else
      r.unexpected.push_back(key);
  }
  // Keys of the checkpoint that lost to a current name for the same tensor.
  for (const auto& [key, t] : s.ckpt->tensors()) {
    (void)t;
    auto it = s.keys.find(fix_key(key));
    if (it != s.keys.end() && it->second != key) r.unexpected.push_back(key);
  }
  std::sort(r.missing.begin(), r.missing.end());
  std::sort(r.unexpected.begin(), r.unexpected.end());
  if (r.missing.empty() && r.unexpected.empty()) return r;
  std::string what;
  if (!r.missing.empty()) what = list(r.missing, "missing tensor");
  if (!r.unexpected.empty())
    what += (what.empty() ? "" : "; ") + list(r.unexpected, "unexpected tensor");
  throw LoadError(context(checkpoint_name(*s.ckpt), "weights do not fit the model: " + what), r);
}

}  // namespace hfjit
