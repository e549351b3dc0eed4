// Native models against transformers: every fixture's outputs and hidden
// states at atol 1e-5, and the WeightLoader's and the registry's error paths
// with their exact messages.

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <unistd.h>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "hfjit/checkpoint.h"
#include "hfjit/config.h"
#include "hfjit/error.h"
#include "hfjit/families.h"
#include "hfjit/io/file.h"
#include "hfjit/io/safetensors.h"
#include "hfjit/models/distilbert.h"
#include "hfjit/models/layers.h"
#include "hfjit/models/registry.h"
#include "hfjit/models/roberta.h"
#include "hfjit/weights.h"

using namespace hfjit;
using namespace hfjit::models;
namespace fs = std::filesystem;

namespace {

constexpr double kAtol = 1e-5;

std::string models_dir() {
  return std::string(HFJIT_FIXTURES) + "/models/";
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

std::map<std::string, double>& max_diffs() {
  static std::map<std::string, double> diffs;
  return diffs;
}

// A reference input by name. transformers 5's ALBERT tokenizer makes no
// token_type_ids; the model then uses zeros, as hfjit is given here.
at::Tensor reference_input(const Checkpoint& ref, const std::string& name) {
  if (name == "token_type_ids" && !ref.contains(name)) return at::zeros_like(ref.at("input_ids"));
  REQUIRE(ref.contains(name));
  return ref.at(name);
}

// Builds `folder` (task from its architectures[0], hidden states on) and
// compares every output and hidden state with `ref_folder`'s reference.
void check_parity(const std::string& folder, const std::string& ref_folder) {
  const std::string dir = models_dir() + folder;
  const std::string ref_dir = models_dir() + ref_folder;
  const ModelConfig config = load_config(dir);
  const Checkpoint ckpt = Checkpoint::load(dir);
  BuildOptions options;
  options.output_hidden_states = true;
  const BuiltModel model = build_model(config, ckpt, "", options);

  const Checkpoint ref = Checkpoint::load_file(ref_dir + "/reference.safetensors");
  const auto meta = nlohmann::json::parse(read_text_file(ref_dir + "/reference.json"));
  REQUIRE(meta["class"].get<std::string>() == model.hf_class);
  std::vector<at::Tensor> inputs;
  for (const auto& name : model.input_names) {
    INFO(folder << ": input " << name);
    inputs.push_back(reference_input(ref, name));
  }
  std::vector<std::string> expected;
  for (const auto& o : meta["outputs"]) expected.push_back(o["name"]);
  for (const auto& h : meta["hidden_states"]) expected.push_back(h["name"]);

  c10::InferenceMode guard;
  const std::vector<at::Tensor> outputs = model.forward(inputs);
  REQUIRE(outputs.size() == expected.size());
  REQUIRE(model.output_names.size() == expected.size());
  double worst = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const at::Tensor& want = ref.at(expected[i]);
    INFO(folder << ": " << model.output_names[i] << " vs reference " << expected[i]);
    REQUIRE(outputs[i].sizes() == want.sizes());
    const double diff = max_abs_diff(outputs[i], want);
    CAPTURE(diff);
    CHECK(diff <= kAtol);
    worst = std::max(worst, diff);
  }
  max_diffs()[folder] = worst;
}

// A scratch folder for rewritten checkpoints, removed at exit.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    path = fs::temp_directory_path() / ("hfjit-models-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const ScratchDir& scratch() {
  static ScratchDir dir;
  return dir;
}

// Writes `tensors` as <scratch>/<name>.safetensors and returns its path.
std::string write_checkpoint(const std::string& name,
                             const std::map<std::string, at::Tensor>& tensors) {
  std::vector<at::Tensor> keep;
  std::vector<TensorBytes> list;
  for (const auto& [key, t] : tensors) {
    at::Tensor c = t.contiguous();
    keep.push_back(c);
    TensorBytes b;
    b.name = key;
    b.dtype = from_scalar_type(c.scalar_type(), key);
    b.shape = c.sizes().vec();
    b.data = c.data_ptr();
    b.nbytes = c.nbytes();
    list.push_back(b);
  }
  const std::string path = (scratch().path / (name + ".safetensors")).string();
  write_safetensors(path, list);
  return path;
}

std::map<std::string, at::Tensor> tensors_of(const std::string& folder) {
  return Checkpoint::load(models_dir() + folder).tensors();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::set<std::string> parameter_names(const torch::nn::Module& m, bool buffers) {
  std::set<std::string> names;
  for (const auto& p : m.named_parameters()) names.insert(p.key());
  if (buffers)
    for (const auto& b : m.named_buffers()) names.insert(b.key());
  return names;
}

std::set<std::string> keys_of(const Checkpoint& ckpt) {
  std::set<std::string> keys;
  for (const auto& [k, t] : ckpt.tensors()) keys.insert(k);
  return keys;
}

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

// Every fixture make_fixtures.py wrote (its manifest) whose model type hfjit
// builds: a new family's fixtures are picked up from its spec alone.
std::vector<std::pair<std::string, std::string>> native_fixtures() {
  const auto manifest =
      nlohmann::json::parse(read_text_file(std::string(HFJIT_FIXTURES) + "/manifest.json"));
  std::vector<std::pair<std::string, std::string>> out;  // {folder, reference folder}
  for (const auto& [name, entry] : manifest["models"].items()) {
    const ModelConfig config = load_config(models_dir() + name);
    const Family* f = find_family(config.model_type);
    if (f != nullptr && !f->tasks.empty())
      out.emplace_back(name, entry["reference"].get<std::string>());
  }
  return out;
}

}  // namespace

TEST_CASE("models: parity with transformers, every native fixture", "[models]") {
  const auto fixtures = native_fixtures();
  // 24 today (t5-lm, t5-v11 and marian-mt among them); a lost manifest must not pass.
  REQUIRE(fixtures.size() >= 24);
  std::set<std::string> types;
  for (const auto& [folder, reference] : fixtures) {
    INFO("fixture " << folder);
    check_parity(folder, reference);
    types.insert(load_config(models_dir() + folder).model_type);
  }
  // Every natively built row of the family table has at least one parity fixture.
  for (const Family& f : families())
    if (!f.tasks.empty()) {
      CHECK(types.count(f.model_type) == 1);
      for (const Alias& a : f.aliases) CHECK(types.count(a.model_type) == 1);
    }
}

