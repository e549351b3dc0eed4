#pragma once
// Tied weights: tensors that are one tensor in the model (the input word
// embeddings and the output decoder of a language-model head, the shared
// embeddings of an encoder-decoder). TorchScript cannot share them, so
// hfjit clones them, as transformers' `torchscript=True` does.
//
// A group is tied either because its tensors share storage (a .bin or a .pt
// says so), or because transformers ties them implicitly: the config's
// tie_word_embeddings is true or absent, and the output key is missing from
// the checkpoint (save_pretrained drops it) or holds the same values.

#include <string>
#include <vector>

#include "hfjit/config.h"
#include "hfjit/families.h"
#include "hfjit/io/raw_checkpoint.h"

namespace hfjit {

struct TiedGroup {
  std::string source;              // the name whose values the group takes
  std::vector<std::string> names;  // every name in the group, source first
  std::vector<bool> present;       // whether each name is a tensor of the checkpoint
  std::string reason;              // "shared storage", or "implicit" (transformers ties it)
};

// The implicit ties transformers declares, by tensor name: every family's
// `ties` in the family table (families.h).
const std::vector<TieRule>& tie_rules();

// Needs no libtorch (hfjit::Checkpoint: pass ckpt.raw()).
std::vector<TiedGroup> find_tied_groups(const RawCheckpoint& ckpt, const ModelConfig& config);

}  // namespace hfjit
