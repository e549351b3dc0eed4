#include "hfjit/models/heads.h"

#include "hfjit/error.h"

namespace hfjit::models {

TokenClassificationHead::TokenClassificationHead(const HeadContext& h)
    : classifier_(h.root.add<Linear>("classifier", h.hidden_size, h.num_labels)) {}

std::vector<at::Tensor> TokenClassificationHead::forward(const BaseOutput& base,
                                                         const ModelInputs&) const {
  return {classifier_->forward(base.last_hidden_state)};
}

QuestionAnsweringHead::QuestionAnsweringHead(const HeadContext& h)
    : qa_outputs_(h.root.add<Linear>("qa_outputs", h.hidden_size, 2)) {}

std::vector<at::Tensor> QuestionAnsweringHead::forward(const BaseOutput& base,
                                                       const ModelInputs&) const {
  return split_span_logits(qa_outputs_->forward(base.last_hidden_state));
}

PooledClassificationHead::PooledClassificationHead(const HeadContext& h)
    : classifier_(h.root.add<Linear>("classifier", h.hidden_size, h.num_labels)) {}

std::vector<at::Tensor> PooledClassificationHead::forward(const BaseOutput& base,
                                                          const ModelInputs&) const {
  return {classifier_->forward(base.pooler_output)};
}

ClassificationHead::ClassificationHead(const WeightLoader& w, const std::string& hf_class,
                                       int64_t hidden, int64_t labels, Activation act)
    : torch::nn::Module(hf_class), act_(act) {
  Scope s(*this, w);
  dense_ = s.add<Linear>("dense", hidden, hidden);
  out_proj_ = s.add<Linear>("out_proj", hidden, labels);
}

at::Tensor ClassificationHead::forward(const at::Tensor& hidden) const {
  return out_proj_->forward(activate(act_, dense_->forward(hidden.select(1, 0))));
}

namespace {

// "a.b.c" -> {"a.b", "c"}; "c" -> {"", "c"}.
std::pair<std::string, std::string> split_last(const std::string& path) {
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos) return {"", path};
  return {path.substr(0, dot), path.substr(dot + 1)};
}

}  // namespace

MaskedLMHead::MaskedLMHead(const HeadContext& h, const LMHeadLayout& l) : act_(l.act) {
  const int64_t dim = l.dim ? l.dim : h.hidden_size;
  if (!l.dense.empty()) {
    auto [parent, name] = split_last(l.dense);
    dense_ = h.root.path(parent, l.classes).add<Linear>(name, h.hidden_size, dim);
  }
  if (!l.norm.empty()) {
    auto [parent, name] = split_last(l.norm);
    norm_ = h.root.path(parent, l.classes).add<LayerNorm>(name, dim, l.eps);
  }
  auto [parent, name] = split_last(l.decoder);
  const Scope owner = h.root.path(parent, l.classes);
  const WeightLoader dw = owner.weights().sub(name);
  at::Tensor weight = dw.tied("weight", {l.vocab_size, dim}, h.base.word_embeddings(),
                              h.family.word_embeddings(), l.tie);
  // Tied, "decoder.bias" is the same parameter as "bias" in transformers.
  // Untied (transformers 5 then ties neither), the decoder has its own bias and
  // the parent's "bias" is a parameter the forward never reads.
  const bool parent_bias = l.bias == LMHeadLayout::Bias::Parent;
  at::Tensor own_bias;
  if (l.bias == LMHeadLayout::Bias::Own || (parent_bias && !l.tie))
    own_bias = dw.tensor("bias", {l.vocab_size});
  decoder_ = owner.put(name, std::make_shared<Linear>(weight, own_bias));
  if (parent_bias && l.tie)
    bias_ = owner.module().register_parameter(
        "bias", owner.weights().first_of({"bias", name + ".bias"}, {l.vocab_size}), false);
  else if (parent_bias)
    owner.module().register_parameter("bias", owner.weights().tensor("bias", {l.vocab_size}),
                                      false);
}

std::vector<at::Tensor> MaskedLMHead::forward(const BaseOutput& base, const ModelInputs&) const {
  at::Tensor x = base.last_hidden_state;
  if (dense_) x = activate(act_, dense_->forward(x));
  if (norm_) x = norm_->forward(x);
  return {bias_.defined() ? decoder_->forward(x, bias_) : decoder_->forward(x)};
}

