#include "hfjit/tokenizers/spm_viterbi.h"

#include <algorithm>
#include <cfloat>

namespace hfjit::tokenizers {
namespace {

// sentencepiece's penalty under the lowest score for an unknown character.
constexpr float kUnkPenalty = 10.0f;
// 0.2.x shifts the running scores back to 0 past this magnitude (long inputs).
constexpr float kScoreResetThreshold = 100000.0f;

// Bytes of the UTF-8 character led by `c`, as sentencepiece counts them
// (string_util::OneCharLen: a continuation byte is 1, 0xF8-0xFF are 4).
size_t one_char_len(unsigned char c) {
  static constexpr unsigned char kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[c >> 4];
}

// 0.2.x's score of a user-defined symbol of `length` bytes (GetUserDefinedScore).
float user_defined_score(size_t length) {
  return static_cast<float>(0.1 * (static_cast<int>(length) - 1));
}

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, sentencepiece's escaped space

bool is_space(char c) {
  return c == ' ';
}

}  // namespace

SpmUnigramEncoder::SpmUnigramEncoder(const SpmProto& proto) {
  const size_t n = proto.pieces.size();
  score_.reserve(n);
  type_.reserve(n);
  float min_score = FLT_MAX;
  bool unk_found = false;
  for (size_t i = 0; i < n; ++i) {
    const SpmProto::Piece& p = proto.pieces[i];
    score_.push_back(p.score);
    type_.push_back(p.type);
    if (p.type == SpmProto::kNormal) min_score = std::min(min_score, p.score);
    if (p.type == SpmProto::kUnknown && !unk_found) {
      unk_id_ = static_cast<int>(i);
      unk_found = true;
    }
    if (!p.piece.empty() && (p.type == SpmProto::kNormal || p.type == SpmProto::kUserDefined ||
                             p.type == SpmProto::kUnused))
      trie_.insert(p.piece, static_cast<uint32_t>(i));
  }
  trie_.finish();
  if (!unk_found) unk_id_ = static_cast<int>(proto.unk_id);
  unk_score_ = min_score - kUnkPenalty;
}

std::vector<SpmUnigramEncoder::Segment> SpmUnigramEncoder::segment(
    std::string_view normalized) const {
  struct Best {
    int id = -1;
    float score = 0;
    int64_t starts_at = -1;
  };
  const size_t size = normalized.size();
  std::vector<Best> best(size + 1);
  size_t starts_at = 0, max_frontier = 0;
  while (starts_at < size) {
    float till_here = best[starts_at].score;
    if (till_here < -kScoreResetThreshold || till_here > kScoreResetThreshold) {
      const float offset = till_here;
      for (size_t i = starts_at; i <= max_frontier; ++i)
        if (i == starts_at || best[i].starts_at != -1) best[i].score -= offset;
      till_here = 0.0f;
    }
    bool has_single_node = false;
    const size_t mblen =
        std::min(one_char_len(static_cast<unsigned char>(normalized[starts_at])), size - starts_at);
    trie_.common_prefixes(normalized.substr(starts_at), [&](size_t length, uint32_t value) {
      const int id = static_cast<int>(value);
      if (type_[value] == SpmProto::kUnused) return;
      const size_t end = starts_at + length;
      max_frontier = std::max(max_frontier, end);
      const float score = type_[static_cast<size_t>(id)] == SpmProto::kUserDefined
                              ? user_defined_score(length)
                              : score_[static_cast<size_t>(id)];
      const float candidate = score + till_here;  // in float, as 0.2.x
      Best& target = best[end];
      if (target.starts_at == -1 || candidate > target.score) {
        target = {id, candidate, static_cast<int64_t>(starts_at)};
      }
      if (length == mblen) has_single_node = true;
    });
    if (!has_single_node) {
      max_frontier = std::max(max_frontier, starts_at + mblen);
      Best& target = best[starts_at + mblen];
      const float candidate = unk_score_ + till_here;
      if (target.starts_at == -1 || candidate > target.score)
        target = {unk_id_, candidate, static_cast<int64_t>(starts_at)};
    }
    starts_at += mblen;
  }
  std::vector<Segment> out;
  for (size_t end = size; end > 0;) {
    const Best& b = best[end];
    const size_t begin = static_cast<size_t>(b.starts_at);
    out.push_back({begin, end, b.id});
    end = begin;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<SpmPiece> SpmUnigramEncoder::resegment(std::string_view input,
                                                   std::vector<SpmPiece> pieces) const {
  // A control piece (no surface) or an id past the model: leave it to libsentencepiece.
  std::string normalized;
  for (const SpmPiece& p : pieces) {
    if (p.id >= type_.size() || type_[p.id] == SpmProto::kControl || p.piece.empty()) return pieces;
    normalized += p.piece;
  }
  if (normalized.empty()) return pieces;
  std::vector<Segment> segments = segment(normalized);
  // Consecutive unknowns as one piece, as the processor merges them.
  std::vector<Segment> merged;
  for (const Segment& s : segments) {
    if (!merged.empty() && merged.back().id == unk_id_ && s.id == unk_id_)
      merged.back().end = s.end;
    else
      merged.push_back(s);
  }
  bool same = merged.size() == pieces.size();
  for (size_t i = 0, at = 0; same && i < merged.size(); at += pieces[i].piece.size(), ++i)
    same = merged[i].begin == at && merged[i].id == static_cast<int>(pieces[i].id) &&
           merged[i].end == at + pieces[i].piece.size();
  if (same) return pieces;

  // Where each normalized byte came from in the input: exact at libsentencepiece's
  // piece boundaries; inside a piece, walked along its surface (an escaped space
  // from a space, or from none: the dummy prefix; other bytes as they are; where
  // normalization changed the text, the surface position reached so far).
  std::vector<size_t> origin(normalized.size() + 1, 0);
  size_t at = 0;
  for (const SpmPiece& p : pieces) {
    const std::string_view surface = p.begin <= p.end && p.end <= input.size()
                                         ? input.substr(p.begin, p.end - p.begin)
                                         : std::string_view();
    size_t i = 0, j = 0;
    bool walking = true;
    while (i < p.piece.size()) {
      if (walking && std::string_view(p.piece).substr(i, kSpace.size()) == kSpace) {
        for (size_t k = 0; k < kSpace.size(); ++k) origin[at + i + k] = p.begin + j;
        if (j < surface.size() && is_space(surface[j])) ++j;
        i += kSpace.size();
        continue;
      }
      while (walking && j < surface.size() && is_space(surface[j]) && p.piece[i] != ' ') ++j;
      if (walking && j < surface.size() && surface[j] == p.piece[i]) {
        origin[at + i] = p.begin + j;
        ++i;
        ++j;
        continue;
      }
      walking = false;
      origin[at + i] = p.begin + std::min(j, surface.size());
      ++i;
    }
    origin[at] = p.begin;
    at += p.piece.size();
    origin[at] = p.end;
  }
  std::vector<SpmPiece> out;
  out.reserve(merged.size());
  for (const Segment& s : merged)
    out.push_back({normalized.substr(s.begin, s.end - s.begin), static_cast<uint32_t>(s.id),
                   origin[s.begin], origin[s.end]});
  return out;
}

}  // namespace hfjit::tokenizers
