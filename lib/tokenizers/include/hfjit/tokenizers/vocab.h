#pragma once
// Vocab: token string -> id, an open-addressing hash table over pooled
// strings, with lookups by string_view and by a precomputed hash (WordPiece
// hashes growing substrings incrementally). Also keeps id -> token.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hfjit::tokenizers {

// FNV-1a, 64 bits; extendable one byte at a time.
struct Fnv64 {
  uint64_t h = 1469598103934665603ull;
  void add(unsigned char b) { h = (h ^ b) * 1099511628211ull; }
  void add(std::string_view s) {
    for (unsigned char b : s) add(b);
  }
};

class Vocab {
 public:
  // Later inserts of the same token overwrite its id (as a HashMap collect does).
  void insert(std::string_view token, uint32_t id);
  std::optional<uint32_t> find(std::string_view token) const {
    return find_hashed(hash(token), token);
  }
  std::optional<uint32_t> find_hashed(uint64_t h, std::string_view token) const;
  // Lookup of prefix + body, whose hash is h, without building the string.
  std::optional<uint32_t> find_hashed(uint64_t h, std::string_view prefix,
                                      std::string_view body) const;
  // The token of `id`, or nullptr.
  const std::string* token(uint32_t id) const;
  // Number of distinct tokens.
  size_t size() const { return count_; }
  // Longest token in bytes.
  size_t max_token_bytes() const { return max_bytes_; }
  // Every (token, id), in insertion order of the first insert.
  std::vector<std::pair<std::string, uint32_t>> entries() const;

  static uint64_t hash(std::string_view s) {
    Fnv64 f;
    f.add(s);
    return f.h;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t str = UINT32_MAX;  // index into strings_, UINT32_MAX = empty
    uint32_t id = 0;
  };
  void grow();

  std::vector<Slot> slots_;
  std::vector<std::string> strings_;
  std::vector<uint32_t> by_id_dense_;  // id -> strings_ index + 1 (0: none), for small ids
  std::unordered_map<uint32_t, uint32_t> by_id_sparse_;  // id -> strings_ index, for large ids
  size_t count_ = 0;
  size_t max_bytes_ = 0;
};

// PrefixTrie: byte strings -> values, listing the keys that prefix a text
// (shortest first), as the unigram lattice needs.
class PrefixTrie {
 public:
  void insert(std::string_view key, uint32_t value);
  // Flattens the trie; call once after the inserts, before any lookup.
  void finish();
  // fn(length, value) for each key that is a prefix of text, shortest first.
  template <typename Fn>
  void common_prefixes(std::string_view text, Fn fn) const {
    uint32_t node = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      node = child(node, static_cast<unsigned char>(text[i]));
      if (node == 0) return;
      if (nodes_[node].value != UINT32_MAX) fn(i + 1, nodes_[node].value);
    }
  }

 private:
  struct Node {
    uint32_t value = UINT32_MAX;
    uint32_t first_edge = 0;  // edges_ index of the first child edge (sorted by label)
    uint32_t n_edges = 0;
  };
  struct Edge {
    unsigned char label;
    uint32_t child;
  };
  uint32_t child(uint32_t node, unsigned char label) const;

  std::vector<std::unordered_map<unsigned char, uint32_t>> build_children_{1};  // until finish()
  std::vector<Node> nodes_{1};
  std::vector<Edge> edges_;
};

}  // namespace hfjit::tokenizers
