#include "hfjit/tokenizers/vocab.h"

#include <algorithm>

namespace hfjit::tokenizers {

void Vocab::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.str == UINT32_MAX) continue;
    size_t i = s.hash & mask;
    while (slots_[i].str != UINT32_MAX) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void Vocab::insert(std::string_view token, uint32_t id) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const uint64_t h = hash(token);
  const size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  while (slots_[i].str != UINT32_MAX && !(slots_[i].hash == h && strings_[slots_[i].str] == token))
    i = (i + 1) & mask;
  if (slots_[i].str == UINT32_MAX) {  // a new token
    slots_[i] = {h, static_cast<uint32_t>(strings_.size()), id};
    strings_.emplace_back(token);
    ++count_;
    max_bytes_ = std::max(max_bytes_, token.size());
  } else {  // a later insert overwrites the id
    slots_[i].id = id;
  }
  const uint32_t str = slots_[i].str;
  if (id < (1u << 24)) {
    if (by_id_dense_.size() <= id) by_id_dense_.resize(id + 1, 0);
    by_id_dense_[id] = str + 1;
  } else {
    by_id_sparse_[id] = str;
  }
}

std::optional<uint32_t> Vocab::find_hashed(uint64_t h, std::string_view prefix,
                                           std::string_view body) const {
  if (slots_.empty()) return std::nullopt;
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.str == UINT32_MAX) return std::nullopt;
    if (s.hash != h) continue;
    const std::string& t = strings_[s.str];
    if (t.size() == prefix.size() + body.size() && t.compare(0, prefix.size(), prefix) == 0 &&
        t.compare(prefix.size(), body.size(), body) == 0)
      return s.id;
  }
}

std::optional<uint32_t> Vocab::find_hashed(uint64_t h, std::string_view token) const {
  if (slots_.empty()) return std::nullopt;
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.str == UINT32_MAX) return std::nullopt;
    if (s.hash == h && strings_[s.str] == token) return s.id;
  }
}

const std::string* Vocab::token(uint32_t id) const {
  if (id < by_id_dense_.size()) {
    const uint32_t tag = by_id_dense_[id];
    return tag ? &strings_[tag - 1] : nullptr;
  }
  auto it = by_id_sparse_.find(id);
  return it == by_id_sparse_.end() ? nullptr : &strings_[it->second];
}

std::vector<std::pair<std::string, uint32_t>> Vocab::entries() const {
  std::vector<std::pair<std::string, uint32_t>> out;
  out.reserve(count_);
  for (const Slot& s : slots_)
    if (s.str != UINT32_MAX) out.emplace_back(strings_[s.str], s.id);
  return out;
}

void PrefixTrie::insert(std::string_view key, uint32_t value) {
  uint32_t node = 0;
  for (unsigned char b : key) {
    auto it = build_children_[node].find(b);
    if (it == build_children_[node].end()) {
      const auto next = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
      build_children_.emplace_back();
      build_children_[node][b] = next;
      node = next;
    } else {
      node = it->second;
    }
  }
  nodes_[node].value = value;
}

void PrefixTrie::finish() {
  edges_.clear();
  for (size_t n = 0; n < nodes_.size(); ++n) {
    std::vector<Edge> kids;
    for (const auto& [label, child] : build_children_[n]) kids.push_back({label, child});
    std::sort(kids.begin(), kids.end(),
              [](const Edge& a, const Edge& b) { return a.label < b.label; });
    nodes_[n].first_edge = static_cast<uint32_t>(edges_.size());
    nodes_[n].n_edges = static_cast<uint32_t>(kids.size());
    edges_.insert(edges_.end(), kids.begin(), kids.end());
  }
  build_children_.clear();
  build_children_.shrink_to_fit();
}

uint32_t PrefixTrie::child(uint32_t node, unsigned char label) const {
  const Node& n = nodes_[node];
  const Edge* lo = edges_.data() + n.first_edge;
  const Edge* hi = lo + n.n_edges;
  const Edge* it =
      std::lower_bound(lo, hi, label, [](const Edge& e, unsigned char l) { return e.label < l; });
  return it != hi && it->label == label ? it->child : 0;
}

}  // namespace hfjit::tokenizers
