#include "hfjit/tokenizers/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "hfjit/error.h"
#include "hfjit/tokenizers/unicode.h"

namespace hfjit::tokenizers {

namespace {

// Oniguruma's \s (Unicode White_Space), as class members.
constexpr const char* kSpaceMembers =
    "\\t\\n\\x{0B}\\f\\r "
    "\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";
// Oniguruma's Unicode \w: Letter, Mark, Decimal_Number, Connector_Punctuation.
constexpr const char* kWordMembers = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";
constexpr const char* kHexMembers = "0-9a-fA-F";

}  // namespace

std::string onig_to_pcre2(const std::string& p) {
  std::string out;
  out.reserve(p.size() + 32);
  int class_depth = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      const char* members = e == 's' || e == 'S'   ? kSpaceMembers
                            : e == 'w' || e == 'W' ? kWordMembers
                            : e == 'h' || e == 'H' ? kHexMembers
                                                   : nullptr;
      const bool negated = e == 'S' || e == 'W' || e == 'H';
      if (members && (class_depth == 0 || !negated)) {
        if (class_depth == 0) {
          out += negated ? "[^" : "[";
          out += members;
          out += "]";
        } else {
          out += members;
        }
      } else {
        out += c;
        out += e;
      }
      ++i;
      continue;
    }
    if (c == '[') {
      ++class_depth;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (c == ']' && class_depth > 0) --class_depth;
    out += c;
  }
  return out;
}

std::string regex_escape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}-#&~ ").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

struct Regex::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Impl() {
    if (code) pcre2_code_free(code);
  }
};

Regex::Regex(const std::string& pattern) : pattern_(pattern), impl_(std::make_unique<Impl>()) {
  const std::string translated = onig_to_pcre2(pattern);
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE | PCRE2_NO_UTF_CHECK, &err,
                              &err_offset, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    throw Error("regex '" + pattern + "' does not compile: " + reinterpret_cast<const char*>(msg) +
                " at offset " + std::to_string(err_offset));
  }
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() = default;

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  // One match block per thread, freed with the thread.
  struct FreeMatchData {
    void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
  };
  thread_local std::unique_ptr<pcre2_match_data, FreeMatchData> block(
      pcre2_match_data_create(16, nullptr));
  pcre2_match_data* md = block.get();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t last_end = 0;
  bool have_last_match = false;
  size_t last_match_end = 0;
  while (last_end <= text.size()) {
    const int rc =
        impl_->jit ? pcre2_jit_match(impl_->code, subject, text.size(), last_end, 0, md, nullptr)
                   : pcre2_match(impl_->code, subject, text.size(), last_end, PCRE2_NO_UTF_CHECK,
                                 md, nullptr);
    if (rc < 0) {
      if (rc == PCRE2_ERROR_NOMATCH) break;
      throw Error("regex '" + pattern_ + "': match failed (PCRE2 error " + std::to_string(rc) +
                  ")");
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t s = ov[0], e = ov[1];
    // Oniguruma's find_iter: an empty match right after the previous match is skipped.
    if (s == e && have_last_match && last_match_end == e) {
      last_end += last_end < text.size() ? utf8_len(static_cast<unsigned char>(text[last_end])) : 1;
      continue;
    }
    last_end = e;
    last_match_end = e;
    have_last_match = true;
    out.emplace_back(s, e);
  }
  return out;
}

std::vector<Span> Regex::find_matches(std::string_view text) const {
  std::vector<Span> out;
  if (text.empty()) {
    out.push_back({0, 0, false});
    return out;
  }
  size_t prev = 0;
  for (const auto& [s, e] : find_all(text)) {
    if (prev != s) out.push_back({prev, s, false});
    out.push_back({s, e, true});
    prev = e;
  }
  if (prev != text.size()) out.push_back({prev, text.size(), false});
  return out;
}

std::vector<Span> find_literal_matches(std::string_view text, std::string_view literal) {
  std::vector<Span> out;
  if (text.empty()) {
    out.push_back({0, 0, false});
    return out;
  }
  size_t prev = 0;
  if (!literal.empty()) {
    for (size_t pos = text.find(literal); pos != std::string_view::npos;
         pos = text.find(literal, pos)) {
      if (prev != pos) out.push_back({prev, pos, false});
      out.push_back({pos, pos + literal.size(), true});
      pos += literal.size();
      prev = pos;
    }
  }
  if (prev != text.size()) out.push_back({prev, text.size(), false});
  return out;
}

}  // namespace hfjit::tokenizers
