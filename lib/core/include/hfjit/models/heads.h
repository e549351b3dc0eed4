#pragma once
// The task heads, written once for every family, and the whole models built
// from a family's parts. A family's own file (bert.cpp, gpt2.cpp, ...) gives
// its config, its base model and the heads that differ by family (the masked
// LM layout, its sequence classifier); everything else is here:
//
//   *Model                      BaseModel: the base model's children at the root
//   *For<Task>                  TaskModel: base model under the family's prefix + a Head
//   *ForTokenClassification     TokenClassificationHead ("classifier")
//   *ForQuestionAnswering       QuestionAnsweringHead ("qa_outputs")
//   *ForMaskedLM, *LMHeadModel  MaskedLMHead, laid out by LMHeadLayout
//   sequence classification    PooledClassificationHead, ModuleHead<ClassificationHead>, or the
//   family's
//
// Module names and type names are the transformers ones, so the trace and its
// state dict read as the Python model's.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hfjit/families.h"
#include "hfjit/models/layers.h"
#include "hfjit/models/model.h"

namespace hfjit::models {

// A task's head: its modules live in the whole model's scope (the root), and
// it maps the base model's output to the task's outputs.
class Head {
 public:
  virtual ~Head() = default;
  virtual std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs& in) const = 0;
};

// What a head needs to know about the model it sits on.
struct HeadContext {
  const Scope& root;     // the whole model's scope
  const Backbone& base;  // built, under the family's prefix
  const Family& family;  // the family table's row
  int64_t hidden_size;   // the base model's output width
  int64_t num_labels;    // config's id2label / num_labels
};

// *ForTokenClassification: classifier(last_hidden_state).
class TokenClassificationHead : public Head {
 public:
  explicit TokenClassificationHead(const HeadContext& h);
  std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs& in) const override;

 private:
  std::shared_ptr<Linear> classifier_;
};

// *ForQuestionAnswering: qa_outputs(last_hidden_state) split into start and end logits.
class QuestionAnsweringHead : public Head {
 public:
  explicit QuestionAnsweringHead(const HeadContext& h);
  std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs& in) const override;

 private:
  std::shared_ptr<Linear> qa_outputs_;
};

// BertForSequenceClassification, AlbertForSequenceClassification: classifier(pooler_output).
class PooledClassificationHead : public Head {
 public:
  explicit PooledClassificationHead(const HeadContext& h);
  std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs& in) const override;

 private:
  std::shared_ptr<Linear> classifier_;
};

// RobertaClassificationHead, ElectraClassificationHead: out_proj(act(dense(x[:, 0]))).
class ClassificationHead : public torch::nn::Module {
 public:
  ClassificationHead(const WeightLoader& w, const std::string& hf_class, int64_t hidden,
                     int64_t labels, Activation act);
  at::Tensor forward(const at::Tensor& hidden) const;

 private:
  std::shared_ptr<Linear> dense_, out_proj_;
  Activation act_;
};

// A module M registered as `name` at the root, applied to last_hidden_state
// (RoBERTa's "classifier", ELECTRA's "discriminator_predictions").
template <class M>
class ModuleHead : public Head {
 public:
  template <class... Args>
  ModuleHead(const HeadContext& h, const std::string& name, Args&&... args)
      : module_(h.root.add<M>(name, std::forward<Args>(args)...)) {}
  std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs&) const override {
    return {module_->forward(base.last_hidden_state)};
  }

 private:
  std::shared_ptr<M> module_;
};

// Where a family's LM head keeps its parts: module paths from the root
// ("cls.predictions.transform.dense"), empty when the head has no such part.
// All compute decoder(norm(act(dense(x)))) + bias.
struct LMHeadLayout {
  std::string dense, norm, decoder;
  enum class Bias {
    None,
    Own,
    Parent
  } bias = Bias::Parent;  // Parent: "<decoder's parent>.bias", alias "decoder.bias"
  std::vector<std::pair<std::string, std::string>> classes;  // container path -> transformers class
  Activation act = Activation::Gelu;
  int64_t dim = 0;  // the decoder's input width (ALBERT's and ELECTRA's embedding_size); 0: hidden
  double eps = 1e-12;
  int64_t vocab_size = 0;
  bool tie = true;  // config's tie_word_embeddings
};

// *ForMaskedLM's and *LMHeadModel's head, laid out as the family's.
class MaskedLMHead : public Head {
 public:
  MaskedLMHead(const HeadContext& h, const LMHeadLayout& layout);
  std::vector<at::Tensor> forward(const BaseOutput& base, const ModelInputs& in) const override;

 private:
  std::shared_ptr<Linear> dense_, decoder_;
  std::shared_ptr<LayerNorm> norm_;
  at::Tensor bias_;  // undefined: none, or the decoder's own
  Activation act_;
};

// How a family builds one task's head.
struct HeadSpec {
  std::function<std::unique_ptr<Head>(const HeadContext&)> make;
  bool pooler = false;    // the base model is built with its pooler
  bool presents = false;  // the outputs end with the base model's presents (GPT-2's use_cache)
  std::vector<std::string> outputs = {"logits"};
  // A causal LM head: it also applies to the last position of a static-cache
  // step (Model::forward_cached), where the base model has one.
  bool cached = false;
};

// What a family's own file gives the builder (the family table's `parts`).
struct FamilyParts {
  int64_t hidden_size = 0;
  int64_t num_labels = 2;
  int64_t num_hidden_states = 0;           // outputs with BuildOptions::output_hidden_states
  std::vector<std::string> present_names;  // GPT-2 with use_cache
  // The base model in `w`'s scope; `pooler` as transformers' add_pooling_layer
  // (nullopt: when the checkpoint has its weights).
  std::function<std::shared_ptr<Backbone>(const WeightLoader& w, std::optional<bool> pooler)> base;
  // Heads by task, where the family's differ from the generic ones
  // (token-classification and question-answering are generic).
  std::map<std::string, HeadSpec> heads;
  // An encoder-decoder (seq2seq.h): the whole model, of class `hf_class`, for
  // every task of the family; no base model or heads then.
  std::function<std::shared_ptr<Model>(const WeightLoader& w, const std::string& hf_class,
                                       bool hidden)>
      seq2seq;
};

// transformers' *Model: the base model's children at the root; outputs
// last_hidden_state[, pooler_output][, presents].
class BaseModel : public Model {
 public:
  BaseModel(const std::string& hf_class, const WeightLoader& w, const Family& family,
            const FamilyParts& parts, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;

 private:
  std::shared_ptr<Backbone> base_;
  bool presents_;
};

// transformers' *For<Task>: the base model under the family's prefix, then a head.
class TaskModel : public Model {
 public:
  TaskModel(const std::string& hf_class, const WeightLoader& w, const Family& family,
            const FamilyParts& parts, const HeadSpec& head, bool hidden);
  std::vector<at::Tensor> forward(const ModelInputs& in) override;
  std::vector<at::Tensor> forward_cached(const CachedInputs& in) override;
  std::optional<CacheLayout> cache_layout() const override;

 private:
  std::shared_ptr<Backbone> base_;
  std::unique_ptr<Head> head_;
  bool presents_, cached_;
};

// The model for `task` (one of family.tasks), built from the family's parts
// as transformers' class `hf_class`.
std::shared_ptr<Model> build_task_model(const Family& family, const FamilyParts& parts,
                                        const std::string& task, const std::string& hf_class,
                                        const WeightLoader& w, bool hidden);

}  // namespace hfjit::models
