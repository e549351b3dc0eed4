#pragma once
// Pipeline: the parts of a Tokenizer (added vocabulary, normalizer,
// pre-tokenizer, model, post-processor, decoder, truncation and padding),
// and the encoding of one sequence through them, as `tokenizers`'
// TokenizerImpl does it.

#include <memory>
#include <optional>
#include <string_view>

#include "hfjit/tokenizer.h"
#include "hfjit/tokenizers/added_vocabulary.h"
#include "hfjit/tokenizers/decoders.h"
#include "hfjit/tokenizers/models.h"
#include "hfjit/tokenizers/normalizers.h"
#include "hfjit/tokenizers/post_processors.h"
#include "hfjit/tokenizers/pre_tokenizers.h"

namespace hfjit::tokenizers {

struct Pipeline {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  AddedVocabulary added;
  std::optional<TruncationParams> truncation;
  std::optional<PaddingParams> padding;
  SpecialTokenIds special;

  // One sequence (valid UTF-8) through added tokens, normalizer, pre-tokenizer and model.
  Encoding encode_sequence(std::string_view text, int64_t type_id) const;
  // Truncation, post-processing and padding.
  Encoding post_process(Encoding encoding, std::optional<Encoding> pair,
                        bool add_special_tokens) const;
};

}  // namespace hfjit::tokenizers