TEST_CASE("models: every row of the family table builds every task it lists", "[models]") {
  for (const auto& [folder, reference] : native_fixtures()) {
    const std::string dir = models_dir() + folder;
    const ModelConfig config = load_config(dir);
    const Checkpoint ckpt = Checkpoint::load(dir);
    const Family& family = family_for(config.model_type);
    for (const TaskClass& t : family.tasks) {
      INFO(folder << " as " << t.task);
      BuildOptions options;
      options.strict = false;
      try {
        const BuiltModel m = build_model(config, ckpt, t.task, options);
        // An alias's own class name (XLMRobertaForMaskedLM for RobertaForMaskedLM).
        CHECK(m.hf_class == family.hf_class(t.task, config.model_type));
        CHECK(m.module->name() == m.hf_class);  // the trace's type name
        CHECK(m.input_names == family.inputs);
        CHECK_FALSE(m.output_names.empty());
      } catch (const LoadError& e) {
        // Another head than the fixture's: only that head's weights are missing
        // (with the pooler a pooled classifier adds), never the rest of the base model.
        CHECK_FALSE(e.report.missing.empty());
        for (const std::string& missing : e.report.missing) {
          INFO("missing " << missing);
          CHECK((!missing.starts_with(family.base_prefix + ".") ||
                 missing.starts_with(family.base_prefix + ".pooler.")));
        }
      }
    }
  }
}

TEST_CASE("models: the family table's rows are consistent; aliases swap the class prefix",
          "[models]") {
  std::set<std::string> types;
  for (const Family& f : families()) {
    INFO("row " << f.model_type);
    CHECK(types.insert(f.model_type).second);
    for (const Alias& a : f.aliases) CHECK(types.insert(a.model_type).second);
    CHECK(std::is_sorted(f.tasks.begin(), f.tasks.end(),
                         [](const TaskClass& a, const TaskClass& b) { return a.task < b.task; }));
    for (const auto* list : {&f.tasks, &f.architectures})
      for (const TaskClass& t : *list) CHECK(t.hf_class.starts_with(f.class_prefix));
    CHECK((f.parts == nullptr));  // the libtorch-free copy of the table has no constructors
    // Encoder-decoders are whole classes of their own (T5's at the root, no base-model prefix).
    const bool seq2seq =
        std::find(f.inputs.begin(), f.inputs.end(), "decoder_input_ids") != f.inputs.end();
    if (!f.tasks.empty()) {
      if (!seq2seq) CHECK_FALSE(f.base_prefix.empty());
      CHECK_FALSE(f.embeddings.empty());
      CHECK(f.inputs.front() == "input_ids");
    }
  }
  CHECK(find_family("mbart")->model_type == "bart");
  CHECK(find_family("marian")->model_type == "marian");
  CHECK(find_family("umt5")->model_type == "mt5");
  CHECK(find_family("no-such-type") == nullptr);

  Family roberta;
  roberta.model_type = "roberta";
  roberta.class_prefix = "Roberta";
  roberta.aliases = {{"xlm-roberta", "XLMRoberta"}};
  roberta.tasks = {{"fill-mask", "RobertaForMaskedLM"}};
  CHECK(roberta.hf_class("fill-mask") == "RobertaForMaskedLM");
  CHECK(roberta.hf_class("fill-mask", "xlm-roberta") == "XLMRobertaForMaskedLM");
  CHECK(roberta.task_for("XLMRobertaForMaskedLM", "xlm-roberta") == "fill-mask");
  CHECK_FALSE(roberta.task_for("RobertaForMaskedLM", "xlm-roberta").has_value());
  CHECK_FALSE(roberta.hf_class("text-generation").has_value());
}

TEST_CASE("models: XLM-RoBERTa and CamemBERT are RoBERTa under their own classes", "[models]") {
  // XLMRobertaConfig and CamembertConfig keep BertConfig's vocab_size (30522); RobertaConfig's is
  // 50265.
  auto vocab_of = [](const std::string& type) {
    return roberta_config(parse_config(R"({"model_type": ")" + type + R"("})", "config.json"))
        .vocab_size;
  };
  CHECK(vocab_of("roberta") == 50265);
  CHECK(vocab_of("xlm-roberta") == 30522);
  CHECK(vocab_of("camembert") == 30522);
  // The heads are named as transformers names them, so a trace reads as the Python model.
  for (const auto& [folder, child, cls] :
       {std::tuple{"xlm-roberta-mlm", "lm_head", "XLMRobertaLMHead"},
        {"xlm-roberta-seqcls", "classifier", "XLMRobertaClassificationHead"},
        {"camembert-mlm", "lm_head", "CamembertLMHead"},
        {"camembert-seqcls", "classifier", "CamembertClassificationHead"},
        {"roberta-mlm", "lm_head", "RobertaLMHead"}}) {
    INFO(folder);
    const std::string dir = models_dir() + folder;
    const BuiltModel m = build_model(load_config(dir), Checkpoint::load(dir));
    CHECK(m.module->named_children()[child]->name() == cls);
  }
}

TEST_CASE("models: max differences (run with [.diffs] to print them)", "[.diffs]") {
  for (const auto& [folder, reference] : native_fixtures()) check_parity(folder, reference);
  for (const auto& [f, d] : max_diffs()) std::printf("%-24s max |diff| %.3g\n", f.c_str(), d);
}

