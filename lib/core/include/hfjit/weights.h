#pragma once
// WeightLoader: a checkpoint's tensors looked up by scoped Hugging Face name, in
// the style of candle's VarBuilder:
//
//   WeightLoader w(ckpt);
//   at::Tensor q = w.sub("encoder").sub("layer").sub(0)
//                      .tensor("attention.self.query.weight", {hidden, hidden});
//
// Each tensor handed out is an owned, contiguous copy in the loader's dtype
// (fp32 unless asked otherwise), never a view of the checkpoint's mapping. The
// loader records every key it consumed, so finish() ends with the exact lists of
// missing and unexpected keys, and throws LoadError when either is not empty.
//
// Name variants are resolved as transformers' from_pretrained resolves them:
// - the base-model prefix: base("bert") reads "bert.embeddings..." from a head
//   checkpoint and "embeddings..." from a BertModel checkpoint, and
//   base_alone("bert") does the reverse for a bare BertModel;
// - old LayerNorm names: a key with "beta" reads as "bias", one with "gamma" as
//   "weight" (HF's _fix_key);
// - non-persistent buffers that old versions saved (LoadOptions::buffers, e.g.
//   "embeddings.position_ids", "attn.bias") are ignored;
// - tied weights: tied() hands out a clone of the source tensor, since a trace
//   cannot share tensors.

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "hfjit/checkpoint.h"
#include "hfjit/error.h"

namespace hfjit {

struct LoadOptions {
  // Floating-point tensors (F16, BF16, F32, F64) are converted to this dtype.
  at::ScalarType dtype = at::kFloat;
  // When false, checkpoint keys outside the base model (another head's weights,
  // e.g. cls.seq_relationship.* when building BertForMaskedLM from
  // BertForPreTraining) are reported as unused instead of unexpected.
  bool strict = true;
  // Key suffixes of buffers transformers never loads: a key equal to one, or
  // ending in "." + one, is ignored.
  std::vector<std::string> buffers;
};

struct LoadReport {
  std::vector<std::string> missing;     // model names the checkpoint lacks
  std::vector<std::string> unexpected;  // checkpoint keys the model has no place for
  std::vector<std::string> unused;      // checkpoint keys knowingly left out (skip(), another head)
  std::vector<std::string> ignored;     // checkpoint keys that are transformers buffers
  std::vector<std::pair<std::string, std::string>> tied;  // {model name, cloned from model name}
  size_t loaded = 0;                                      // tensors copied from the checkpoint
};

// A checkpoint that does not fit the model; what() names at most 20 keys of
// each list, report holds them all.
class LoadError : public Error {
 public:
  LoadError(const std::string& message, LoadReport r) : Error(message), report(std::move(r)) {}
  LoadReport report;
};

class WeightLoader {
 public:
  explicit WeightLoader(const Checkpoint& ckpt, LoadOptions options = {});

  // A scope one level down: sub("encoder").sub("layer").sub(3).
  WeightLoader sub(const std::string& name) const;
  WeightLoader sub(int64_t index) const;
  // The scope of a head model's base model, registered under `prefix` in the
  // model ("bert"): read from "<prefix>." when the checkpoint has that prefix,
  // from the checkpoint's root when it holds a bare base model.
  WeightLoader base(const std::string& prefix) const;
  // The scope for a base model built on its own: the checkpoint's "<prefix>."
  // when the checkpoint was saved from a head model, else its root.
  WeightLoader base_alone(const std::string& prefix) const;

  // Whether the checkpoint has `name` in this scope.
  bool contains(const std::string& name) const;
  // An owned contiguous copy of `name`, checked against `shape`. A wrong shape
  // throws Error naming the tensor and both shapes; an absent tensor is recorded
  // as missing (finish() reports it) and zeros are returned meanwhile.
  at::Tensor tensor(const std::string& name, at::IntArrayRef shape) const;
  // The first of `names` present (later ones present are aliases of it, such as
  // "bias" and "decoder.bias" of an LM head, and count as consumed).
  at::Tensor first_of(const std::vector<std::string>& names, at::IntArrayRef shape) const;
  // A tied weight (an LM decoder tied to the input embeddings). With `tie`, a
  // clone of `source` (whose model name is `source_name`); the checkpoint's copy,
  // if any, is consumed and not read, as transformers overwrites it when tying.
  // Without `tie`, the same as tensor(name, shape).
  at::Tensor tied(const std::string& name, at::IntArrayRef shape, const at::Tensor& source,
                  const std::string& source_name, bool tie) const;
  // Marks every key under `name` as knowingly unused (a pooler the model leaves out).
  void skip(const std::string& name) const;

  // The model's name for `name` in this scope ("bert.encoder.layer.0." + name).
  std::string model_name(const std::string& name) const;
  at::ScalarType dtype() const;

  // The report of everything loaded so far; throws LoadError when something is
  // missing or unexpected. Call once, after the whole model is built.
  LoadReport finish() const;

 private:
  struct State;
  WeightLoader(std::shared_ptr<State> state, std::string model_scope, std::string ckpt_scope)
      : state_(std::move(state)),
        model_scope_(std::move(model_scope)),
        ckpt_scope_(std::move(ckpt_scope)) {}
  // The checkpoint key of `name` in this scope, or nullptr.
  const std::string* find(const std::string& name) const;
  at::Tensor copy(const std::string& key, at::IntArrayRef shape) const;

  std::shared_ptr<State> state_;
  std::string model_scope_;  // "" or ends with "."
  std::string ckpt_scope_;   // "" or ends with "."
};

}  // namespace hfjit
