#pragma once
// Regex: a PCRE2 pattern (UTF, Unicode properties, JIT) with the semantics of
// the Oniguruma regexes `tokenizers` uses (`SysRegex`): Ruby-style ^ and $,
// Oniguruma's \s, \w and \h, and its way of stepping over empty matches.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hfjit/tokenizers/normalized_string.h"

namespace hfjit::tokenizers {

class Regex {
 public:
  // Throws hfjit::Error naming the pattern when it does not compile.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  const std::string& pattern() const { return pattern_; }
  // Every match as [start, end) byte offsets, left to right, non-overlapping.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  // tokenizers' Pattern::find_matches: the text cut into matched and unmatched spans.
  std::vector<Span> find_matches(std::string_view text) const;

 private:
  struct Impl;
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

// Escapes every regex metacharacter of `literal`.
std::string regex_escape(std::string_view literal);
// The Oniguruma pattern rewritten for PCRE2 (exposed for tests).
std::string onig_to_pcre2(const std::string& pattern);

// find_matches for a literal string (an escaped regex in tokenizers).
std::vector<Span> find_literal_matches(std::string_view text, std::string_view literal);

}  // namespace hfjit::tokenizers