TEST_CASE("models: registry selects by model_type and task", "[models]") {
  // The six families of 2026-11 at least; a family added to the table joins the list.
  const std::vector<std::string> types = supported_model_types();
  CHECK(std::is_sorted(types.begin(), types.end()));
  for (const char* t : {"albert", "bert", "distilbert", "electra", "gpt2", "roberta"})
    CHECK(std::find(types.begin(), types.end(), t) != types.end());
  CHECK(std::find(types.begin(), types.end(), "bart") == types.end());
  CHECK(task_for_architecture("bert", "BertForMaskedLM") == "fill-mask");
  CHECK(task_for_architecture("bert", "BertForPreTraining") == "fill-mask");
  CHECK(task_for_architecture("gpt2", "GPT2LMHeadModel") == "text-generation");
  CHECK(task_for_architecture("electra", "ElectraForPreTraining") == "replaced-token-detection");
  CHECK(input_names("bert") ==
        std::vector<std::string>{"input_ids", "attention_mask", "token_type_ids"});
  CHECK(input_names("distilbert") == std::vector<std::string>{"input_ids", "attention_mask"});
  CHECK(input_names("gpt2") == std::vector<std::string>{"input_ids", "attention_mask"});
  // The table's embedding tables, at any prefix; a tied decoder is a matmul, not one.
  CHECK(is_embedding_table("bert.embeddings.word_embeddings.weight"));
  CHECK(is_embedding_table("transformer.wte.weight"));
  CHECK(is_embedding_table("wpe.weight"));
  CHECK_FALSE(is_embedding_table("cls.predictions.decoder.weight"));
  CHECK_FALSE(is_embedding_table("my_wpe.weight"));

  const std::string dir = models_dir() + "bert-qa";
  const BuiltModel qa = build_model(load_config(dir), Checkpoint::load(dir));
  CHECK(qa.task == "question-answering");
  CHECK(qa.hf_class == "BertForQuestionAnswering");
  CHECK(qa.output_names == std::vector<std::string>{"start_logits", "end_logits"});
  CHECK_FALSE(qa.module->is_training());

  SECTION("a task the family lacks") {
    CHECK(error_of(
              [&] { build_model(load_config(dir), Checkpoint::load(dir), "text-generation"); }) ==
          "task \"text-generation\" is not supported for model type \"bert\"; supported: "
          "feature-extraction, fill-mask, question-answering, text-classification, "
          "token-classification");
    CHECK(error_of([] { supported_tasks("gpt2"); }) == "(no error)");
    CHECK(supported_tasks("electra") ==
          std::vector<std::string>{"feature-extraction", "fill-mask", "question-answering",
                                   "replaced-token-detection", "text-classification",
                                   "token-classification"});
  }
  SECTION("an unknown model type") {
    // BART's row is kept for its ties only.
    const ModelConfig bart = parse_config(R"({"model_type": "bart"})", "bart/config.json");
    CHECK(error_of([&] { build_model(bart, Checkpoint::load(dir)); }) ==
          "bart/config.json: model type \"bart\" is not supported; supported: " +
              joined(supported_model_types()));
  }
  SECTION("an architecture without a native class") {
    CHECK(error_of([] { task_for_architecture("bert", "BertForNextSentencePrediction"); }) ==
          "architecture \"BertForNextSentencePrediction\" has no native bert model; give one of "
          "its tasks: feature-extraction, fill-mask, question-answering, text-classification, "
          "token-classification");
  }
  SECTION("an unknown activation") {
    ModelConfig config = load_config(dir);
    config.raw["hidden_act"] = "gelu_99";
    CHECK(error_of([&] { build_model(config, Checkpoint::load(dir)); }) ==
          dir +
              "/config.json: \"hidden_act\" is \"gelu_99\", which is not supported; supported: "
              "gelu, gelu_10, gelu_accurate, gelu_fast, gelu_new, gelu_python, "
              "gelu_pytorch_tanh, laplace, leaky_relu, linear, mish, quick_gelu, relu, relu2, "
              "relu6, sigmoid, silu, swish, tanh");
  }
}

TEST_CASE("models: WeightLoader reports missing, unexpected and misshapen tensors", "[models]") {
  const std::string dir = models_dir() + "bert-base";
  const ModelConfig config = load_config(dir);

  SECTION("a missing tensor") {
    auto tensors = tensors_of("bert-base");
    tensors.erase("encoder.layer.1.output.dense.bias");
    const std::string path = write_checkpoint("missing", tensors);
    CHECK(error_of([&] { build_model(config, Checkpoint::load_file(path)); }) ==
          path +
              ": weights do not fit the model: 1 missing tensor: "
              "encoder.layer.1.output.dense.bias");
  }
  SECTION("an unexpected tensor") {
    auto tensors = tensors_of("bert-base");
    tensors["encoder.layer.1.extra.weight"] = at::zeros({2});
    const std::string path = write_checkpoint("unexpected", tensors);
    CHECK(error_of([&] { build_model(config, Checkpoint::load_file(path)); }) ==
          path +
              ": weights do not fit the model: 1 unexpected tensor: "
              "encoder.layer.1.extra.weight");
  }
  SECTION("both, and the full lists in LoadError") {
    ModelConfig one_layer = config;
    one_layer.raw["num_hidden_layers"] = 3;
    try {
      build_model(one_layer, Checkpoint::load(dir));
      FAIL("no error");
    } catch (const LoadError& e) {
      CHECK(e.report.missing.size() == 16);
      CHECK(e.report.missing.front() == "encoder.layer.2.attention.output.LayerNorm.bias");
      CHECK(e.report.unexpected.empty());
      CHECK(std::string(e.what()).find(": weights do not fit the model: 16 missing tensors: "
                                       "encoder.layer.2.attention.output.LayerNorm.bias, ") !=
            std::string::npos);
      CHECK(std::string(e.what()).find("... (0 more)") == std::string::npos);
    }
  }
  SECTION("a tensor of the wrong shape") {
    ModelConfig narrow = config;
    narrow.raw["intermediate_size"] = 36;
    CHECK(error_of([&] { build_model(narrow, Checkpoint::load(dir)); }) ==
          dir +
              "/model.safetensors: tensor \"encoder.layer.0.intermediate.dense.weight\" has "
              "shape [37, 32], the model expects [36, 32]");
  }
  SECTION("a head whose weights a base checkpoint lacks") {
    CHECK(error_of([&] { build_model(config, Checkpoint::load(dir), "text-classification"); }) ==
          dir +
              "/model.safetensors: weights do not fit the model: 2 missing tensors: "
              "classifier.bias, classifier.weight");
  }
  SECTION("a non-floating tensor") {
    auto tensors = tensors_of("bert-base");
    tensors["pooler.dense.bias"] = at::zeros({32}, at::kLong);
    const std::string path = write_checkpoint("long", tensors);
    CHECK(error_of([&] { build_model(config, Checkpoint::load_file(path)); }) ==
          path + ": tensor \"pooler.dense.bias\" has dtype Long, expected a floating-point tensor");
  }
}

