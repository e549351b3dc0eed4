#pragma once
// The registry: config.json's model_type plus a task select the native model,
// through the family table (hfjit/families.h, rows in family_table.inc): its
// row names the transformers class for the task and the family's parts
// function; the model is built from those parts and the generic heads
// (heads.h).
//
// Without a task, the task comes from architectures[0]: *Model is
// feature-extraction, *ForMaskedLM (and BERT's / ALBERT's *ForPreTraining)
// fill-mask, *ForSequenceClassification text-classification, ... See
// docs/models.md for every family and output.

#include <memory>
#include <string>
#include <vector>

#include "hfjit/checkpoint.h"
#include "hfjit/config.h"
#include "hfjit/models/model.h"
#include "hfjit/weights.h"

namespace hfjit::models {

struct BuiltModel {
  std::shared_ptr<Model> module;         // in eval mode, weights owned (no views of the checkpoint)
  std::string model_type;                // "bert"
  std::string task;                      // "fill-mask"
  std::string hf_class;                  // "BertForMaskedLM"
  std::vector<std::string> input_names;  // forward's tensors, in order
  std::vector<std::string> output_names;
  LoadReport load;  // what the weights loader consumed, tied, skipped

  // Runs the model with tensors in input_names order.
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& inputs) const;
  // A text-generation model's static-cache step (Model::forward_cached) with
  // tensors in kCachedInputNames order; returns {logits [batch, vocab], cache}.
  std::vector<at::Tensor> forward_cached(const std::vector<at::Tensor>& inputs) const;
};

// The arguments of a static-cache step (CachedInputs), in order, and its outputs.
inline const std::vector<std::string> kCachedInputNames = {
    "input_ids", "attention_mask", "position_ids", "cache_position", "cache"};
inline const std::vector<std::string> kCachedOutputNames = {"logits", "cache"};

// Builds the model for `task` ("" = from architectures[0]) and loads its
// weights from `ckpt`. Throws Error for an unknown model type, a task the family
// lacks (both listing what is supported), an architecture with no task, and
// LoadError when the weights do not fit.
BuiltModel build_model(const ModelConfig& config, const Checkpoint& ckpt,
                       const std::string& task = "", const BuildOptions& options = {});

// The task transformers' `architectures[0]` class performs; Error when the
// family has no such class.
std::string task_for_architecture(const std::string& model_type, const std::string& architecture);

std::vector<std::string> supported_model_types();
// Throws Error listing the supported model types when `model_type` is unknown.
std::vector<std::string> supported_tasks(const std::string& model_type);
// The tensors forward takes for a model type, in order.
std::vector<std::string> input_names(const std::string& model_type);

}  // namespace hfjit::models
