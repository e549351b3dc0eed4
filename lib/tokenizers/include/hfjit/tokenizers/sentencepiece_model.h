#pragma once
// SentencePieceModel: a Model backed by libsentencepiece (spiece.model, through
// the shim of hfjit/tokenizers/spm.h),
// normalization and segmentation done by the library; offsets come from its
// immutable proto pieces (byte ranges of the input).

#include <memory>
#include <string>
#include <vector>

#include "hfjit/tokenizers/models.h"
#include "hfjit/tokenizers/spm.h"

namespace hfjit::tokenizers {

class SentencePieceModel : public Model {
 public:
  // `proto` is the serialized model. Throws hfjit::Error naming `origin` if it does not load.
  SentencePieceModel(const std::string& proto, const std::string& origin);
  ~SentencePieceModel() override;
  void tokenize(std::string_view sequence, std::vector<Token>& out) const override;
  std::optional<uint32_t> token_to_id(std::string_view token) const override;
  const std::string* id_to_token(uint32_t id) const override;
  size_t vocab_size() const override { return pieces_.size(); }

  std::shared_ptr<const SpmProcessor> processor() const { return sp_; }

 private:
  std::shared_ptr<SpmProcessor> sp_;
  std::vector<std::string> pieces_;
  Vocab vocab_;
};

}  // namespace hfjit::tokenizers