TEST_CASE("models: WeightLoader resolves transformers' name variants", "[models]") {
  const std::string mlm = models_dir() + "bert-mlm";
  const Checkpoint ref = Checkpoint::load_file(mlm + "/reference.safetensors");
  const std::vector<at::Tensor> inputs = {ref.at("input_ids"), ref.at("attention_mask"),
                                          ref.at("token_type_ids")};
  c10::InferenceMode guard;

  SECTION("a head checkpoint as its base model: the head's weights are unused") {
    const BuiltModel base =
        build_model(load_config(mlm), Checkpoint::load(mlm), "feature-extraction");
    CHECK(base.output_names == std::vector<std::string>{"last_hidden_state"});  // no pooler saved
    CHECK(base.load.unused == std::vector<std::string>{"cls.predictions.bias",
                                                       "cls.predictions.transform.LayerNorm.bias",
                                                       "cls.predictions.transform.LayerNorm.weight",
                                                       "cls.predictions.transform.dense.bias",
                                                       "cls.predictions.transform.dense.weight"});
    CHECK(max_abs_diff(base.forward(inputs)[0], ref.at("hidden_states.2")) <= kAtol);
    // Parameters are named as in BertModel: no "bert." prefix.
    CHECK(parameter_names(*base.module, false).count("embeddings.word_embeddings.weight") == 1);
  }
  SECTION("... which is an error when strict") {
    BuildOptions strict;
    strict.strict = true;
    CHECK(error_of([&] {
            build_model(load_config(mlm), Checkpoint::load(mlm), "feature-extraction", strict);
          }) == mlm +
                    "/model.safetensors: weights do not fit the model: 5 unexpected tensors: "
                    "cls.predictions.bias, cls.predictions.transform.LayerNorm.bias, "
                    "cls.predictions.transform.LayerNorm.weight, "
                    "cls.predictions.transform.dense.bias, cls.predictions.transform.dense.weight");
  }
  SECTION("a checkpoint without the base prefix in a head model") {
    std::map<std::string, at::Tensor> tensors;
    for (const auto& [k, t] : tensors_of("bert-mlm"))
      tensors[k.rfind("bert.", 0) == 0 ? k.substr(5) : k] = t;
    const std::string path = write_checkpoint("unprefixed", tensors);
    const BuiltModel m = build_model(load_config(mlm), Checkpoint::load_file(path));
    CHECK(max_abs_diff(m.forward(inputs)[0], ref.at("output.0")) <= kAtol);
    CHECK(parameter_names(*m.module, false).count("bert.embeddings.word_embeddings.weight") == 1);
  }
  SECTION("old gamma / beta LayerNorm names") {
    std::map<std::string, at::Tensor> tensors;
    for (const auto& [k, t] : tensors_of("bert-mlm")) {
      std::string name = k;
      if (name.find("LayerNorm.weight") != std::string::npos)
        name.replace(name.find("LayerNorm.weight") + 10, 6, "gamma");
      if (name.find("LayerNorm.bias") != std::string::npos)
        name.replace(name.find("LayerNorm.bias") + 10, 4, "beta");
      tensors[name] = t;
    }
    REQUIRE(tensors.count("bert.embeddings.LayerNorm.gamma") == 1);
    const std::string path = write_checkpoint("gamma", tensors);
    const BuiltModel m = build_model(load_config(mlm), Checkpoint::load_file(path));
    CHECK(max_abs_diff(m.forward(inputs)[0], ref.at("output.0")) <= kAtol);
  }
  SECTION("buffers old versions saved are ignored") {
    auto tensors = tensors_of("bert-mlm");
    tensors["bert.embeddings.position_ids"] = at::arange(64).unsqueeze(0);
    const std::string path = write_checkpoint("buffers", tensors);
    const BuiltModel m = build_model(load_config(mlm), Checkpoint::load_file(path));
    CHECK(m.load.ignored == std::vector<std::string>{"bert.embeddings.position_ids"});
  }
  SECTION("another head's weights under BertForPreTraining") {
    auto tensors = tensors_of("bert-mlm");
    tensors["cls.seq_relationship.weight"] = at::zeros({2, 32});
    tensors["cls.seq_relationship.bias"] = at::zeros({2});
    const std::string path = write_checkpoint("pretraining", tensors);
    ModelConfig config = load_config(mlm);
    config.architectures = {"BertForPreTraining"};
    const BuiltModel m = build_model(config, Checkpoint::load_file(path));
    CHECK(m.hf_class == "BertForMaskedLM");
    CHECK(m.load.unused ==
          std::vector<std::string>{"cls.seq_relationship.bias", "cls.seq_relationship.weight"});
    CHECK(max_abs_diff(m.forward(inputs)[0], ref.at("output.0")) <= kAtol);
  }
  SECTION("F16 and BF16 checkpoints load as fp32") {
    for (at::ScalarType half : {at::kHalf, at::kBFloat16}) {
      std::map<std::string, at::Tensor> tensors;
      for (const auto& [k, t] : tensors_of("bert-mlm")) tensors[k] = t.to(half);
      const std::string path = write_checkpoint("half", tensors);
      const BuiltModel m = build_model(load_config(mlm), Checkpoint::load_file(path));
      for (const auto& p : m.module->named_parameters())
        CHECK(p.value().scalar_type() == at::kFloat);
      CHECK(max_abs_diff(m.forward(inputs)[0], ref.at("output.0")) <= 0.1);
    }
  }
}

TEST_CASE("models: tied weights are cloned, weights are owned", "[models]") {
  const std::string mlm = models_dir() + "bert-mlm";
  const Checkpoint ckpt = Checkpoint::load(mlm);
  const BuiltModel m = build_model(load_config(mlm), ckpt);
  CHECK(m.load.tied ==
        std::vector<std::pair<std::string, std::string>>{
            {"cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight"}});
  std::map<std::string, at::Tensor> params;
  for (const auto& p : m.module->named_parameters()) params[p.key()] = p.value();
  const at::Tensor& decoder = params.at("cls.predictions.decoder.weight");
  const at::Tensor& embeddings = params.at("bert.embeddings.word_embeddings.weight");
  CHECK(at::equal(decoder, embeddings));
  CHECK(decoder.data_ptr() != embeddings.data_ptr());
  std::set<const void*> mapped;
  for (const auto& [k, t] : ckpt.tensors()) mapped.insert(t.data_ptr());
  for (const auto& [name, p] : params) {
    INFO(name);
    CHECK(p.is_contiguous());
    CHECK(p.scalar_type() == at::kFloat);
    CHECK_FALSE(p.requires_grad());
    CHECK(mapped.count(p.data_ptr()) == 0);
  }

  SECTION("the decoder from the checkpoint when tie_word_embeddings is false") {
    const std::string bin = models_dir() + "bert-mlm-bin";
    ModelConfig config = load_config(bin);
    config.tie_word_embeddings = false;
    CHECK(build_model(config, Checkpoint::load(bin)).load.tied.empty());
    config = load_config(mlm);
    config.tie_word_embeddings = false;
    // Untied, transformers 5 ties neither the decoder's weight nor its bias
    // (bert-mlm's safetensors dropped both as tied).
    CHECK(error_of([&] { build_model(config, ckpt); }) ==
          mlm +
              "/model.safetensors: weights do not fit the model: 2 missing tensors: "
              "cls.predictions.decoder.bias, cls.predictions.decoder.weight");
  }
}

