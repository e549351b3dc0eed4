#include <algorithm>
#include <cstdio>
#include <limits>
#include <queue>

#include "hfjit/error.h"
#include "hfjit/tokenizers/models.h"
#include "hfjit/tokenizers/unicode.h"

namespace hfjit::tokenizers {

// ---------------------------------------------------------------- WordPiece

WordPieceModel::WordPieceModel(Vocab vocab, std::string unk_token,
                               std::string continuing_subword_prefix,
                               size_t max_input_chars_per_word)
    : vocab_(std::move(vocab)),
      unk_token_(std::move(unk_token)),
      prefix_(std::move(continuing_subword_prefix)),
      max_chars_(max_input_chars_per_word) {
  prefix_hash_.add(prefix_);
}

void WordPieceModel::tokenize(std::string_view seq, std::vector<Token>& out) const {
  auto unk = [&]() {
    const auto id = vocab_.find(unk_token_);
    if (!id)
      throw Error("WordPiece: the unknown token '" + unk_token_ + "' is not in the vocabulary");
    out.push_back({*id, unk_token_, 0, seq.size()});
  };
  if (count_chars(seq) > max_chars_) return unk();
  const size_t first = out.size();
  const size_t max_bytes = vocab_.max_token_bytes();
  std::vector<size_t> ends;
  std::vector<uint64_t> hashes;
  size_t start = 0;
  while (start < seq.size()) {
    // The candidate ends are char boundaries; a candidate longer than the
    // longest vocabulary entry cannot match, so the search starts below it.
    const std::string_view prefix = start > 0 ? std::string_view(prefix_) : std::string_view();
    Fnv64 h = start > 0 ? prefix_hash_ : Fnv64{};
    const size_t limit = max_bytes > prefix.size() ? max_bytes - prefix.size() : 0;
    ends.clear();
    hashes.clear();
    for (size_t i = start; i < seq.size();) {
      const size_t n = utf8_len(static_cast<unsigned char>(seq[i]));
      if (i + n - start > limit) break;
      for (size_t k = 0; k < n; ++k) h.add(static_cast<unsigned char>(seq[i + k]));
      i += n;
      ends.push_back(i);
      hashes.push_back(h.h);
    }
    bool found = false;
    for (size_t j = ends.size(); j-- > 0;) {
      const std::string_view body = seq.substr(start, ends[j] - start);
      if (const auto id = vocab_.find_hashed(hashes[j], prefix, body)) {
        std::string value(prefix);
        value.append(body);
        out.push_back({*id, std::move(value), start, ends[j]});
        start = ends[j];
        found = true;
        break;
      }
    }
    if (!found) {
      out.resize(first);
      return unk();
    }
  }
}

// ---------------------------------------------------------------- BPE

namespace {
inline uint64_t pair_key(uint32_t a, uint32_t b) {
  return (uint64_t(a) << 32) | b;
}
}  // namespace

BpeModel::BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   Options options, const std::string& origin)
    : vocab_(std::move(vocab)), opt_(std::move(options)) {
  merges_.reserve(merges.size() * 2);
  const size_t prefix_len = opt_.continuing_subword_prefix.size();
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& a = merges[rank].first;
    const std::string& b = merges[rank].second;
    const auto where = [&]() {
      return origin + ": merge " + std::to_string(rank + 1) + " '" + a + " " + b + "'";
    };
    const auto a_id = vocab_.find(a);
    if (!a_id) throw Error(where() + " uses '" + a + "', which is not in the vocabulary");
    const auto b_id = vocab_.find(b);
    if (!b_id) throw Error(where() + " uses '" + b + "', which is not in the vocabulary");
    if (b.size() < prefix_len)
      throw Error(where() + " is shorter than the continuing subword prefix");
    const std::string merged = a + b.substr(prefix_len);
    const auto new_id = vocab_.find(merged);
    if (!new_id) throw Error(where() + " makes '" + merged + "', which is not in the vocabulary");
    merges_[pair_key(*a_id, *b_id)] = {static_cast<uint32_t>(rank), *new_id};
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    const auto id = vocab_.find(name);
    have_byte_ids_[b] = id.has_value();
    byte_ids_[b] = id.value_or(0);
  }
}

const BpeModel::MergeEntry* BpeModel::find_merge(uint32_t a, uint32_t b) const {
  auto it = merges_.find(pair_key(a, b));
  return it == merges_.end() ? nullptr : &it->second;
}

