#pragma once
// The inputs of `hfjit run`: a RunInput is one text (or pair, or question and
// context); an InputSource yields them one at a time from TEXT arguments, a
// file or standard input, so a file of any length runs in constant memory.
//
// A line of a file is a plain text, or, when it starts with '{', a JSON object:
// {"text"[, "text_pair"]} or {"question", "context"}. Errors name the input:
// "in.jsonl:3: malformed JSON line (...)".

#include <fstream>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hfjit {

struct RunInput {
  std::string text;                      // the text; the context for question answering
  std::optional<std::string> text_pair;  // second sequence (text-classification)
  std::optional<std::string> question;   // question answering
  std::string where;                     // "in.jsonl:3", "argument 1": named in errors and warnings
};

struct InputOptions {
  std::vector<std::string> texts;  // TEXT arguments, each one input as it is
  std::string input;               // or a file of lines; "-" for standard input
  std::string question;            // question-answering: the question for every text and plain line
};

class InputSource {
 public:
  // Throws Error: texts and a file both, or neither; a file that cannot be opened.
  explicit InputSource(const InputOptions& options);
  // The lines of `stream`, named `name` in errors.
  InputSource(std::istream& stream, std::string name, std::string question = "");

  // The next input; false after the last. Throws Error: a read error, a file
  // without lines, a malformed JSON line (naming the line).
  bool next(RunInput& in);

 private:
  std::vector<std::string> texts_;
  std::string question_;
  std::unique_ptr<std::ifstream> file_;
  std::istream* stream_ = nullptr;  // null: the texts
  std::string name_;
  size_t arg_ = 0, line_no_ = 0, count_ = 0;
};

// One line of an input file as an input (see above); `where` names it in errors.
RunInput parse_input_line(const std::string& line, const std::string& where);

}  // namespace hfjit
