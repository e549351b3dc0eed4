#pragma once
// NormalizedString: a piece of the input text as the normalizers rewrote it,
// with, for every byte of the normalized text, the byte range of the original
// it came from. A port of `tokenizers::NormalizedString`: every rewrite goes
// through `transform`, whose alignment rules decide the offsets users see.
// Alignments are kept absolute (offsets into the whole input string).

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hfjit::tokenizers {

// One change for `transform`: the new char and how it relates to the old ones
// (0: replaces the next old char, +1: inserted, -N: replaces the next old char
// and removes the N after it).
struct CharChange {
  char32_t c;
  int64_t change;
};

// How `split` treats the matched delimiters.
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// A span of the normalized text and whether a pattern matched it.
struct Span {
  size_t start;
  size_t end;
  bool is_match;
};

class NormalizedString {
 public:
  using Align = std::pair<uint32_t, uint32_t>;

  NormalizedString() = default;
  // The whole text, or a piece of it starting at byte `shift` of the input.
  explicit NormalizedString(std::string_view original, size_t shift = 0);

  const std::string& get() const { return normalized_; }
  size_t len() const { return normalized_.size(); }
  bool empty() const { return normalized_.empty(); }
  // Absolute byte range of the original text this string covers.
  size_t original_start() const { return orig_start_; }
  size_t original_end() const { return orig_end_; }
  const std::vector<Align>& alignments() const { return align_; }

  // Absolute original byte range of the normalized byte range [start, end)
  // (tokenizers' convert_offsets(Range::Normalized) plus the shift).
  bool original_range(size_t start, size_t end, size_t& out_start, size_t& out_end) const;

  // Applies the changes to the normalized range [n_start, n_end) (all of it by default).
  void transform_range(size_t n_start, size_t n_end, const std::vector<CharChange>& dest,
                       size_t initial_offset);
  void transform(const std::vector<CharChange>& dest, size_t initial_offset);

  NormalizedString slice(size_t n_start, size_t n_end) const;
  std::vector<NormalizedString> split(const std::vector<Span>& matches,
                                      SplitBehavior behavior) const;

  void nfd();
  void nfkd();
  void nfc();
  void nfkc();
  void lowercase();
  template <typename Keep>
  void filter(Keep keep);
  template <typename Map>
  void map(Map fn);
  void prepend(std::string_view s);
  void append(std::string_view s);
  // Replaces each matched span (from find_matches) with `content`.
  void replace(const std::vector<Span>& matches, std::string_view content);
  void strip(bool left, bool right);

 private:
  // The normalized range that tokenizers' transform(Range::Original(..)) targets.
  void full_range(size_t& start, size_t& end) const;
  void decompose(bool compat, std::vector<CharChange>& out) const;

  std::string normalized_;
  std::vector<Align> align_;
  size_t orig_start_ = 0;
  size_t orig_end_ = 0;
};

// Splits of `text` around the chars for which pred is true (tokenizers' Pattern for Fn(char) ->
// bool).
template <typename Pred>
std::vector<Span> find_char_matches(const std::string& text, Pred pred);

}  // namespace hfjit::tokenizers

#include "hfjit/tokenizers/normalized_string_inl.h"
