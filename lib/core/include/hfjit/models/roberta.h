#pragma once
// RoBERTa, mirroring transformers' models/roberta/modeling_roberta.py: BERT's
// layout (BertModel with RoBERTa's position ids) under "roberta", every head
// built without a pooler, RobertaLMHead and RobertaClassificationHead. The
// heads are the generic ones (heads.h).

#include "hfjit/config.h"
#include "hfjit/models/bert.h"

namespace hfjit::models {

// BertConfig with RobertaConfig's defaults.
BertConfig roberta_config(const ModelConfig& config);

// RoBERTa's parts for the generic builder (the family table's constructor).
FamilyParts roberta_parts(const ModelConfig& config, const BuildOptions& options);

}  // namespace hfjit::models
