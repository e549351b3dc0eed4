#pragma once
// The family table: one row per model family, the single source of truth for
// what hfjit knows about it. Rows are in family_table.inc; this header is
// libtorch-free, so `untie` of a folder, the front end and the fuzzers read
// the same facts the engine builds from.
//
//   model types  config.json's model_type, and aliases with the same layout
//   tasks        task -> the transformers class hfjit builds for it
//   inputs       forward's tensors, in order
//   ties         the weights transformers ties implicitly (untie, the loader)
//   embeddings   the embedding tables (kept fp32 by int8, skipped by bench's FLOPs)
//   parts        the family's constructor, in the libtorch layer (null here)

#include <optional>
#include <string>
#include <vector>

namespace hfjit {

struct ModelConfig;
namespace models {
struct BuildOptions;
struct FamilyParts;
}  // namespace models

// The family's own code (lib/core/src/models/<family>.cpp): its config, base
// model and family-specific heads for the generic builder (registry.cpp).
using FamilyPartsFn = models::FamilyParts (*)(const ModelConfig& config,
                                              const models::BuildOptions& options);

struct TaskClass {
  std::string task;      // "fill-mask"
  std::string hf_class;  // "BertForMaskedLM"
};

// A tie transformers makes implicitly, by tensor name. A missing output is
// only materialised when the checkpoint has that head: its `witness` tensor
// is present, or (for heads without other weights, like GPT-2's lm_head)
// architectures[0] is one of `architectures`. As in transformers 5, every tie
// of an LM head follows tie_word_embeddings, its bias tie (decoder.bias =
// bias) too: untied, the decoder has a bias of its own.
struct TieRule {
  std::string input;
  std::string output;
  bool follows_tie_word_embeddings = true;
  std::string witness;
  std::vector<std::string> architectures;
};

// Another model type built as a family's own, whose transformers classes
// differ only in their prefix: {"xlm-roberta", "XLMRoberta"} under roberta
// builds XLMRobertaForMaskedLM as RobertaForMaskedLM is built.
struct Alias {
  std::string model_type;
  std::string class_prefix;
};

struct Family {
  std::string model_type;    // "bert"
  std::string class_prefix;  // "Bert": the tasks' classes start with it
  std::vector<Alias> aliases;
  std::string base_prefix;          // the base model's attribute in the head classes
  std::vector<std::string> inputs;  // forward's tensors, in order
  // Buffers transformers never loads that old checkpoints may hold.
  std::vector<std::string> buffers;
  std::vector<TaskClass> tasks;  // sorted by task
  std::vector<TaskClass>
      architectures;  // other classes, and the task that serves their checkpoints
  std::vector<TieRule> ties;
  std::vector<std::string>
      embeddings;  // tensor names in the base model ("embeddings.word_embeddings.weight")
  FamilyPartsFn parts = nullptr;  // null in the libtorch-free layers, and for untie-only rows

  // The transformers class for `task` under `model_type` (the row's own or an
  // alias: the class prefix swapped), or nullopt.
  std::optional<std::string> hf_class(const std::string& task,
                                      const std::string& model_type = "") const;
  // The task whose class (under `model_type`) is `architecture`: tasks, then
  // the other architectures; nullopt when none.
  std::optional<std::string> task_for(const std::string& architecture,
                                      const std::string& model_type = "") const;
  std::vector<std::string> task_names() const;
  // The input word embeddings' name in the head classes ("bert.embeddings.word_embeddings.weight").
  std::string word_embeddings() const;
};

// Every row, natively built families first (sorted by model type), then the
// rows kept for their ties only (encoder-decoders untie knows).
const std::vector<Family>& families();
// The row for a model type or alias; nullptr when unknown.
const Family* find_family(const std::string& model_type);
// The row for `model_type` with native models, or an Error (prefixed with
// `where`) listing the supported model types.
const Family& family_for(const std::string& model_type, const std::string& where = "config.json");
// Model types (with aliases) hfjit builds natively, sorted.
std::vector<std::string> native_model_types();
// Every row's ties, in table order.
const std::vector<TieRule>& all_tie_rules();
// Every row's embedding table names.
const std::vector<std::string>& all_embedding_names();
// Whether `tensor_name` is one of them, at any prefix ("bert.embeddings.word_embeddings.weight").
bool is_embedding_table(const std::string& tensor_name);

}  // namespace hfjit
