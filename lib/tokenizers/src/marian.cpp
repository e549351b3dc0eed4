#include "hfjit/tokenizers/marian.h"

#include "hfjit/tokenizers/unicode.h"

namespace hfjit::tokenizers {

namespace {

// Python's str.isspace() (what str.strip() removes): bidirectional class WS, B or S, or Zs.
bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

std::string python_strip(const std::string& s) {
  const std::u32string u = to_u32(s);
  size_t b = 0, e = u.size();
  while (b < e && is_python_space(u[b])) ++b;
  while (e > b && is_python_space(u[e - 1])) --e;
  return to_utf8(std::u32string_view(u).substr(b, e - b));
}

}  // namespace

MarianModel::MarianModel(std::shared_ptr<const SpmProcessor> source_spm, Vocab encoder,
                         const Vocab& decoder, const SpmProcessor& decode_spm, uint32_t unk_id)
    : spm_(std::move(source_spm)), encoder_(std::move(encoder)), unk_id_(unk_id) {
  for (auto& [token, id] : decoder.entries()) decoder_[id] = token;
  spm_pieces_.reserve(decode_spm.piece_size());
  for (int i = 0; i < decode_spm.piece_size(); ++i)
    spm_pieces_.push_back(decode_spm.id_to_piece(i));
}

// MarianTokenizer._tokenize (remove_language_code, then the source model's pieces) and
// _convert_token_to_id (vocab.json, else <unk>).
void MarianModel::tokenize(std::string_view sequence, std::vector<Token>& out) const {
  size_t code = 0;
  if (sequence.starts_with(">>"))
    if (const size_t end = sequence.find("<<"); end != std::string_view::npos) code = end + 2;
  if (code) {
    const std::string_view c = sequence.substr(0, code);
    out.push_back({encoder_.find(c).value_or(unk_id_), std::string(c), 0, code});
  }
  std::vector<SpmPiece> pieces;
  spm_->encode_pieces(sequence.substr(code), pieces);
  for (SpmPiece& p : pieces)
    out.push_back({encoder_.find(p.piece).value_or(unk_id_), std::move(p.piece), code + p.begin,
                   code + p.end});
}

const std::string* MarianModel::id_to_token(uint32_t id) const {
  if (auto it = decoder_.find(id); it != decoder_.end()) return &it->second;
  return id < spm_pieces_.size() ? &spm_pieces_[id] : nullptr;
}

// build_inputs_with_special_tokens (A </s>, A B </s>), create_token_type_ids_from_sequences (its
// "bert_style": the first len(A </s>) tokens 0, the rest 1) and get_special_tokens_mask (the
// special tokens in the text but <unk>, and </s>; all 0 without special tokens).
std::vector<Encoding> MarianPostProcessor::process_encodings(std::vector<Encoding> encodings,
                                                             bool add_special_tokens) const {
  for (Encoding& e : encodings) std::fill(e.type_ids.begin(), e.type_ids.end(), 0);
  if (!add_special_tokens) return encodings;
  for (Encoding& e : encodings)
    for (size_t i = 0; i < e.size(); ++i) e.special_tokens_mask[i] = mask_ids_.count(e.ids[i]);
  Encoding eos;
  eos.ids = {eos_id_};
  eos.type_ids = {0};
  eos.tokens = {eos_token_};
  eos.offsets = {{0, 0}};
  eos.special_tokens_mask = {1};
  eos.attention_mask = {1};
  eos.word_ids = {-1};
  if (encodings.size() == 2 && encodings[1].size() > 0) {
    std::fill(encodings[1].type_ids.begin() + 1, encodings[1].type_ids.end(), 1);
    eos.type_ids = {1};
  }
  encodings.push_back(std::move(eos));
  return encodings;
}

// MarianTokenizer.convert_tokens_to_string.
std::vector<std::string> MarianDecoder::decode_chain(std::vector<std::string> tokens) const {
  std::string out;
  std::vector<std::string> pieces;
  for (std::string& t : tokens) {
    if (special_.count(t)) {
      out += spm_->decode(pieces) + t + " ";
      pieces.clear();
    } else {
      pieces.push_back(std::move(t));
    }
  }
  out += spm_->decode(pieces);
  std::string spaced;
  for (size_t i = 0; i < out.size();) {
    if (out.compare(i, 3, "\xE2\x96\x81") == 0) {
      spaced += ' ';
      i += 3;
    } else {
      spaced += out[i++];
    }
  }
  return {python_strip(spaced)};
}

}  // namespace hfjit::tokenizers
