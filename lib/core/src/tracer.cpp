#include "hfjit/tracer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/models/layers.h"

namespace fs = std::filesystem;

namespace hfjit {
namespace {

std::string type_name_of(const torch::nn::Module& m) {
  std::string n = m.name();
  auto colon = n.rfind("::");
  if (colon != std::string::npos) n = n.substr(colon + 2);
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n.empty() ? "Module" : n;
}

torch::jit::Module mirror(const torch::nn::Module& m,
                          const std::shared_ptr<torch::jit::CompilationUnit>& cu) {
  torch::jit::Module jm(c10::QualifiedName("__torch__.hfjit." + type_name_of(m)), cu,
                        /*shouldMangle=*/true);
  jm.register_attribute("training", c10::BoolType::get(), false);
  for (const auto& p : m.named_parameters(/*recurse=*/false))
    jm.register_parameter(p.key(), p.value(), false);
  for (const auto& b : m.named_buffers(/*recurse=*/false)) jm.register_buffer(b.key(), b.value());
  for (const auto& c : m.named_children()) jm.register_module(c.key(), mirror(*c.value(), cu));
  return jm;
}

// Token ids to avoid: the special tokens of config.json and tokenizer.json.
std::set<int64_t> special_ids(const ModelConfig& c, const std::string& dir) {
  std::set<int64_t> ids;
  for (const char* k : {"pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id",
                        "cls_token_id", "mask_token_id", "unk_token_id", "decoder_start_token_id"})
    if (c.has(k) && c.raw[k].is_number_integer()) ids.insert(c.raw[k].get<int64_t>());
  const fs::path tj = fs::path(dir) / "tokenizer.json";
  std::error_code ec;
  if (!dir.empty() && fs::is_regular_file(tj, ec)) {
    try {
      auto j = nlohmann::json::parse(read_text_file(tj.string()));
      if (j.contains("added_tokens") && j["added_tokens"].is_array())
        for (const auto& t : j["added_tokens"])
          if (t.value("special", false) && t.contains("id") && t["id"].is_number_integer())
            ids.insert(t["id"].get<int64_t>());
    } catch (const std::exception&) {
      // A broken tokenizer.json is reported by the tokenizer, not here.
    }
  }
  return ids;
}

}  // namespace

Tracer::Tracer(const models::BuiltModel& built)
    : built_(built),
      cu_(std::make_shared<torch::jit::CompilationUnit>()),
      module_(mirror(*built.module, cu_)) {}

std::vector<at::Tensor> Tracer::add_method(const std::string& name,
                                           const std::vector<at::Tensor>& inputs) {
  return add_method(name, inputs, built_.input_names,
                    [this](const std::vector<at::Tensor>& in) { return built_.forward(in); });
}

std::vector<at::Tensor> Tracer::add_method(const std::string& name,
                                           const std::vector<at::Tensor>& inputs,
                                           const std::vector<std::string>& arg_names,
                                           const Function& fn) {
  torch::NoGradGuard no_grad;
  torch::jit::Stack stack(inputs.begin(), inputs.end());
  auto traced_fn = [&](torch::jit::Stack in) -> torch::jit::Stack {
    std::vector<at::Tensor> ts;
    for (auto& v : in) ts.push_back(v.toTensor());
    std::vector<at::Tensor> outs = fn(ts);
    // Outputs are float32 whatever the model computes in (--dtype bfloat16):
    // the artifact's interface does not change with the lever.
    for (auto& o : outs)
      if (o.is_floating_point() && o.scalar_type() != at::kFloat) o = o.to(at::kFloat);
    std::vector<c10::IValue> values(outs.begin(), outs.end());
    return {c10::ivalue::Tuple::create(std::move(values))};
  };
  std::shared_ptr<torch::jit::tracer::TracingState> state;
  torch::jit::Stack outs;
  try {
    std::tie(state, outs) = torch::jit::tracer::trace(
        stack, traced_fn, [](const at::Tensor&) { return std::string(); }, /*strict=*/true,
        /*force_outplace=*/false, &module_, arg_names);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw Error("tracing " + built_.hf_class + " failed: " + first_line(msg));
  }
  auto method =
      cu_->create_function(c10::QualifiedName(*module_.type()->name(), name), state->graph);
  module_.type()->addMethod(method);
  std::vector<at::Tensor> result;
  for (const auto& v : outs[0].toTupleRef().elements()) result.push_back(v.toTensor());
  return result;
}

std::vector<at::Tensor> run_method(torch::jit::Module& module, const std::string& method,
                                   const std::vector<at::Tensor>& inputs) {
  std::vector<c10::IValue> args(inputs.begin(), inputs.end());
  c10::IValue out = module.get_method(method)(args);
  std::vector<at::Tensor> outs;
  for (const auto& v : out.toTupleRef().elements()) outs.push_back(v.toTensor());
  return outs;
}

DummyInputs::DummyInputs(const ModelConfig& config, const std::string& model_dir,
                         std::vector<std::string> input_names, uint64_t seed)
    : names_(std::move(input_names)),
      pad_id_(config.pad_token_id.value_or(0)),
      type_vocab_(config.get_int("type_vocab_size", 1)),
      gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  const std::set<int64_t> specials = special_ids(config, model_dir);
  for (int64_t id = 0; id < config.vocab_size; ++id)
    if (!specials.count(id)) allowed_.push_back(id);
  if (allowed_.empty())
    throw Error(context(config.path, "vocab_size leaves no token ids for dummy inputs"));
}

DummyInputs::DummyInputs(std::vector<std::string> input_names, int64_t vocab_size, int64_t pad_id,
                         uint64_t seed)
    : names_(std::move(input_names)),
      pad_id_(pad_id),
      gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  for (int64_t id = 0; id < vocab_size; ++id)
    if (id != pad_id) allowed_.push_back(id);
  if (allowed_.empty()) throw Error("vocab_size leaves no token ids for dummy inputs");
}

std::vector<at::Tensor> DummyInputs::full(int64_t batch, int64_t length) {
  return make(batch, length, false);
}
std::vector<at::Tensor> DummyInputs::padded(int64_t batch, int64_t length) {
  return make(batch, length, true);
}

std::vector<at::Tensor> DummyInputs::make(int64_t batch, int64_t length, bool padded) {
  at::Tensor pick =
      at::randint(static_cast<int64_t>(allowed_.size()), {batch, length}, gen_, at::kLong);
  at::Tensor table = at::tensor(allowed_, at::kLong);
  at::Tensor ids = table.index_select(0, pick.flatten()).view({batch, length});
  at::Tensor mask = at::ones({batch, length}, at::kLong);
  at::Tensor types = at::zeros({batch, length}, at::kLong);
  if (padded) {
    for (int64_t b = 0; b < batch; ++b) {
      int64_t keep =
          std::max<int64_t>(1, length - length / 3 - b % std::max<int64_t>(1, length / 3));
      mask[b].slice(0, keep).fill_(0);
      ids[b].slice(0, keep).fill_(pad_id_);
      if (type_vocab_ > 1) types[b].slice(0, keep / 2, keep).fill_(1);
    }
  }
  std::vector<at::Tensor> out;
  for (const auto& n : names_) {
    if (n == "input_ids")
      out.push_back(ids);
    else if (n == "attention_mask")
      out.push_back(mask);
    else if (n == "token_type_ids")
      out.push_back(types);
    else
      throw Error("no synthetic input for \"" + n + "\"");
  }
  return out;
}

}  // namespace hfjit
