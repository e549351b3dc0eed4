#include "hfjit/models/registry.h"

#include <algorithm>
#include <functional>

#include "hfjit/error.h"
#include "hfjit/models/albert.h"
#include "hfjit/models/bert.h"
#include "hfjit/models/distilbert.h"
#include "hfjit/models/electra.h"
#include "hfjit/models/gpt2.h"
#include "hfjit/models/roberta.h"

namespace hfjit::models {

namespace {

using Maker = std::function<std::shared_ptr<Model>(const std::string&, const ModelConfig&,
                                                   const WeightLoader&, const BuildOptions&)>;

struct TaskClass {
  std::string task;
  std::string hf_class;
};

struct Family {
  std::string model_type;
  std::vector<std::string> inputs;
  // Buffers transformers never loads that old checkpoints may hold.
  std::vector<std::string> buffers;
  std::vector<TaskClass> tasks;    // what we build, sorted by task
  std::vector<TaskClass> aliases;  // other architectures and the task that serves them
  Maker make;
};

const std::vector<std::string> kEncoderInputs = {"input_ids", "attention_mask", "token_type_ids"};
const std::vector<std::string> kNoTypeInputs = {"input_ids", "attention_mask"};
const std::vector<std::string> kEncoderBuffers = {"embeddings.position_ids",
                                                  "embeddings.token_type_ids"};

std::vector<TaskClass> encoder_tasks(const std::string& prefix) {
  return {{"feature-extraction", prefix + "Model"},
          {"fill-mask", prefix + "ForMaskedLM"},
          {"question-answering", prefix + "ForQuestionAnswering"},
          {"text-classification", prefix + "ForSequenceClassification"},
          {"token-classification", prefix + "ForTokenClassification"}};
}

const std::vector<Family>& families() {
  static const std::vector<Family> all = [] {
    std::vector<Family> f;
    f.push_back({"albert",
                 kEncoderInputs,
                 kEncoderBuffers,
                 encoder_tasks("Albert"),
                 {{"fill-mask", "AlbertForPreTraining"}},
                 make_albert});
    f.push_back({"bert",
                 kEncoderInputs,
                 kEncoderBuffers,
                 encoder_tasks("Bert"),
                 {{"fill-mask", "BertForPreTraining"}},
                 make_bert});
    f.push_back({"distilbert",
                 kNoTypeInputs,
                 {"embeddings.position_ids"},
                 encoder_tasks("DistilBert"),
                 {},
                 make_distilbert});
    std::vector<TaskClass> electra = encoder_tasks("Electra");
    electra.insert(electra.begin() + 3, {"replaced-token-detection", "ElectraForPreTraining"});
    f.push_back({"electra", kEncoderInputs, kEncoderBuffers, electra, {}, make_electra});
    f.push_back(
        {"gpt2",
         kNoTypeInputs,
         {"attn.bias", "attn.masked_bias", "crossattention.bias", "crossattention.masked_bias"},
         {{"feature-extraction", "GPT2Model"},
          {"question-answering", "GPT2ForQuestionAnswering"},
          {"text-classification", "GPT2ForSequenceClassification"},
          {"text-generation", "GPT2LMHeadModel"},
          {"token-classification", "GPT2ForTokenClassification"}},
         {{"text-generation", "GPT2DoubleHeadsModel"}},
         make_gpt2});
    // RoBERTa's tokenizer gives no token types (its one type embedding is read with zeros).
    f.push_back(
        {"roberta", kNoTypeInputs, kEncoderBuffers, encoder_tasks("Roberta"), {}, make_roberta});
    return f;
  }();
  return all;
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

const Family& family(const std::string& model_type, const std::string& where) {
  for (const Family& f : families())
    if (f.model_type == model_type) return f;
  throw Error(context(where, "model type \"" + model_type + "\" is not supported; supported: " +
                                 join(supported_model_types())));
}

std::vector<std::string> tasks_of(const Family& f) {
  std::vector<std::string> tasks;
  for (const auto& t : f.tasks) tasks.push_back(t.task);
  return tasks;
}

}  // namespace

std::vector<std::string> supported_model_types() {
  std::vector<std::string> types;
  for (const Family& f : families()) types.push_back(f.model_type);
  return types;
}

std::vector<std::string> supported_tasks(const std::string& model_type) {
  return tasks_of(family(model_type, "config.json"));
}

std::vector<std::string> input_names(const std::string& model_type) {
  return family(model_type, "config.json").inputs;
}

std::string task_for_architecture(const std::string& model_type, const std::string& architecture) {
  const Family& f = family(model_type, "config.json");
  for (const auto& t : f.tasks)
    if (t.hf_class == architecture) return t.task;
  for (const auto& t : f.aliases)
    if (t.hf_class == architecture) return t.task;
  throw Error("architecture \"" + architecture + "\" has no native " + model_type +
              " model; give one of its tasks: " + join(tasks_of(f)));
}

BuiltModel build_model(const ModelConfig& config, const Checkpoint& ckpt, const std::string& task,
                       const BuildOptions& options) {
  const Family& f = family(config.model_type, config.path);
  BuiltModel built;
  built.model_type = f.model_type;
  built.task = task;
  if (built.task.empty()) {
    if (config.architectures.empty())
      throw Error(context(config.path,
                          "has no \"architectures\" to take the task from; give one "
                          "of: " +
                              join(tasks_of(f))));
    built.task = task_for_architecture(f.model_type, config.architectures[0]);
  }
  auto it = std::find_if(f.tasks.begin(), f.tasks.end(),
                         [&](const TaskClass& t) { return t.task == built.task; });
  if (it == f.tasks.end())
    throw Error("task \"" + built.task + "\" is not supported for model type \"" + f.model_type +
                "\"; supported: " + join(tasks_of(f)));
  built.hf_class = it->hf_class;

  LoadOptions load;
  load.dtype = options.dtype;
  load.strict = options.strict.value_or(config.architectures.empty() ||
                                        config.architectures[0] == built.hf_class);
  load.buffers = f.buffers;
  WeightLoader w(ckpt, load);
  built.module = f.make(built.task, config, w, options);
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
  }
  return module->forward(in);
}

}  // namespace hfjit::models
