#include "hfjit/families.h"

#include <algorithm>

#include "hfjit/error.h"

namespace hfjit {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

}  // namespace

std::optional<std::string> Family::hf_class(const std::string& task) const {
  for (const TaskClass& t : tasks)
    if (t.task == task) return t.hf_class;
  return std::nullopt;
}

std::vector<std::string> Family::task_names() const {
  std::vector<std::string> names;
  for (const TaskClass& t : tasks) names.push_back(t.task);
  return names;
}

std::string Family::word_embeddings() const {
  return base_prefix + "." + (embeddings.empty() ? std::string("embeddings.word_embeddings.weight") : embeddings[0]);
}

const std::vector<Family>& families() {
#define HFJIT_PARTS(fn) nullptr
  static const std::vector<Family> all = {
#include "hfjit/family_table.inc"
  };
#undef HFJIT_PARTS
  return all;
}

const Family* find_family(const std::string& model_type) {
  for (const Family& f : families())
    if (f.model_type == model_type ||
        std::find(f.aliases.begin(), f.aliases.end(), model_type) != f.aliases.end())
      return &f;
  return nullptr;
}

const Family& family_for(const std::string& model_type, const std::string& where) {
  const Family* f = find_family(model_type);
  if (f == nullptr || f->tasks.empty())
    throw Error(context(where, "model type \"" + model_type + "\" is not supported; supported: " +
                                   join(native_model_types())));
  return *f;
}

std::vector<std::string> native_model_types() {
  std::vector<std::string> types;
  for (const Family& f : families()) {
    if (f.tasks.empty()) continue;
    types.push_back(f.model_type);
    types.insert(types.end(), f.aliases.begin(), f.aliases.end());
  }
  std::sort(types.begin(), types.end());
  return types;
}

const std::vector<TieRule>& all_tie_rules() {
  static const std::vector<TieRule> rules = [] {
    std::vector<TieRule> r;
    for (const Family& f : families()) r.insert(r.end(), f.ties.begin(), f.ties.end());
    return r;
  }();
  return rules;
}

const std::vector<std::string>& all_embedding_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Family& f : families())
      for (const std::string& e : f.embeddings)
        if (std::find(n.begin(), n.end(), e) == n.end()) n.push_back(e);
    return n;
  }();
  return names;
}

bool is_embedding_table(const std::string& tensor_name) {
  for (const std::string& e : all_embedding_names())
    if (tensor_name == e ||
        (tensor_name.size() > e.size() && tensor_name.ends_with(e) && tensor_name[tensor_name.size() - e.size() - 1] == '.'))
      return true;
  return false;
}

}  // namespace hfjit
