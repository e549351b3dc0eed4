#pragma once
// Builders of a Tokenizer's Pipeline from the files a model ships:
// tokenizer.json (any supported component), or the classic files, mirroring
// transformers' slow-to-fast converters (vocab.txt -> BERT, vocab.json +
// merges.txt -> GPT-2 / RoBERTa, spiece.model -> ALBERT / T5 and sentencepiece.bpe.model ->
// XLM-RoBERTa / CamemBERT as transformers 5 converts them; source.spm + vocab.json -> Marian).

#include <memory>
#include <string>

#include "hfjit/tokenizer.h"
#include "hfjit/tokenizers/pipeline.h"

namespace hfjit::tokenizers {

// tokenizer.json. Unknown component types are an Error naming them.
std::unique_ptr<Pipeline> pipeline_from_tokenizer_json(const std::string& json,
                                                       const std::string& origin);

// vocab.txt with tokenizer_config.json settings (do_lower_case, strip_accents,
// tokenize_chinese_chars): BERT's [CLS] A [SEP] B [SEP], or for MPNetTokenizer what transformers 5
// builds (its specials, <mask> with lstrip, <s> A </s></s> B </s> as RobertaProcessing).
std::unique_ptr<Pipeline> pipeline_from_wordpiece_files(const TokenizerFiles& files,
                                                        const std::string& origin);

// vocab.json + merges.txt: GPT-2 layout, or RoBERTa's for a RoBERTa-like tokenizer_class.
std::unique_ptr<Pipeline> pipeline_from_bpe_files(const TokenizerFiles& files,
                                                  const std::string& origin);

// A SentencePiece model file without tokenizer.json: for AlbertTokenizer / T5Tokenizer the
// `tokenizers` pipeline transformers 5 builds from the proto (Unigram, normalizers, Metaspace,
// [CLS] A [SEP] / A </s>), for XLMRobertaTokenizer / CamembertTokenizer the same with fairseq's
// ids (<s> <pad> </s> <unk> first, the pieces shifted, <mask> last; <s> A </s> </s> B </s>);
// for DebertaV2Tokenizer (and spm.model without a tokenizer_class) the class's own pipeline
// (Replace, NFC, Strip, Metaspace, [CLS] A [SEP] B [SEP]; the proto's charsmap unused);
// for LlamaTokenizer (tokenizer.model) a BPE with byte fallback over the pieces and the merges
// transformers generates from them (Metaspace, <s> A when add_bos_token);
// other tokenizer_class: the bare model through libsentencepiece.
std::unique_ptr<Pipeline> pipeline_from_sentencepiece_files(const TokenizerFiles& files,
                                                            const std::string& model_file,
                                                            const std::string& origin);

// Whether AutoTokenizer would build MarianTokenizer: tokenizer_config.json's tokenizer_class, else
// config.json's tokenizer_class or model_type marian, or no class named and source.spm or
// target.spm present.
bool is_marian(const TokenizerFiles& files, const std::string& origin);
// What transformers 5's MarianTokenizer does with source.spm, target.spm, vocab.json (and
// target_vocab.json with separate_vocabs) and tokenizer_config.json (see marian.h). Throws
// hfjit::Error naming a missing or malformed file.
std::unique_ptr<Pipeline> marian_pipeline(const TokenizerFiles& files, const std::string& origin);

// The bare SentencePiece model: its own ids, offsets and decoding, no special tokens.
std::unique_ptr<Tokenizer> sentencepiece_tokenizer(const std::string& proto,
                                                   const std::string& origin);

// Standard base64 (tokenizer.json's precompiled_charsmap). Throws on bad input.
std::string base64_decode(const std::string& text, const std::string& what);

}  // namespace hfjit::tokenizers
