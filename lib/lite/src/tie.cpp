#include "hfjit/tie.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace hfjit {

const std::vector<TieRule>& tie_rules() {
  return all_tie_rules();
}

std::vector<TiedGroup> find_tied_groups(const RawCheckpoint& ckpt, const ModelConfig& config) {
  const auto& tensors = ckpt.tensors();
  // Union-find over names, so a tie found both ways ends in one group.
  std::map<std::string, std::string> parent;
  std::map<std::string, std::string> reason;
  std::function<std::string(const std::string&)> find = [&](const std::string& x) {
    auto it = parent.find(x);
    if (it == parent.end() || it->second == x) return x;
    return it->second = find(it->second);
  };
  auto unite = [&](const std::string& a, const std::string& b, const std::string& why) {
    parent.emplace(a, a);
    parent.emplace(b, b);
    std::string ra = find(a), rb = find(b);
    if (ra != rb) parent[rb] = ra;
    reason.emplace(a, why);
    reason.emplace(b, why);
  };

  // 1. Shared storage (tensors from a .bin or .pt): same storage bytes.
  std::map<const void*, std::vector<std::string>> by_storage;
  for (const auto& [name, t] : tensors)
    if (t.numel() > 0) by_storage[t.storage].push_back(name);
  for (const auto& [ptr, names] : by_storage)
    for (size_t i = 1; i < names.size(); ++i) unite(names[0], names[i], "shared storage");

  // 2. Ties transformers makes implicitly.
  const bool tie_embeddings = config.tie_word_embeddings.value_or(true);
  for (const TieRule& r : tie_rules()) {
    if (r.follows_tie_word_embeddings && !tie_embeddings) continue;
    auto in = tensors.find(r.input);
    if (in == tensors.end()) continue;
    auto out = tensors.find(r.output);
    if (out == tensors.end()) {
      const bool has_head = r.witness.empty()
                                ? !config.architectures.empty() &&
                                      std::find(r.architectures.begin(), r.architectures.end(),
                                                config.architectures[0]) != r.architectures.end()
                                : tensors.count(r.witness) != 0;
      if (!has_head) continue;
    } else if (!equal_bytes(in->second, out->second)) {
      continue;
    }
    unite(r.input, r.output, "implicit");
  }

  std::map<std::string, TiedGroup> groups;
  for (const auto& [name, p] : parent) {
    TiedGroup& g = groups[find(name)];
    g.names.push_back(name);
  }
  std::vector<TiedGroup> out;
  for (auto& [root, g] : groups) {
    if (g.names.size() < 2) continue;
    // The source: the first name present in the checkpoint, preferring an input-side name.
    std::stable_sort(g.names.begin(), g.names.end(),
                     [&](const std::string& a, const std::string& b) {
                       auto rank = [&](const std::string& n) {
                         bool is_input = false;
                         for (const TieRule& r : tie_rules()) is_input = is_input || n == r.input;
                         return (tensors.count(n) ? 0 : 2) + (is_input ? 0 : 1);
                       };
                       return rank(a) < rank(b);
                     });
    g.source = g.names.front();
    if (!tensors.count(g.source)) continue;  // nothing to take the values from
    for (const auto& n : g.names) g.present.push_back(tensors.count(n) != 0);
    g.reason = reason[g.names.front()];
    for (const auto& n : g.names)
      if (reason[n] == "shared storage") g.reason = "shared storage";
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace hfjit
