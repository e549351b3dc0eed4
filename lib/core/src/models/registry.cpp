#include "hfjit/models/registry.h"

#include "hfjit/error.h"
#include "hfjit/families.h"
#include "hfjit/models/heads.h"

namespace hfjit::models {

// The family table with its parts functions bound: each row's
// HFJIT_PARTS(fn) becomes a call of hfjit::models::fn, which the family's
// own .cpp defines (declared here, in the lambda, so this file includes no
// family header; outside the anonymous namespace, so the declaration names
// hfjit::models::fn).
static const std::vector<Family>& bound_families() {
#define HFJIT_PARTS(fn)                                                     \
  [](const ModelConfig& config, const BuildOptions& options) {              \
    FamilyParts fn(const ModelConfig& config, const BuildOptions& options); \
    return fn(config, options);                                             \
  }
// Rows leave out the columns they do not use (designated initializers);
// GCC 12 warns about that under -Wextra.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
  static const std::vector<Family> all = {
#include "hfjit/family_table.inc"
  };
#pragma GCC diagnostic pop
#undef HFJIT_PARTS
  return all;
}

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

// The bound row for `model_type` (or an alias); Error when not built natively.
const Family& family(const std::string& model_type, const std::string& where) {
  const Family& row = family_for(model_type, where);
  for (const Family& f : bound_families())
    if (f.model_type == row.model_type) return f;
  throw Error("model type \"" + model_type + "\" has no constructor");  // unreachable: one table
}

}  // namespace

std::vector<std::string> supported_model_types() {
  return native_model_types();
}

std::vector<std::string> supported_tasks(const std::string& model_type) {
  return family(model_type, "config.json").task_names();
}

std::vector<std::string> input_names(const std::string& model_type) {
  return family(model_type, "config.json").inputs;
}

std::string task_for_architecture(const std::string& model_type, const std::string& architecture) {
  const Family& f = family(model_type, "config.json");
  if (std::optional<std::string> task = f.task_for(architecture, model_type)) return *task;
  throw Error("architecture \"" + architecture + "\" has no native " + model_type +
              " model; give one of its tasks: " + join(f.task_names()));
}

BuiltModel build_model(const ModelConfig& config, const Checkpoint& ckpt, const std::string& task,
                       const BuildOptions& options) {
  const Family& f = family(config.model_type, config.path);
  BuiltModel built;
  built.model_type = config.model_type;
  built.task = task;
  if (built.task.empty()) {
    if (config.architectures.empty())
      throw Error(context(
          config.path,
          "has no \"architectures\" to take the task from; give one of: " + join(f.task_names())));
    built.task = task_for_architecture(config.model_type, config.architectures[0]);
  }
  const std::optional<std::string> hf_class = f.hf_class(built.task, config.model_type);
  if (!hf_class)
    throw Error("task \"" + built.task + "\" is not supported for model type \"" +
                config.model_type + "\"; supported: " + join(f.task_names()));
  built.hf_class = *hf_class;

  LoadOptions load;
  load.dtype = options.dtype;
  load.strict = options.strict.value_or(config.architectures.empty() ||
                                        config.architectures[0] == built.hf_class);
  load.buffers = f.buffers;
  WeightLoader w(ckpt, load);
  const FamilyParts parts = f.parts(config, options);
  built.module =
      build_task_model(f, parts, built.task, built.hf_class, w, options.output_hidden_states);
  built.load = w.finish();
  built.module->eval();
  built.input_names = f.inputs;
  built.output_names = built.module->output_names();
  return built;
}

std::vector<at::Tensor> BuiltModel::forward(const std::vector<at::Tensor>& inputs) const {
  if (inputs.size() != input_names.size())
    throw Error(hf_class + " takes " + std::to_string(input_names.size()) + " inputs (" +
                join(input_names) + "), got " + std::to_string(inputs.size()));
  ModelInputs in;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (input_names[i] == "input_ids") in.input_ids = inputs[i];
    if (input_names[i] == "attention_mask") in.attention_mask = inputs[i];
    if (input_names[i] == "token_type_ids") in.token_type_ids = inputs[i];
    if (input_names[i] == "decoder_input_ids") in.decoder_input_ids = inputs[i];
  }
  return module->forward(in);
}

}  // namespace hfjit::models

namespace hfjit::models {

std::vector<at::Tensor> BuiltModel::forward_cached(const std::vector<at::Tensor>& inputs) const {
  if (inputs.size() != kCachedInputNames.size())
    throw Error(hf_class + "'s cached step takes " + std::to_string(kCachedInputNames.size()) +
                " inputs (" + join(kCachedInputNames) + "), got " + std::to_string(inputs.size()));
  return module->forward_cached({inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]});
}

}  // namespace hfjit::models
