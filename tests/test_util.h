#pragma once
// Helpers shared by the tests: temporary folders, file bytes, and running the CLI.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hfjit::test {

// A fresh folder under the system temp dir, removed at scope exit.
class TempFolder {
 public:
  TempFolder();
  ~TempFolder();
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::string fixture(const std::string& relative);
std::vector<uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::string& bytes);
// A safetensors image from a header JSON and `data_size` bytes of data.
std::string safetensors_image(const std::string& header_json, size_t data_size);
// Every file under a folder with its size and modification time, to check inputs are untouched.
std::string tree_fingerprint(const std::string& dir);

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};
// Runs build/hfjit with `args` (shell-quoted here), capturing stdout and stderr.
CliResult run_cli(const std::vector<std::string>& args, const std::string& env = "");
// The same for any program.
CliResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const std::string& env = "");

}  // namespace hfjit::test
