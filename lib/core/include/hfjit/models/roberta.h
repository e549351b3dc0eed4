#pragma once
// RoBERTa, mirroring transformers' models/roberta/modeling_roberta.py: BERT's
// layout (BertModel with RoBERTa's position ids) under "roberta", every head
// built without a pooler, RobertaLMHead and RobertaClassificationHead. The
// heads are the generic ones (heads.h). XLM-RoBERTa and CamemBERT are this
// layout under their own model types and class names (the table's aliases).

#include "hfjit/config.h"
#include "hfjit/models/bert.h"

namespace hfjit::models {

// The class prefix of a model type of the roberta row: "Roberta", "XLMRoberta", "Camembert".
std::string roberta_class_prefix(const std::string& model_type);

// BertConfig with the defaults of the model type's config class (RobertaConfig, XLMRobertaConfig,
// ...).
BertConfig roberta_config(const ModelConfig& config);

// RoBERTa's parts for the generic builder (the family table's constructor).
FamilyParts roberta_parts(const ModelConfig& config, const BuildOptions& options);

}  // namespace hfjit::models