TEST_CASE("models: parameter names are transformers' state-dict keys", "[models]") {
  auto names_of = [](const std::string& folder, bool buffers) {
    const std::string dir = models_dir() + folder;
    return parameter_names(*build_model(load_config(dir), Checkpoint::load(dir)).module, buffers);
  };
  auto keys = [](const std::string& folder) {
    return keys_of(Checkpoint::load(models_dir() + folder));
  };
  for (const char* f : {"bert-base", "bert-seqcls", "bert-tokcls", "bert-qa", "roberta-seqcls",
                        "xlm-roberta-base", "xlm-roberta-qa", "camembert-seqcls",
                        "distilbert-seqcls", "albert-seqcls", "electra-discriminator",
                        "gpt2-seqcls", "mpnet-base", "mpnet-seqcls", "mpnet-tokcls", "mpnet-qa"}) {
    INFO(f);
    CHECK(names_of(f, false) == keys(f));
  }
  // Tied decoders saved without their tensor; "decoder.bias" is "bias" in transformers.
  auto plus = [](std::set<std::string> s, const std::string& k) {
    s.insert(k);
    return s;
  };
  CHECK(names_of("bert-mlm", false) == plus(keys("bert-mlm"), "cls.predictions.decoder.weight"));
  CHECK(names_of("roberta-mlm", false) == plus(keys("roberta-mlm"), "lm_head.decoder.weight"));
  CHECK(names_of("albert-mlm", false) == plus(keys("albert-mlm"), "predictions.decoder.weight"));
  CHECK(names_of("distilbert-mlm", false) ==
        plus(keys("distilbert-mlm"), "vocab_projector.weight"));
  CHECK(names_of("electra-generator", false) ==
        plus(keys("electra-generator"), "generator_lm_head.weight"));
  CHECK(names_of("gpt2-lm", false) == plus(keys("gpt2-lm"), "lm_head.weight"));
  CHECK(names_of("mpnet-mlm", false) == plus(keys("mpnet-mlm"), "lm_head.decoder.weight"));
  // The sinusoidal table is a buffer.
  CHECK(names_of("distilbert-sinusoidal", true) == keys("distilbert-sinusoidal"));
  CHECK(names_of("distilbert-sinusoidal", false).count("embeddings.position_embeddings.weight") ==
        0);
}

TEST_CASE("models: DistilBERT's sinusoidal table is transformers'", "[models]") {
  const Checkpoint ckpt = Checkpoint::load(models_dir() + "distilbert-sinusoidal");
  const at::Tensor& saved = ckpt.at("embeddings.position_embeddings.weight");
  const at::Tensor table = sinusoidal_table(saved.size(0), saved.size(1));
  CHECK(max_abs_diff(table, saved) <= 1e-7);

  // Without the table in the checkpoint, the computed one gives the same outputs.
  auto tensors = tensors_of("distilbert-sinusoidal");
  tensors.erase("embeddings.position_embeddings.weight");
  const std::string path = write_checkpoint("sinusoidal", tensors);
  const std::string dir = models_dir() + "distilbert-sinusoidal";
  const BuiltModel m = build_model(load_config(dir), Checkpoint::load_file(path));
  const Checkpoint ref = Checkpoint::load_file(dir + "/reference.safetensors");
  c10::InferenceMode guard;
  const auto out = m.forward({ref.at("input_ids"), ref.at("attention_mask")});
  CHECK(max_abs_diff(out[0], ref.at("output.0")) <= kAtol);
}

TEST_CASE("models: activations match transformers' ACT2FN", "[models]") {
  // transformers.activations.ACT2FN[name](x) from transformers 4.47.1 / torch 1.13.
  const std::vector<float> x = {-12, -7, -4, -2.5, -1, -0.3f, 0, 0.3f, 1, 2.5, 4, 7, 12};
  // clang-format off
  const std::vector<std::pair<std::string, std::vector<float>>> expected = {
      {"gelu", {0, 0, -0.000126719475f, -0.0155241787f, -0.158655286f, -0.114626586f, 0, 0.185373425f, 0.841344714f, 2.48447585f, 3.99987316f, 7, 12}},
      {"gelu_10", {0, 0, -0.000126719475f, -0.0155241787f, -0.158655286f, -0.114626586f, 0, 0.185373425f, 0.841344714f, 2.48447585f, 3.99987316f, 7, 10}},
      {"gelu_accurate", {-0.f, -0.f, -7.02142715e-05f, -0.0150842965f, -0.158807993f, -0.114629082f, 0, 0.185370937f, 0.841192007f, 2.48491573f, 3.9999299f, 7, 12}},
      {"gelu_fast", {-0.f, -0.f, -7.02142715e-05f, -0.0150842965f, -0.158807993f, -0.114629082f, 0, 0.185370937f, 0.841192007f, 2.48491573f, 3.9999299f, 7, 12}},
      {"gelu_new", {-0.f, -0.f, -7.02142715e-05f, -0.0150842965f, -0.158807993f, -0.114629082f, 0, 0.185370937f, 0.841192007f, 2.48491573f, 3.9999299f, 7, 12}},
      {"gelu_python", {-0.f, -0.f, -0.000126719475f, -0.0155241787f, -0.158655256f, -0.114626579f, 0, 0.18537344f, 0.841344714f, 2.48447585f, 3.99987316f, 7, 12}},
      {"gelu_pytorch_tanh", {-0.f, -0.f, -7.02142715e-05f, -0.0150842965f, -0.158807993f, -0.114629082f, 0, 0.185370937f, 0.841192007f, 2.48491573f, 3.9999299f, 7, 12}},
      {"laplace", {0, 0, 0, 0, 0, 0.000178426504f, 0.00609445572f, 0.074488312f, 0.850429654f, 1, 1, 1, 1}},
      {"leaky_relu", {-0.119999997f, -0.0700000003f, -0.0399999991f, -0.0249999985f, -0.00999999978f, -0.00300000003f, 0, 0.300000012f, 1, 2.5f, 4, 7, 12}},
      {"linear", {-12, -7, -4, -2.5f, -1, -0.300000012f, 0, 0.300000012f, 1, 2.5f, 4, 7, 12}},
      {"mish", {-7.37303199e-05f, -0.00638026372f, -0.0725917518f, -0.196816191f, -0.30340144f, -0.15113318f, 0, 0.20800139f, 0.865098357f, 2.47139239f, 3.99741292f, 6.99998856f, 12}},
      {"quick_gelu", {-1.61864211e-08f, -4.68716717e-05f, -0.00441472372f, -0.0349861607f, -0.154204234f, -0.112515867f, 0, 0.187484145f, 0.845795751f, 2.46501398f, 3.99558496f, 6.99995327f, 12}},
      {"relu", {0, 0, 0, 0, 0, 0, 0, 0.300000012f, 1, 2.5f, 4, 7, 12}},
      {"relu2", {0, 0, 0, 0, 0, 0, 0, 0.0900000036f, 1, 6.25f, 16, 49, 144}},
      {"relu6", {0, 0, 0, 0, 0, 0, 0, 0.300000012f, 1, 2.5f, 4, 6, 6}},
      {"sigmoid", {6.14417422e-06f, 0.000911051175f, 0.0179862101f, 0.0758581758f, 0.268941432f, 0.425557494f, 0.5f, 0.574442506f, 0.731058598f, 0.924141824f, 0.982013762f, 0.999089003f, 0.999993801f}},
      {"silu", {-7.37300943e-05f, -0.00637735846f, -0.0719448403f, -0.189645454f, -0.268941432f, -0.127667248f, 0, 0.172332764f, 0.731058598f, 2.31035447f, 3.92805505f, 6.99362278f, 11.9999256f}},
      {"swish", {-7.37300943e-05f, -0.00637735846f, -0.0719448403f, -0.189645454f, -0.268941432f, -0.127667248f, 0, 0.172332764f, 0.731058598f, 2.31035447f, 3.92805505f, 6.99362278f, 11.9999256f}},
      {"tanh", {-1, -0.999998331f, -0.999329329f, -0.986614287f, -0.761594176f, -0.291312635f, 0, 0.291312635f, 0.761594176f, 0.986614287f, 0.999329329f, 0.999998331f, 1}},
  };
  // clang-format on
  const at::Tensor input = at::tensor(x);
  const ModelConfig config = parse_config(R"({"model_type": "bert"})", "config.json");
  for (const auto& [name, want] : expected) {
    INFO(name);
    const at::Tensor got = activate(parse_activation(name, config, "hidden_act"), input);
    CHECK(max_abs_diff(got, at::tensor(want)) <= 1e-6);
  }
}