std::vector<BpeModel::Symbol> BpeModel::merge_word(std::string_view w) const {
  struct Sym {
    uint32_t c;
    int64_t prev, next;
    uint32_t len;
  };
  std::vector<Sym> syms;
  syms.reserve(w.size());
  auto add = [&](uint32_t c, uint32_t len) {
    const int64_t n = static_cast<int64_t>(syms.size());
    if (!syms.empty()) syms.back().next = n;
    syms.push_back({c, n - 1, -1, len});
  };
  bool have_unk = false;
  uint32_t unk_id = 0, unk_len = 0;
  std::string s;
  for (size_t i = 0; i < w.size();) {
    const size_t n = utf8_len(static_cast<unsigned char>(w[i]));
    const bool is_first = i == 0, is_last = i + n >= w.size();
    const auto byte_len = static_cast<uint32_t>(n);
    s.clear();
    if (!is_first) s += opt_.continuing_subword_prefix;
    s.append(w.substr(i, n));
    if (is_last) s += opt_.end_of_word_suffix;
    i += n;
    if (const auto id = vocab_.find(s)) {
      if (have_unk) {
        add(unk_id, unk_len);
        have_unk = false;
      }
      add(*id, byte_len);
      continue;
    }
    if (opt_.byte_fallback) {
      bool all = true;
      for (unsigned char b : s) all &= have_byte_ids_[b];
      if (all) {
        for (unsigned char b : s) add(byte_ids_[b], 1);
        continue;
      }
    }
    if (opt_.unk_token) {
      const auto find_unk = [&]() {
        const auto id = vocab_.find(*opt_.unk_token);
        if (!id)
          throw Error("BPE: the unknown token '" + *opt_.unk_token + "' is not in the vocabulary");
        return *id;
      };
      if (have_unk && opt_.fuse_unk) {
        unk_len += byte_len;
      } else {
        if (have_unk) add(unk_id, unk_len);
        unk_id = find_unk();
        unk_len = byte_len;
        have_unk = true;
      }
    }
  }
  if (have_unk) add(unk_id, unk_len);

  // tokenizers' Word::merge_all: a min-heap on (rank, position).
  struct Merge {
    size_t pos;
    uint32_t rank;
    uint32_t new_id;
    bool operator<(const Merge& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Merge> queue;
  for (size_t i = 0; i + 1 < syms.size(); ++i)
    if (const MergeEntry* m = find_merge(syms[i].c, syms[i + 1].c))
      queue.push({i, m->rank, m->new_id});
  while (!queue.empty()) {
    const Merge top = queue.top();
    queue.pop();
    Sym& cur = syms[top.pos];
    if (cur.len == 0 || cur.next == -1) continue;
    const size_t next_pos = static_cast<size_t>(cur.next);
    const Sym right = syms[next_pos];
    const MergeEntry* m = find_merge(cur.c, right.c);
    if (!m || m->new_id != top.new_id) continue;
    cur.c = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    syms[next_pos].len = 0;
    if (right.next > -1 && static_cast<size_t>(right.next) < syms.size())
      syms[right.next].prev = top.pos;
    if (cur.prev >= 0) {
      if (const MergeEntry* p = find_merge(syms[cur.prev].c, cur.c))
        queue.push({static_cast<size_t>(cur.prev), p->rank, p->new_id});
    }
    if (cur.next >= 0 && static_cast<size_t>(cur.next) < syms.size()) {
      if (const MergeEntry* p = find_merge(cur.c, syms[cur.next].c))
        queue.push({top.pos, p->rank, p->new_id});
    }
  }
  std::vector<Symbol> out;
  for (const Sym& x : syms)
    if (x.len != 0) out.push_back({x.c, x.len});
  return out;
}

void BpeModel::tokenize(std::string_view seq, std::vector<Token>& out) const {
  if (seq.empty()) return;
  if (opt_.ignore_merges) {
    if (const auto id = vocab_.find(seq)) {
      out.push_back({*id, std::string(seq), 0, seq.size()});
      return;
    }
  }
  auto emit = [&](const std::vector<Symbol>& symbols) {
    size_t pos = 0;
    for (const Symbol& s : symbols) {
      const std::string* value = vocab_.token(s.id);
      out.push_back({s.id, value ? *value : std::string(), pos, pos + s.len});
      pos += s.len;
    }
  };
  constexpr size_t kMaxCachedLength = 256, kCacheCapacity = 10000;
  const bool cacheable = seq.size() < kMaxCachedLength;
  if (cacheable) {
    std::shared_lock lock(cache_mutex_);
    auto it = cache_.find(std::string(seq));
    if (it != cache_.end()) {
      emit(it->second);
      return;
    }
  }
  std::vector<Symbol> symbols = merge_word(seq);
  emit(symbols);
  if (cacheable) {
    std::unique_lock lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(seq), std::move(symbols));
  }
}

// ---------------------------------------------------------------- Unigram

UnigramModel::UnigramModel(std::vector<std::pair<std::string, double>> pieces,
                           std::optional<uint32_t> unk_id, bool byte_fallback,
                           const std::string& origin)
    : pieces_(std::move(pieces)), unk_id_(unk_id), byte_fallback_(byte_fallback) {
  if (unk_id_) {
    if (pieces_.empty())
      throw Error(origin + ": the unigram vocabulary is empty but at least <unk> is needed");
    if (*unk_id_ >= pieces_.size())
      throw Error(origin + ": unk_id " + std::to_string(*unk_id_) +
                  " is larger than the vocabulary size " + std::to_string(pieces_.size()));
  }
  min_score_ = std::numeric_limits<double>::infinity();
  for (size_t id = 0; id < pieces_.size(); ++id) {
    vocab_.insert(pieces_[id].first, static_cast<uint32_t>(id));
    min_score_ = std::min(min_score_, pieces_[id].second);
  }
  for (size_t id = 0; id < pieces_.size(); ++id)
    trie_.insert(pieces_[id].first, *vocab_.find(pieces_[id].first));
  trie_.finish();
}

void UnigramModel::encode(std::string_view sentence,
                          std::vector<std::pair<size_t, size_t>>& result) const {
  // tokenizers' Unigram::encode_optimized (SentencePiece's Viterbi).
  struct Node {
    uint32_t id = 0;
    double score = 0.0;
    int64_t starts_at = -1;
  };
  constexpr double kUnkPenalty = 10.0;
  const double unk_score = min_score_ - kUnkPenalty;
  const size_t size = sentence.size();
  std::vector<Node> best(size + 1);
  for (size_t starts_at = 0; starts_at < size;) {
    const double here = best[starts_at].score;
    const size_t mblen = utf8_len(static_cast<unsigned char>(sentence[starts_at]));
    bool has_single_node = false;
    trie_.common_prefixes(sentence.substr(starts_at), [&](size_t length, uint32_t id) {
      Node& target = best[starts_at + length];
      const double candidate = pieces_[id].second + here;
      if (target.starts_at < 0 || candidate > target.score) {
        target.score = candidate;
        target.starts_at = static_cast<int64_t>(starts_at);
        target.id = id;
      }
      if (length == mblen) has_single_node = true;
    });
    if (!has_single_node) {
      Node& target = best[std::min(size, starts_at + mblen)];
      const double candidate = unk_score + here;
      if (target.starts_at < 0 || candidate > target.score) {
        if (!unk_id_)
          throw Error("Unigram: an unknown piece was found but the model has no unk_id");
        target.score = candidate;
        target.starts_at = static_cast<int64_t>(starts_at);
        target.id = *unk_id_;
      }
    }
    starts_at += mblen;
  }
  result.clear();
  size_t ends_at = size;
  size_t fused_start = 0, fused_end = 0;
  bool fusing = false;
  while (ends_at > 0) {
    const Node& node = best[ends_at];
    const auto starts_at = static_cast<size_t>(node.starts_at);
    if (unk_id_ && node.id == *unk_id_) {
      if (!fusing) fused_end = ends_at;
      fused_start = starts_at;
      fusing = true;
    } else {
      if (fusing) {
        result.emplace_back(fused_start, fused_end);
        fusing = false;
      }
      result.emplace_back(starts_at, ends_at);
    }
    ends_at = starts_at;
  }
  if (fusing) result.emplace_back(fused_start, fused_end);
  std::reverse(result.begin(), result.end());
}

void UnigramModel::tokenize(std::string_view seq, std::vector<Token>& out) const {
  if (seq.empty()) return;
  std::vector<std::pair<size_t, size_t>> pieces;
  encode(seq, pieces);
  for (const auto& [s, e] : pieces) {
    const std::string_view piece = seq.substr(s, e - s);
    if (const auto id = vocab_.find(piece)) {
      out.push_back({*id, std::string(piece), s, e});
      continue;
    }
    if (byte_fallback_) {
      std::vector<Token> bytes;
      for (unsigned char b : piece) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        const auto id = vocab_.find(name);
        if (!id) break;
        bytes.push_back({*id, name, s, e});
      }
      if (bytes.size() == piece.size()) {
        out.insert(out.end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    if (!unk_id_) throw Error("Unigram: an unknown piece was found but the model has no unk_id");
    out.push_back({*unk_id_, std::string(piece), s, e});
  }
}

// ---------------------------------------------------------------- WordLevel

void WordLevelModel::tokenize(std::string_view seq, std::vector<Token>& out) const {
  if (const auto id = vocab_.find(seq)) {
    out.push_back({*id, std::string(seq), 0, seq.size()});
    return;
  }
  const auto unk = vocab_.find(unk_token_);
  if (!unk)
    throw Error("WordLevel: the unknown token '" + unk_token_ + "' is not in the vocabulary");
  out.push_back({*unk, unk_token_, 0, seq.size()});
}

}  // namespace hfjit::tokenizers
