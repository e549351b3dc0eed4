#pragma once
// A Triton Inference Server model repository for an hfjit artifact
// (docs/serving.md): REPO/<name>/config.pbtxt for Triton's PyTorch (libtorch)
// backend, REPO/<name>/1/model.pt, and the artifact's tokenizer files beside
// them for clients. No server of our own.

#include <string>

#include "hfjit/io/artifact_meta.h"

namespace hfjit {

struct TritonOptions {
  std::string repo;    // the model repository folder (made if missing)
  std::string name;    // the model's folder and name; "" = the artifact's file name without .pt
  int instances = 1;   // instance_group { kind: KIND_CPU count: instances }
  bool force = false;  // replace REPO/<name> if it exists
};

// The model's name for `pt` under `o` (o.name, or pt's stem).
std::string triton_model_name(const TritonOptions& o, const std::string& pt);

// Checks the options before any work (trace calls it before tracing): a
// name Triton accepts as a folder, at least one instance, and REPO/<name>
// absent unless force. Throws Error naming what is wrong.
void check_triton_options(const TritonOptions& o, const std::string& pt);

// config.pbtxt for an artifact with metadata `meta`: platform
// pytorch_libtorch; inputs by forward's argument names (TYPE_INT64); a static
// trace with max_batch_size 0 and the full traced dims; a --dynamic one with
// max_batch_size = its batch size, the sequence dimension -1 and
// dynamic_batching; outputs named <name>__<index>.
std::string triton_config(const ArtifactMeta& meta, const std::string& name, int instances);

// Writes the repository entry for the hfjit artifact `pt` (atomically: a
// temporary folder renamed into place); returns REPO/<name>.
std::string write_triton_repo(const std::string& pt, const TritonOptions& o);

}  // namespace hfjit