TEST_CASE("models: GPT-2 options", "[models]") {
  const std::string dir = models_dir() + "gpt2-lm";
  const ModelConfig config = load_config(dir);
  const Checkpoint ckpt = Checkpoint::load(dir);
  BuildOptions no_cache;
  no_cache.use_cache = false;
  const BuiltModel m = build_model(config, ckpt, "", no_cache);
  CHECK(m.output_names == std::vector<std::string>{"logits"});
  CHECK(build_model(config, ckpt).output_names ==
        std::vector<std::string>{"logits", "present.0.key", "present.0.value", "present.1.key",
                                 "present.1.value"});
  const Checkpoint ref = Checkpoint::load_file(dir + "/reference.safetensors");
  c10::InferenceMode guard;
  CHECK(max_abs_diff(m.forward({ref.at("input_ids"), ref.at("attention_mask")})[0],
                     ref.at("output.0")) <= kAtol);
  // The base model's last hidden state is the LM's last hidden state.
  const BuiltModel base = build_model(config, ckpt, "feature-extraction", no_cache);
  CHECK(base.hf_class == "GPT2Model");
  CHECK(max_abs_diff(base.forward({ref.at("input_ids"), ref.at("attention_mask")})[0],
                     ref.at("hidden_states.2")) <= kAtol);
}

TEST_CASE("models: the parity check sees a one-setting change", "[models]") {
  // gelu (erf) and gelu_new (tanh) differ by up to ~5e-4: parity must notice.
  const std::string dir = models_dir() + "bert-mlm";
  ModelConfig config = load_config(dir);
  REQUIRE(config.get_string("hidden_act", "") == "gelu");
  config.raw["hidden_act"] = "gelu_new";
  const BuiltModel m = build_model(config, Checkpoint::load(dir));
  const Checkpoint ref = Checkpoint::load_file(dir + "/reference.safetensors");
  c10::InferenceMode guard;
  const auto out =
      m.forward({ref.at("input_ids"), ref.at("attention_mask"), ref.at("token_type_ids")});
  CHECK(max_abs_diff(out[0], ref.at("output.0")) > kAtol);
}

TEST_CASE("models: traces record no in-place ops and follow new input values", "[models]") {
  // What the tracer gets from our forwards: traced on random ids, the graph
  // must then reproduce transformers' outputs on the reference inputs (nothing
  // value-dependent baked in: RoBERTa positions, GPT-2's pooled index).
  for (const char* f :
       {"bert-mlm", "roberta-seqcls", "distilbert-seqcls", "albert-mlm", "electra-generator",
        "gpt2-options", "gpt2-seqcls", "modernbert-seqcls", "modernbert-qa", "deberta-v2-mlm",
        "deberta-v2-mlm-legacy", "mpnet-seqcls", "mpnet-base"}) {
    INFO(f);
    const std::string dir = models_dir() + f;
    const ModelConfig config = load_config(dir);
    const BuiltModel m = build_model(config, Checkpoint::load(dir));
    const Checkpoint ref = Checkpoint::load_file(dir + "/reference.safetensors");
    const auto meta = nlohmann::json::parse(read_text_file(dir + "/reference.json"));

    torch::jit::Stack dummy;
    for (const auto& name : m.input_names) {
      const at::Tensor r = reference_input(ref, name);
      if (name == "input_ids")
        dummy.emplace_back(at::randint(config.vocab_size, r.sizes(), r.options()));
      else if (name == "attention_mask")
        dummy.emplace_back(at::ones_like(r));
      else
        dummy.emplace_back(at::zeros_like(r));
    }
    torch::NoGradGuard no_grad;
    auto traced = torch::jit::tracer::trace(
        dummy,
        [&](torch::jit::Stack in) {
          std::vector<at::Tensor> tensors;
          for (const auto& v : in) tensors.push_back(v.toTensor());
          torch::jit::Stack out;
          for (const auto& t : m.forward(tensors)) out.emplace_back(t);
          return out;
        },
        [](const at::Tensor&) { return std::string(); });
    const std::shared_ptr<torch::jit::Graph> graph = traced.first->graph;
    for (const torch::jit::Node* node : graph->nodes()) {
      const std::string kind = node->kind().toUnqualString();
      INFO(kind);
      CHECK(kind.back() != '_');
    }
    torch::jit::GraphExecutor executor(graph, "forward");
    torch::jit::Stack stack;
    for (const auto& name : m.input_names) stack.emplace_back(reference_input(ref, name));
    executor.run(stack);
    REQUIRE(stack.size() == meta["outputs"].size());
    for (size_t i = 0; i < stack.size(); ++i)
      CHECK(max_abs_diff(stack[i].toTensor(), ref.at(meta["outputs"][i]["name"])) <= kAtol);
  }
}

TEST_CASE("models: weights in another dtype", "[models]") {
  for (const char* f : {"bert-mlm", "distilbert-sinusoidal", "gpt2-options"}) {
    INFO(f);
    const std::string dir = models_dir() + f;
    BuildOptions bf16;
    bf16.dtype = at::kBFloat16;
    const BuiltModel m = build_model(load_config(dir), Checkpoint::load(dir), "", bf16);
    for (const auto& p : m.module->named_parameters())
      CHECK(p.value().scalar_type() == at::kBFloat16);
    const Checkpoint ref = Checkpoint::load_file(dir + "/reference.safetensors");
    std::vector<at::Tensor> inputs;
    for (const auto& name : m.input_names) inputs.push_back(reference_input(ref, name));
    c10::InferenceMode guard;
    const at::Tensor out = m.forward(inputs)[0];
    CHECK(out.scalar_type() == at::kBFloat16);
    CHECK(max_abs_diff(out, ref.at("output.0")) <= 0.25);
  }
}

