#include "hfjit/tokenizers/decoders.h"

#include "hfjit/tokenizers/unicode.h"

namespace hfjit::tokenizers {

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  size_t pos = 0;
  for (size_t hit = s.find(from); hit != std::string::npos; hit = s.find(from, pos)) {
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  if (pos == 0) return;
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

std::string lossy_utf8(const std::string& bytes) {
  return sanitize_utf8(bytes);
}

}  // namespace

std::string Decoder::decode(std::vector<std::string> tokens) const {
  std::string out;
  for (const std::string& t : decode_chain(std::move(tokens))) out += t;
  return out;
}

std::string wordpiece_cleanup(const std::string& text) {
  std::string s = text;
  for (const auto& [from, to] : {std::pair<const char*, const char*>{" .", "."},
                                 {" ?", "?"},
                                 {" !", "!"},
                                 {" ,", ","},
                                 {" ' ", "'"},
                                 {" n't", "n't"},
                                 {" 'm", "'m"},
                                 {" do not", " don't"},
                                 {" 's", "'s"},
                                 {" 've", "'ve"},
                                 {" 're", "'re"}})
    replace_all(s, from, to);
  return s;
}

std::string clean_up_tokenization(const std::string& text) {
  std::string s = text;
  for (const auto& [from, to] : {std::pair<const char*, const char*>{" .", "."},
                                 {" ?", "?"},
                                 {" !", "!"},
                                 {" ,", ","},
                                 {" ' ", "'"},
                                 {" n't", "n't"},
                                 {" 'm", "'m"},
                                 {" 's", "'s"},
                                 {" 've", "'ve"},
                                 {" 're", "'re"}})
    replace_all(s, from, to);
  return s;
}

std::vector<std::string> WordPieceDecoder::decode_chain(std::vector<std::string> tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string& t = tokens[i];
    if (i != 0) {
      if (t.compare(0, prefix_.size(), prefix_) == 0)
        t.erase(0, prefix_.size());
      else
        t.insert(0, " ");
    }
    if (cleanup_) t = wordpiece_cleanup(t);
  }
  return tokens;
}

std::vector<std::string> ByteLevelDecoder::decode_chain(std::vector<std::string> tokens) const {
  std::string bytes;
  for (const std::string& t : tokens) {
    std::string mapped;
    bool ok = true;
    for (size_t i = 0; i < t.size() && ok;) {
      const int b = char_to_byte(next_char(t, i));
      if (b < 0)
        ok = false;
      else
        mapped.push_back(static_cast<char>(b));
    }
    bytes += ok ? mapped : t;
  }
  return {lossy_utf8(bytes)};
}

std::vector<std::string> MetaspaceDecoder::decode_chain(std::vector<std::string> tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string out;
    const std::string& t = tokens[i];
    for (size_t k = 0; k < t.size();) {
      const char32_t c = next_char(t, k);
      if (c == replacement_) {
        if (!(i == 0 && drop_first_)) out.push_back(' ');
      } else {
        append_utf8(out, c);
      }
    }
    tokens[i] = std::move(out);
  }
  return tokens;
}

std::vector<std::string> BpeDecoder::decode_chain(std::vector<std::string> tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i)
    replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  return tokens;
}

std::vector<std::string> ReplaceDecoder::decode_chain(std::vector<std::string> tokens) const {
  for (std::string& t : tokens) t = replace_->apply(t);
  return tokens;
}

std::vector<std::string> StripDecoder::decode_chain(std::vector<std::string> tokens) const {
  for (std::string& t : tokens) {
    const std::u32string chars = to_u32(t);
    size_t start_cut = 0;
    for (size_t i = 0; i < start_ && i < chars.size(); ++i) {
      if (chars[i] != content_) break;
      start_cut = i + 1;
    }
    size_t stop_cut = chars.size();
    for (size_t i = 0; i < stop_ && i < chars.size(); ++i) {
      const size_t index = chars.size() - i - 1;
      if (chars[index] != content_) break;
      stop_cut = index;
    }
    t = stop_cut > start_cut
            ? to_utf8(std::u32string_view(chars).substr(start_cut, stop_cut - start_cut))
            : "";
  }
  return tokens;
}

std::vector<std::string> FuseDecoder::decode_chain(std::vector<std::string> tokens) const {
  std::string all;
  for (const std::string& t : tokens) all += t;
  return {all};
}

std::vector<std::string> ByteFallbackDecoder::decode_chain(std::vector<std::string> tokens) const {
  std::vector<std::string> out;
  std::string pending;
  auto flush = [&]() {
    if (pending.empty()) return;
    if (find_invalid_utf8(pending) == std::string::npos) {
      out.push_back(pending);
    } else {
      for (size_t k = 0; k < pending.size(); ++k) out.push_back("\xEF\xBF\xBD");
    }
    pending.clear();
  };
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::string& t : tokens) {
    if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && hex(t[3]) >= 0 &&
        hex(t[4]) >= 0) {
      pending.push_back(static_cast<char>(hex(t[3]) * 16 + hex(t[4])));
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  return out;
}

std::vector<std::string> CtcDecoder::decode_chain(std::vector<std::string> tokens) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0 && tokens[i] == tokens[i - 1]) continue;
    std::string t = tokens[i];
    replace_all(t, pad_, "");
    if (cleanup_) {
      t = wordpiece_cleanup(t);
      replace_all(t, delimiter_, " ");
    }
    if (!t.empty()) out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> SequenceDecoder::decode_chain(std::vector<std::string> tokens) const {
  for (const auto& p : parts_) tokens = p->decode_chain(std::move(tokens));
  return tokens;
}

std::vector<std::string> SentencePieceDecoder::decode_chain(std::vector<std::string> tokens) const {
  return {sp_->decode(tokens)};
}

}  // namespace hfjit::tokenizers
