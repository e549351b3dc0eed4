#pragma once
// hfjit::Error is what every library function throws when an input is bad:
// a file, tensor, key or argument. The message is one line and names the
// culprit; the CLI prints it as "hfjit: error: <message>" and exits 1.

#include <stdexcept>
#include <string>

namespace hfjit {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A verification failure (trace differs from eager): the CLI exits 3.
class VerifyError : public Error {
 public:
  explicit VerifyError(const std::string& message) : Error(message) {}
};

// Joins a path-like context and a message: "file.safetensors: header is not JSON".
std::string context(const std::string& where, const std::string& what);

// The first line of a (libtorch) message that says something: libtorch's
// messages may open with blank lines or a bare "\n" before the reason, and end
// in a C++ backtrace or a source excerpt. Trimmed; never empty ("(no message)").
std::string first_line(const std::string& message);

}  // namespace hfjit
