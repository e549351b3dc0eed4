#pragma once
// `hfjit untie`: materialise tied weights as independent tensors.
//
// A model folder (or cached hub id) becomes a folder whose model.safetensors
// stores every tied tensor as its own bytes, with config.json saying
// tie_word_embeddings: false and torchscript: true, and every other file
// copied. A TorchScript .pt becomes a .pt whose shared parameters are cloned.

#include <cstdint>
#include <string>
#include <vector>

namespace hfjit {

struct UntieOptions {
  bool dry_run = false;  // report only, write nothing
  bool force = false;    // replace an existing output
  std::string revision;  // for hub ids
  bool trust = false;    // load a .pt whose code defines __setstate__ (torchscript_file.h)
};

struct UntiedTensor {
  std::string name;    // the tensor that now has its own bytes
  std::string source;  // the tensor it was tied to
  std::vector<int64_t> shape;
  std::string dtype;
  uint64_t bytes = 0;
  std::string reason;  // "shared storage", or "implicit" (transformers ties it)
};

struct UntieReport {
  std::string input;
  std::string output;
  std::string kind;  // "folder" or "torchscript"
  std::vector<UntiedTensor> untied;
  uint64_t bytes_written = 0;
  bool written = false;
  std::vector<std::string> notes;  // things the user should know (printed as warnings)
};

// A regular file is a TorchScript .pt; anything else a model folder or hub id.
UntieReport untie(const std::string& input, const std::string& output, const UntieOptions& opts);
// The two halves: untie_folder needs no libtorch (lib/src/untie_folder.cpp).
UntieReport untie_folder(const std::string& input, const std::string& output,
                         const UntieOptions& opts);
UntieReport untie_torchscript(const std::string& input, const std::string& output,
                              const UntieOptions& opts);
// Refuses an output that is the input, lies inside the input folder, exists
// (unless `force`), or sits in a missing or read-only folder.
void check_untie_output(const std::string& input, const std::string& output, bool force);

}  // namespace hfjit
