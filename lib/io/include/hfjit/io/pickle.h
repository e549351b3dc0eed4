#pragma once
// A restricted unpickler for the data.pkl of a torch.save archive, in the
// spirit of torch.load(weights_only=True): it understands only what a state
// dict needs (dicts, OrderedDict, tuples, numbers, strings, storages by
// persistent id, torch._utils._rebuild_tensor_v2 / _rebuild_parameter).
// Any other global is an error naming it; nothing is ever executed.

#include <cstdint>
#include <string>
#include <vector>

#include "hfjit/io/dtype.h"

namespace hfjit {

// One tensor of a pickled state dict: a strided view of a storage, which is
// the archive record "<prefix>/data/<storage_key>".
struct PickledTensor {
  std::string name;
  std::string storage_key;
  DType dtype;
  uint64_t storage_numel = 0;
  int64_t offset = 0;  // in elements
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;
};

struct PickleLimits {
  uint64_t max_values = 1u << 22;  // objects created while unpickling
  uint64_t max_stack = 1u << 20;   // stack + mark depth
  uint64_t max_string = 1u << 24;  // bytes of one string
  uint64_t max_dims = 64;          // tensor rank
};

// Parses a state dict {name: tensor}. Throws Error naming `where` (and the
// global or opcode at fault). In order of appearance.
std::vector<PickledTensor> unpickle_state_dict(const uint8_t* data, size_t size,
                                               const std::string& where,
                                               const PickleLimits& limits = {});

}  // namespace hfjit
