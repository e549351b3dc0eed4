#pragma once
// Where a model lives: a local folder, or a hub id ("org/name") already in the
// local Hugging Face cache. Nothing is ever downloaded.

#include <string>
#include <vector>

namespace hfjit {

enum class WeightFormat { Safetensors, PytorchBin };

// The weight files of a model folder, in shard order.
struct WeightFiles {
  WeightFormat format = WeightFormat::Safetensors;
  std::vector<std::string> files;  // absolute or folder-relative paths, existing
  std::string index;               // the *.index.json when sharded, else empty
};

struct ModelDir {
  std::string path;      // the folder holding config.json
  std::string source;    // what the user typed
  std::string revision;  // for hub ids: the snapshot's commit hash
};

// The hub cache folders searched, in order: $HF_HUB_CACHE, $HF_HOME/hub,
// ~/.cache/huggingface/hub (those that are set).
std::vector<std::string> hub_cache_dirs();

// Resolves a folder or a cached hub id. `revision` (a branch name under
// refs/, or a commit hash) defaults to "main". Throws Error listing where it
// looked when not found.
ModelDir resolve_model(const std::string& model, const std::string& revision = "");

// Finds the weights: model.safetensors, model.safetensors.index.json,
// pytorch_model.bin, pytorch_model.bin.index.json (in that order of
// preference). Shard names that leave the folder are rejected.
WeightFiles find_weights(const std::string& dir);

}  // namespace hfjit
