#pragma once
// What `hfjit run` answers: one typed result per input, a struct per task.
// Each to_json() gives the JSON the CLI prints with --json: the shape and key
// order of the Hugging Face pipeline's answer for one input (docs/run.md).
// Scores are float where the pipeline computes in float32 (numpy), double
// where it adds in Python floats (question answering).

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

namespace hfjit {

// fill-mask: one candidate for a mask. {"score", "token", "token_str", "sequence"}
struct FillMaskCandidate {
  float score = 0;        // softmax probability over the vocabulary
  int64_t token = 0;      // the candidate's id
  std::string token_str;  // the candidate, decoded
  std::string sequence;   // the input with this candidate in the mask's place, decoded
  nlohmann::ordered_json to_json() const;
};

// fill-mask: the top-k candidates of each mask, best first. JSON: the list for
// one mask, a list of lists when the input has several.
struct FillMaskResult {
  std::vector<std::vector<FillMaskCandidate>> masks;
  nlohmann::ordered_json to_json() const;
};

// text-classification: a label and its score. {"label", "score"}
struct ClassificationLabel {
  std::string label;
  float score = 0;  // softmax, sigmoid or the raw logit (regression)
  nlohmann::ordered_json to_json() const;
};

// text-classification: the best label, or the top-k best first (--top-k).
// JSON: a list, or the one object for a text pair without --top-k (as the pipeline).
struct ClassificationResult {
  std::vector<ClassificationLabel> labels;
  bool single_object = false;
  nlohmann::ordered_json to_json() const;
};

// token-classification: a token (aggregation none): {"entity", "score", "index",
// "word", "start", "end"}; or a group of tokens (other aggregations):
// {"entity_group", "score", "word", "start", "end"}. start and end count code
// points of the input text.
struct TokenEntity {
  bool grouped = false;
  std::string entity;  // the label; for a group, without its B-/I- prefix
  float score = 0;
  int64_t index = 0;  // the token's position in the encoding (not for groups)
  std::string word;
  size_t start = 0, end = 0;
  nlohmann::ordered_json to_json() const;
};

// token-classification: the entities of an input, in text order (a JSON list).
struct TokenClassificationResult {
  std::vector<TokenEntity> entities;
  nlohmann::ordered_json to_json() const;
};

// question-answering: a span of the context. {"score", "start", "end", "answer"};
// start and end count code points of the context.
struct Answer {
  double score = 0;
  size_t start = 0, end = 0;
  std::string answer;
  nlohmann::ordered_json to_json() const;
};

// question-answering: the top-k answers, best first. JSON: one answer is the
// object itself, any other number a list.
struct QuestionAnsweringResult {
  std::vector<Answer> answers;
  nlohmann::ordered_json to_json() const;
};

// feature-extraction: the last hidden state of each real token.
// {"embedding": [[...] per token]}
struct TokenEmbeddings {
  std::vector<std::vector<float>> tokens;
  nlohmann::ordered_json to_json() const;
};

// sentence-embedding: one pooled (and maybe normalized) vector. {"embedding": [...]}
struct Embedding {
  std::vector<float> vector;
  nlohmann::ordered_json to_json() const;
};

// text-generation: the prompt and its continuation. [{"generated_text"}]
struct Generation {
  std::string generated_text;
  nlohmann::ordered_json to_json() const;
};

// translation, summarization, text2text-generation: the generated texts, best
// first (one unless --num-return-sequences), under the pipeline's key:
// [{"translation_text"}], [{"summary_text"}] or [{"generated_text"}].
// Beside the JSON: each text's token ids (the decoder start token first, as
// generate returns them, padded to the batch's longest) and, for beam search,
// its score (generate's sequences_scores).
struct TextToText {
  std::string key;
  std::vector<std::string> texts;
  std::vector<std::vector<int64_t>> sequences;
  std::vector<float> scores;
  nlohmann::ordered_json to_json() const;
};

// The answer for one input; the alternative is fixed by the task.
using RunResult =
    std::variant<FillMaskResult, ClassificationResult, TokenClassificationResult,
                 QuestionAnsweringResult, TokenEmbeddings, Embedding, Generation, TextToText>;

nlohmann::ordered_json to_json(const RunResult& result);
// to_json() as one line, without the newline; invalid UTF-8 replaced by U+FFFD.
std::string to_json_line(const RunResult& result);

}  // namespace hfjit