TEST_CASE("models: DeBERTa-v2's heads, names and config errors", "[models]") {
  auto build = [](const std::string& folder, const std::function<void(ModelConfig&)>& edit = {}) {
    const std::string dir = models_dir() + folder;
    ModelConfig config = load_config(dir);
    if (edit) edit(config);
    return build_model(config, Checkpoint::load(dir));
  };
  auto keys = [](const std::string& folder) {
    return keys_of(Checkpoint::load(models_dir() + folder));
  };
  for (const char* f : {"deberta-v2-base", "deberta-v2-seqcls", "deberta-v2-tokcls",
                        "deberta-v2-qa", "deberta-v2-mlm"}) {
    INFO(f);  // lm_predictions multiplies by the input embeddings themselves: no decoder to add
    CHECK(parameter_names(*build(f).module, true) == keys(f));
  }
  std::set<std::string> legacy = keys("deberta-v2-mlm-legacy");
  legacy.insert("cls.predictions.decoder.weight");
  CHECK(parameter_names(*build("deberta-v2-mlm-legacy").module, true) == legacy);

  // The modules are transformers' classes, so a trace reads as the Python model (the tracer
  // drops the C++ namespace).
  auto type_of = [](const std::shared_ptr<torch::nn::Module>& m) {
    const std::string n = m->name();
    return n.substr(n.rfind(':') == std::string::npos ? 0 : n.rfind(':') + 1);
  };
  const BuiltModel mlm = build("deberta-v2-mlm"), old = build("deberta-v2-mlm-legacy"),
                   cls = build("deberta-v2-seqcls");
  CHECK(type_of(mlm.module->named_children()["lm_predictions"]) == "DebertaV2OnlyMLMHead");
  CHECK(type_of(old.module->named_children()["cls"]) == "LegacyDebertaV2OnlyMLMHead");
  CHECK(type_of(cls.module->named_children()["pooler"]) == "ContextPooler");
  const auto deberta = old.module->named_children()["deberta"];
  CHECK(type_of(deberta) == "DebertaV2Model");
  CHECK(type_of(deberta->named_children()["encoder"]->named_children()["conv"]) == "ConvLayer");
  CHECK(type_of(deberta->named_children()["encoder"]
                    ->named_children()["layer"]
                    ->named_children()["0"]
                    ->named_children()["output"]) == "DebertaV2Output");

  // Untied (transformers 5 then ties neither the weight nor the bias), the legacy decoder is the
  // checkpoint's own: this one was saved tied, without it.
  const std::string untied = error_of([&] {
    build("deberta-v2-mlm-legacy", [](ModelConfig& c) {
      c.raw["tie_word_embeddings"] = false;
      c.tie_word_embeddings = false;
    });
  });
  CHECK_THAT(
      untied,
      Catch::Contains(
          "2 missing tensors: cls.predictions.decoder.bias, cls.predictions.decoder.weight"));

  // What transformers builds but cannot run is refused, naming the field.
  const std::string path = models_dir() + "deberta-v2-base/config.json: ";
  auto refused = [&](const char* key, nlohmann::json value) {
    return error_of([&] { build("deberta-v2-base", [&](ModelConfig& c) { c.raw[key] = value; }); });
  };
  CHECK(refused("attention_head_size", 16) ==
        path + "\"attention_head_size\" (16) times num_attention_heads must be hidden_size (32)");
  CHECK(refused("pooler_hidden_size", 16) ==
        path + "\"pooler_hidden_size\" (16) must be hidden_size (32)");
  CHECK(refused("conv_kernel_size", 2) ==
        path + "\"conv_kernel_size\" must be odd and \"conv_groups\" divide hidden_size");
  CHECK(error_of([&] {
          build("deberta-v2-base", [](ModelConfig& c) {
            c.raw["legacy"] = false;
            c.raw["embedding_size"] = 16;
          });
        }) == path + "\"legacy\": false (lm_predictions) needs embedding_size == hidden_size");
  CHECK(refused("pos_att_type", 3) ==
        path + "\"pos_att_type\" must be a string or a list of strings");

  // "p2c|c2p", the string form of old configs, is the list.
  const BuiltModel str =
      build("deberta-v2-base", [](ModelConfig& c) { c.raw["pos_att_type"] = "P2C | c2p"; });
  const Checkpoint ref =
      Checkpoint::load_file(models_dir() + "deberta-v2-base/reference.safetensors");
  c10::InferenceMode guard;
  const auto out =
      str.forward({ref.at("input_ids"), ref.at("attention_mask"), ref.at("token_type_ids")});
  CHECK(max_abs_diff(out[0], ref.at("output.0")) <= kAtol);
  // ... and without c2p the scores change (the parity check would see a lost term).
  const BuiltModel p2c =
      build("deberta-v2-base", [](ModelConfig& c) { c.raw["pos_att_type"] = "p2c"; });
  CHECK(max_abs_diff(p2c.forward({ref.at("input_ids"), ref.at("attention_mask"),
                                  ref.at("token_type_ids")})[0],
                     ref.at("output.0")) > kAtol);
}

