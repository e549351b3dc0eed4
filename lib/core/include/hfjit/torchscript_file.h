#pragma once
// A TorchScript file (torch.jit.save's zip) with all of its extra files.
// torch::jit::load only returns the extra files it is asked for by name, so
// the names are read from the archive's directory first.

#include <torch/script.h>

#include <map>
#include <string>

namespace hfjit {

struct TorchScriptFile {
  torch::jit::Module module;
  std::map<std::string, std::string> extra_files;  // name (without "extra/") -> contents

  // Throws Error when the file is missing or not a TorchScript archive, or
  // (unless `trust`) when its code defines __setstate__: libtorch runs that
  // while loading, before any check of the graphs (graph_check.h) can look.
  static TorchScriptFile load(const std::string& path, bool trust = false);
  // Only the extra files, read from the archive without loading the module
  // (its weights stay on disk): `run --describe`, `run --tokenize`. The same
  // checks as load() that the file is a TorchScript archive.
  static std::map<std::string, std::string> read_extra_files(const std::string& path);
  // Saves atomically (temporary file in the same folder, then rename).
  void save(const std::string& path) const;
};

}  // namespace hfjit