BaseModel::BaseModel(const std::string& hf_class, const WeightLoader& w, const Family& family,
                     const FamilyParts& parts, bool hidden)
    : Model(hf_class, hidden), presents_(!parts.present_names.empty()) {
  // A bare base model: its modules sit at the root, as in transformers' BertModel.
  base_ = parts.base(w.base_alone(family.base_prefix), std::nullopt);
  for (const auto& child : base_->named_children()) register_module(child.key(), child.value());
  std::vector<std::string> names = {"last_hidden_state"};
  if (base_->has_pooler()) names.push_back("pooler_output");
  if (presents_) names.insert(names.end(), parts.present_names.begin(), parts.present_names.end());
  set_output_names(names, parts.num_hidden_states);
}

std::vector<at::Tensor> BaseModel::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  BaseOutput out = base_->forward(in, hidden_states(hidden));
  std::vector<at::Tensor> outputs = {out.last_hidden_state};
  if (out.pooler_output.defined()) outputs.push_back(out.pooler_output);
  if (presents_) outputs.insert(outputs.end(), out.presents.begin(), out.presents.end());
  return finish_outputs(outputs, hidden);
}

TaskModel::TaskModel(const std::string& hf_class, const WeightLoader& w, const Family& family,
                     const FamilyParts& parts, const HeadSpec& head, bool hidden)
    : Model(hf_class, hidden),
      presents_(head.presents && !parts.present_names.empty()),
      cached_(head.cached) {
  base_ = register_module(family.base_prefix, parts.base(w.base(family.base_prefix), head.pooler));
  const Scope root(*this, w);
  head_ = head.make(HeadContext{root, *base_, family, parts.hidden_size, parts.num_labels});
  std::vector<std::string> names = head.outputs;
  if (presents_) names.insert(names.end(), parts.present_names.begin(), parts.present_names.end());
  set_output_names(names, parts.num_hidden_states);
}

std::vector<at::Tensor> TaskModel::forward(const ModelInputs& in) {
  std::vector<at::Tensor> hidden;
  BaseOutput out = base_->forward(in, hidden_states(hidden));
  std::vector<at::Tensor> outputs = head_->forward(out, in);
  if (presents_) outputs.insert(outputs.end(), out.presents.begin(), out.presents.end());
  return finish_outputs(outputs, hidden);
}

std::optional<CacheLayout> TaskModel::cache_layout() const {
  return cached_ ? base_->cache_layout() : std::nullopt;
}

std::vector<at::Tensor> TaskModel::forward_cached(const CachedInputs& in) {
  if (!cache_layout()) return Model::forward_cached(in);
  BaseOutput last;
  // transformers' generate computes the logits of the last position only (logits_to_keep=1).
  last.last_hidden_state = base_->forward_cached(in).select(1, -1);
  std::vector<at::Tensor> outputs = head_->forward(last, ModelInputs{});
  outputs.push_back(in.cache);
  return outputs;
}

at::Tensor Backbone::forward_cached(const CachedInputs&) const {
  throw Error(std::string(name()) + " has no static key/value cache");
}

std::vector<at::Tensor> Model::forward_cached(const CachedInputs&) {
  throw Error(name() +
              " has no static key/value cache (only text-generation models of the "
              "Llama family have one)");
}

namespace {

HeadSpec generic_head(const std::string& task) {
  if (task == "token-classification")
    return {[](const HeadContext& h) { return std::make_unique<TokenClassificationHead>(h); }};
  if (task == "question-answering")
    return {[](const HeadContext& h) { return std::make_unique<QuestionAnsweringHead>(h); },
            false,
            false,
            {"start_logits", "end_logits"}};
  throw Error("no generic head for task \"" + task + "\"");
}

}  // namespace

std::shared_ptr<Model> build_task_model(const Family& family, const FamilyParts& parts,
                                        const std::string& task, const std::string& hf_class,
                                        const WeightLoader& w, bool hidden) {
  if (parts.seq2seq) return parts.seq2seq(w, hf_class, hidden);
  if (task == "feature-extraction")
    return std::make_shared<BaseModel>(hf_class, w, family, parts, hidden);
  auto it = parts.heads.find(task);
  const HeadSpec head = it != parts.heads.end() ? it->second : generic_head(task);
  return std::make_shared<TaskModel>(hf_class, w, family, parts, head, hidden);
}

}  // namespace hfjit::models
