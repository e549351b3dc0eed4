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

namespace {

// `hf_class` as `model_type` names it: the row's prefix swapped for the alias's.
std::string class_for(const Family& f, const std::string& hf_class, const std::string& model_type) {
  for (const Alias& a : f.aliases)
    if (a.model_type == model_type && hf_class.starts_with(f.class_prefix))
      return a.class_prefix + hf_class.substr(f.class_prefix.size());
  return hf_class;
}

}  // namespace

std::optional<std::string> Family::hf_class(const std::string& task,
                                            const std::string& model_type) const {
  for (const TaskClass& t : tasks)
    if (t.task == task) return class_for(*this, t.hf_class, model_type);
  return std::nullopt;
}

std::optional<std::string> Family::task_for(const std::string& architecture,
                                            const std::string& model_type) const {
  for (const auto* list : {&tasks, &architectures})
    for (const TaskClass& t : *list)
      if (class_for(*this, t.hf_class, model_type) == architecture) return t.task;
  return std::nullopt;
}

std::vector<std::string> Family::task_names() const {
  std::vector<std::string> names;
  for (const TaskClass& t : tasks) names.push_back(t.task);
  return names;
}

std::string Family::word_embeddings() const {
  return base_prefix + "." +
         (embeddings.empty() ? std::string("embeddings.word_embeddings.weight") : embeddings[0]);
}

const std::vector<Family>& families() {
#define HFJIT_PARTS(fn) nullptr
// Rows leave out the columns they do not use (designated initializers);
// GCC 12 warns about that under -Wextra.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
  static const std::vector<Family> all = {
#include "hfjit/family_table.inc"
  };
#pragma GCC diagnostic pop
#undef HFJIT_PARTS
  return all;
}

const Family* find_family(const std::string& model_type) {
  for (const Family& f : families())
    if (f.model_type == model_type ||
        std::any_of(f.aliases.begin(), f.aliases.end(),
                    [&](const Alias& a) { return a.model_type == model_type; }))
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
    for (const Alias& a : f.aliases) types.push_back(a.model_type);
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
    if (tensor_name == e || (tensor_name.size() > e.size() && tensor_name.ends_with(e) &&
                             tensor_name[tensor_name.size() - e.size() - 1] == '.'))
      return true;
  return false;
}

}  // namespace hfjit
