// InputSource: TEXT arguments, or the lines of a file or standard input,
// plain or JSON.

#include "hfjit/run/input.h"

#include <cerrno>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "hfjit/error.h"

namespace hfjit {

InputSource::InputSource(const InputOptions& options)
    : texts_(options.texts), question_(options.question) {
  if (!options.input.empty() && !options.texts.empty())
    throw Error("give TEXT arguments or --input, not both");
  if (options.input.empty() && options.texts.empty())
    throw Error("no input: give TEXT arguments or --input FILE (- for standard input)");
  if (options.input == "-") {
    stream_ = &std::cin;
    name_ = "<stdin>";
  } else if (!options.input.empty()) {
    file_ = std::make_unique<std::ifstream>(options.input, std::ios::binary);
    if (!*file_)
      throw Error(
          context(options.input, std::string("cannot open --input: ") + std::strerror(errno)));
    stream_ = file_.get();
    name_ = options.input;
  }
}

InputSource::InputSource(std::istream& stream, std::string name, std::string question)
    : question_(std::move(question)), stream_(&stream), name_(std::move(name)) {}

bool InputSource::next(RunInput& in) {
  if (!stream_) {
    if (arg_ >= texts_.size()) return false;
    in = RunInput{};
    in.text = texts_[arg_];
    in.where = "argument " + std::to_string(arg_ + 1);
    if (!question_.empty()) in.question = question_;
    ++arg_;
    ++count_;
    return true;
  }
  std::string line;
  if (!std::getline(*stream_, line)) {
    if (stream_->bad()) throw Error(context(name_, "read failed"));
    if (count_ == 0) throw Error(context(name_, "empty input (no lines)"));
    return false;
  }
  ++line_no_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  in = parse_input_line(line, name_ + ":" + std::to_string(line_no_));
  if (!question_.empty() && !in.question) in.question = question_;
  ++count_;
  return true;
}

RunInput parse_input_line(const std::string& line, const std::string& where) {
  RunInput in;
  in.where = where;
  const size_t first = line.find_first_not_of(" \t");
  if (first == std::string::npos || line[first] != '{') {
    in.text = line;
    return in;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    const std::string msg = e.what();
    const auto colon = msg.find(": ");
    throw Error(where + ": malformed JSON line (" +
                (colon == std::string::npos ? msg : msg.substr(colon + 2)) + ")");
  }
  auto str = [&](const char* key) -> std::optional<std::string> {
    if (!j.contains(key)) return std::nullopt;
    if (!j[key].is_string()) throw Error(where + ": \"" + key + "\" must be a string");
    return j[key].get<std::string>();
  };
  const auto text = str("text"), pair = str("text_pair"), question = str("question"),
             ctx = str("context");
  if (question || ctx) {
    if (!question) throw Error(where + ": a context without a question");
    if (!ctx) throw Error(where + ": a question without a context");
    in.question = *question;
    in.text = *ctx;
  } else if (text) {
    in.text = *text;
    in.text_pair = pair;
  } else {
    throw Error(
        where +
        ": a JSON line needs \"text\" (and \"text_pair\"), or \"question\" and \"context\"");
  }
  return in;
}

}  // namespace hfjit