TEST_CASE("models: ModernBERT's names, config forms and errors", "[models]") {
  auto build = [](const std::string& folder, const std::function<void(ModelConfig&)>& edit = {},
                  const std::string& task = "") {
    const std::string dir = models_dir() + folder;
    ModelConfig config = load_config(dir);
    if (edit) edit(config);
    BuildOptions options;
    options.strict = task.empty() ? std::optional<bool>() : std::optional<bool>(false);
    return build_model(config, Checkpoint::load(dir), task, options);
  };
  auto keys = [](const std::string& folder) {
    return keys_of(Checkpoint::load(models_dir() + folder));
  };
  // The first output's largest difference from transformers' on the fixture's reference inputs.
  auto diff = [](const BuiltModel& m, const std::string& folder) {
    const Checkpoint ref = Checkpoint::load_file(models_dir() + folder + "/reference.safetensors");
    c10::InferenceMode guard;
    return max_abs_diff(m.forward({ref.at("input_ids"), ref.at("attention_mask")})[0],
                        ref.at("output.0"));
  };

  // Parameters are the checkpoint's keys (tokcls has every bias, base none); the tied decoder is
  // added; the rotary tables are the only buffers (transformers never saves them).
  for (const char* f :
       {"modernbert-base", "modernbert-tokcls", "modernbert-seqcls", "modernbert-qa"}) {
    INFO(f);
    CHECK(parameter_names(*build(f).module, false) == keys(f));
  }
  std::set<std::string> mlm = keys("modernbert-mlm");
  mlm.insert("decoder.weight");
  CHECK(parameter_names(*build("modernbert-mlm").module, false) == mlm);
  std::set<std::string> buffers;
  for (const auto& b : build("modernbert-base").module->named_buffers()) buffers.insert(b.key());
  CHECK(buffers == std::set<std::string>{"rotary_emb.full_attention_inv_freq",
                                         "rotary_emb.sliding_attention_inv_freq"});

  // Published configs say global_attn_every_n_layers, global_rope_theta and local_rope_theta (no
  // layer_types, no rope_parameters): transformers 5 reads them as the same model (checked with
  // .venv-ref: identical logits), and so does hfjit.
  auto published = [](ModelConfig& c) {
    c.raw.erase("layer_types");
    c.raw.erase("rope_parameters");
    c.raw["global_attn_every_n_layers"] = 2;
    c.raw["global_rope_theta"] = 160000.0;
    c.raw["local_rope_theta"] = 10000.0;
  };
  CHECK(diff(build("modernbert-mlm", published), "modernbert-mlm") <= kAtol);
  // Each of those settings matters on the fixture (transformers: local_rope_theta 20000 moves the
  // logits by 2.2e-3), as the window, the pooling and the classifier activation do.
  auto with = [&](const char* key, nlohmann::json value) {
    return [=](ModelConfig& c) {
      published(c);
      c.raw[key] = value;
    };
  };
  CHECK(diff(build("modernbert-mlm", with("local_rope_theta", 20000.0)), "modernbert-mlm") > kAtol);
  CHECK(diff(build("modernbert-mlm", with("global_rope_theta", 10000.0)), "modernbert-mlm") >
        kAtol);
  CHECK(diff(build("modernbert-mlm", with("global_attn_every_n_layers", 3)), "modernbert-mlm") >
        kAtol);
  CHECK(diff(build("modernbert-mlm", with("local_attention", 4)), "modernbert-mlm") > kAtol);
  CHECK(
      diff(build("modernbert-seqcls", [](ModelConfig& c) { c.raw["classifier_pooling"] = "cls"; }),
           "modernbert-seqcls") > kAtol);
  CHECK(diff(build("modernbert-seqcls",
                   [](ModelConfig& c) { c.raw["classifier_activation"] = "gelu"; }),
             "modernbert-seqcls") > kAtol);

  // The heads are transformers' classes, so a trace reads as the Python model.
  const BuiltModel cls = build("modernbert-seqcls");
  CHECK(cls.module->named_children()["head"]->name() == "hfjit::models::ModernBertPredictionHead");
  const auto layers = cls.module->named_children()["model"]->named_children()["layers"];
  CHECK(layers->named_children()["0"]->named_children().size() ==
        3);  // attn_norm is nn.Identity on layer 0
  CHECK(layers->named_children()["1"]->named_children()["attn_norm"]->name() ==
        "hfjit::models::LayerNorm");

  // What transformers 5 would not build is refused, naming the field.
  const std::string path = models_dir() + "modernbert-base/config.json: ";
  auto refused = [&](const std::function<void(ModelConfig&)>& edit) {
    return error_of([&] { build("modernbert-base", edit); });
  };
  CHECK(refused([](ModelConfig& c) {
          c.raw["rope_parameters"]["sliding_attention"]["rope_type"] = "linear";
        }) == path +
                  "\"rope_parameters\"[\"sliding_attention\"] has rope type \"linear\"; only "
                  "\"default\" is supported");
  CHECK(refused([](ModelConfig& c) { c.raw["layer_types"][1] = "chunked_attention"; }) ==
        path +
            "\"layer_types\" has \"chunked_attention\"; supported: \"full_attention\", "
            "\"sliding_attention\"");
  CHECK(refused([](ModelConfig& c) { c.raw["layer_types"].erase(2); }) ==
        path + "\"layer_types\" must list one type per layer (3 layers)");
  CHECK(refused([](ModelConfig& c) { c.raw["classifier_pooling"] = "max"; }) ==
        path + "\"classifier_pooling\" is \"max\"; supported: \"cls\", \"mean\"");
  CHECK(refused([&](ModelConfig& c) {
          published(c);
          c.raw["local_rope_theta"] = nullptr;
        }) == path + "\"local_rope_theta\" is null; it must be a number");
  // (with rope_parameters, transformers 5 never reads a null local_rope_theta: neither does hfjit)
  CHECK(refused([](ModelConfig& c) { c.raw["local_rope_theta"] = nullptr; }) == "(no error)");

  // Question answering on a 5-label checkpoint builds (as in transformers) but cannot split its
  // logits.
  const BuiltModel qa = build("modernbert-tokcls", {}, "question-answering");
  CHECK(qa.output_names == std::vector<std::string>{"start_logits", "end_logits"});
  const std::string split = error_of([&] { diff(qa, "modernbert-tokcls"); });
  CHECK(split ==
        "ModernBertForQuestionAnswering needs 2 labels (start and end logits); the config has 5");
}

TEST_CASE("models: MPNet's names, positions and config errors", "[models]") {
  const std::string dir = models_dir() + "mpnet-mlm";
  auto build = [&](const std::function<void(ModelConfig&)>& edit) {
    ModelConfig config = load_config(dir);
    edit(config);
    return build_model(config, Checkpoint::load(dir));
  };
  auto type_of = [](const std::shared_ptr<torch::nn::Module>& m) {
    const std::string n = m->name();
    return n.substr(n.rfind(':') == std::string::npos ? 0 : n.rfind(':') + 1);
  };
  const BuiltModel mlm = build([](ModelConfig&) {});
  const auto mpnet = mlm.module->named_children()["mpnet"];
  CHECK(type_of(mlm.module->named_children()["lm_head"]) == "MPNetLMHead");
  CHECK(type_of(mpnet) == "MPNetModel");
  const auto encoder = mpnet->named_children()["encoder"];
  CHECK(type_of(encoder) == "MPNetEncoder");
  const auto layer = encoder->named_children()["layer"]->named_children()["0"];
  CHECK(type_of(layer) == "MPNetLayer");
  const auto attention = layer->named_children()["attention"];
  CHECK(type_of(attention->named_children()["attn"]) == "MPNetSelfAttention");

  // MPNetEmbeddings counts positions from padding_idx 1 whatever pad_token_id says (transformers'
  // logits on the reference inputs are the same with pad_token_id 0).
  const BuiltModel pad0 = build([](ModelConfig& c) {
    c.raw["pad_token_id"] = 0;
    c.pad_token_id = 0;
  });
  const Checkpoint ref = Checkpoint::load_file(dir + "/reference.safetensors");
  {
    c10::InferenceMode guard;
    const auto out = pad0.forward({ref.at("input_ids"), ref.at("attention_mask")});
    CHECK(max_abs_diff(out[0], ref.at("output.0")) <= kAtol);
  }

  // MPNetEncoder always buckets into 32: a smaller table is refused (transformers fails on any
  // sequence whose distances reach a missing bucket).
  const std::string refused = error_of(
      [&] { build([](ModelConfig& c) { c.raw["relative_attention_num_buckets"] = 31; }); });
  CHECK(refused ==
        dir +
            "/config.json: \"relative_attention_num_buckets\" is 31; MPNetEncoder buckets "
            "relative positions into 32 (transformers fails with an IndexError once a "
            "sequence reaches a missing one)");
}
