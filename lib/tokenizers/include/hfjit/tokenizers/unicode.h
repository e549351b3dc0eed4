#pragma once
// UTF-8 helpers and the character classes the Hugging Face `tokenizers` crate
// uses, each named after the Rust function or crate it mirrors. The classes of
// unicode_categories and unicode-normalization-alignments (is_punctuation,
// is_other, is_mark_nonspacing, is_combining_mark) come from tables read off
// tokenizers (lib/src/tokenizers/unicode_tables.h): those crates carry older
// Unicode data than utf8proc. The other categories and the normalization data
// come from utf8proc.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hfjit::tokenizers {

// Length of the UTF-8 sequence that starts with `lead` (1 for a stray byte).
inline size_t utf8_len(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

// Decodes the code point at s[i] (valid UTF-8) and advances i past it.
inline char32_t next_char(std::string_view s, size_t& i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  const size_t n = utf8_len(p[0]);
  i += n;
  switch (n) {
    case 1:
      return p[0];
    case 2:
      return (char32_t(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    case 3:
      return (char32_t(p[0] & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    default:
      return (char32_t(p[0] & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) |
             (char32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
  }
}

inline size_t utf8_size(char32_t c) {
  return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

inline void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (c >> 18)));
    out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

std::u32string to_u32(std::string_view s);
std::string to_utf8(std::u32string_view s);
size_t count_chars(std::string_view s);

// Offset of the first byte that starts an invalid UTF-8 sequence, or npos.
size_t find_invalid_utf8(std::string_view s);
// Replaces every maximal invalid subsequence with U+FFFD, as Python's
// bytes.decode("utf-8", "replace") does. Valid input comes back unchanged.
std::string sanitize_utf8(std::string_view s);

// Rust char::is_whitespace (the White_Space property).
bool is_whitespace(char32_t c);
// Rust char::is_ascii_punctuation.
inline bool is_ascii_punctuation(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E);
}
// unicode_categories' is_punctuation: any P* category (of its Unicode version, as all four below).
bool is_punctuation(char32_t c);
// unicode_categories' is_other: Cc, Cf or Co.
bool is_other(char32_t c);
// unicode_categories' is_mark_nonspacing: Mn.
bool is_mark_nonspacing(char32_t c);
// unicode-normalization's is_combining_mark: any M* category.
bool is_combining_mark(char32_t c);
// Rust char::is_numeric: Nd, Nl or No.
bool is_numeric(char32_t c);
// Rust regex's Unicode \w (Alphabetic, M, Nd, Pc, Join_Control).
bool is_word_char(char32_t c);
// The CJK ideograph blocks BERT isolates.
bool is_chinese_char(char32_t c);

// Rust char::to_lowercase: appends the lowercase of c (U+0130 gives two chars).
void append_lowercase(char32_t c, std::u32string& out);
// Python's str.isdigit is not needed; Rust's char::is_alphanumeric is not either.

int combining_class(char32_t c);
// Full canonical (or compatibility) decomposition of one code point, no reordering.
void decompose_char(char32_t c, bool compat, std::u32string& out);
// The primary composite of a + b, or 0.
char32_t compose_pair(char32_t a, char32_t b);
// True when there is an extended grapheme cluster boundary between a and b (stateful, UAX #29).
bool grapheme_break(char32_t a, char32_t b, int32_t* state);

}  // namespace hfjit::tokenizers

namespace hfjit::tokenizers {

// GPT-2's bytes_to_unicode: the printable char that stands for each byte.
char32_t byte_to_char(unsigned char b);
// The inverse: the byte a byte-level char stands for, or -1.
int char_to_byte(char32_t c);

}  // namespace hfjit::tokenizers
