// sentence-transformers' modules after the encoder (hfjit/sentence_transformers.h):
// `trace --task sentence-embedding` + `run` against sentence-transformers 6.2 on a
// tiny model of each encoder family (tests/fixtures/st/<case>/, written by
// scripts/fixtures/make_st_fixtures.py: the case's sentence-transformers files
// and SentenceTransformer(folder).encode of its sentences), the activations of
// Dense against torch, the pooling of left-padded rows, and the one-line error
// for each bad configuration, at trace time (the folder) and at run time (a
// tampered artifact).

#include <ATen/ATen.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/run/runner.h"
#include "hfjit/sentence_transformers.h"
#include "hfjit/torchscript_file.h"
#include "hfjit/trace.h"
#include "test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace hfjit::test {
namespace {

// Every value within this of sentence-transformers' (float32 through the same
// float32 arithmetic; the largest difference seen is under 5e-7).
constexpr double kAtol = 1e-5;

json load_json(const std::string& path) {
  return json::parse(read_text_file(path));
}

// dest: tests/fixtures/models/<base> with the case's files laid over it (the
// folder make_st_fixtures.py computed the reference from).
std::string assemble(const std::string& name, const std::string& dest) {
  const fs::path st = fixture("st/" + name);
  const std::string base = load_json((st / "reference.json").string())["base"];
  fs::copy(fixture("models/" + base), dest, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(st)) {
    if (!e.is_regular_file() || e.path().filename() == "reference.json") continue;
    const fs::path target = fs::path(dest) / fs::relative(e.path(), st);
    fs::create_directories(target.parent_path());
    fs::copy_file(e.path(), target, fs::copy_options::overwrite_existing);
  }
  return dest;
}

TraceOptions st_trace(const json& ref, bool dynamic) {
  TraceOptions o;
  o.task = "sentence-embedding";
  o.max_length = ref["trace"]["max_length"].get<int64_t>();
  o.batch_size = ref["trace"]["batch_size"].get<int64_t>();
  o.dynamic = dynamic;
  return o;
}

// The largest difference of `got` (one embedding per sentence) from the reference's.
double worst_diff(const std::vector<std::vector<float>>& got, const json& ref) {
  REQUIRE(got.size() == ref["embeddings"].size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const json& want = ref["embeddings"][i];
    REQUIRE(got[i].size() == want.size());
    for (size_t k = 0; k < want.size(); ++k)
      worst = std::max(worst, std::abs(static_cast<double>(got[i][k]) - want[k].get<double>()));
  }
  return worst;
}

// The reference sentences through `hfjit run --json` (length-sorted batches).
std::vector<std::vector<float>> run_cli_embeddings(const TempFolder& tmp, const std::string& pt,
                                                   const json& ref) {
  std::string lines;
  for (const json& s : ref["sentences"]) lines += json{{"text", s}}.dump() + "\n";
  write_bytes(tmp / "in.jsonl", lines);
  const CliResult r = run_cli({"run", pt, "--input", tmp / "in.jsonl", "--json"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::vector<std::vector<float>> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    out.push_back(json::parse(line)["embedding"].get<std::vector<float>>());
  return out;
}

// The reference sentences through Runner::run, all in one call.
std::vector<std::vector<float>> runner_embeddings(const std::string& pt, const json& ref) {
  Runner runner(pt, RunOptions{});
  CHECK(runner.task() == "sentence-embedding");
  std::vector<RunInput> inputs;
  for (const json& s : ref["sentences"]) inputs.push_back({s, std::nullopt, std::nullopt, "ref"});
  std::vector<std::vector<float>> out;
  for (const RunResult& r : runner.run(inputs)) out.push_back(std::get<Embedding>(r).vector);
  return out;
}

// One case: a static trace run by the CLI, a --dynamic trace run by Runner.
void check_case(const std::string& name) {
  TempFolder tmp;
  const json ref = load_json(fixture("st/" + name + "/reference.json"));
  const std::string folder = assemble(name, tmp / "model");
  INFO(name << ": " << ref["description"].get<std::string>());
  trace_model(folder, tmp / "static.pt", st_trace(ref, false));
  const double static_diff = worst_diff(run_cli_embeddings(tmp, tmp / "static.pt", ref), ref);
  CHECK(static_diff < kAtol);
  trace_model(folder, tmp / "dynamic.pt", st_trace(ref, true));
  const double dynamic_diff = worst_diff(runner_embeddings(tmp / "dynamic.pt", ref), ref);
  CHECK(dynamic_diff < kAtol);
}

}  // namespace

TEST_CASE("st: the fixture cases are the ones tested here", "[st]") {
  std::set<std::string> cases;
  const json manifest = load_json(fixture("st/manifest.json"));
  for (const auto& [name, c] : manifest["cases"].items()) cases.insert(name);
  CHECK(cases == std::set<std::string>{
                     "albert-new-over-legacy-dense-bin", "bert-mean-legacy",
                     "camembert-cls-mean-max-dense", "deberta-v2-sqrt-dense-residual",
                     "distilbert-five-legacy-dropout", "electra-legacy-default-mean-dense",
                     "modernbert-weightedmean-two-dense", "mpnet-max-dense-identity-nobias",
                     "roberta-lasttoken-residual", "xlm-roberta-cls-dense-tanh",
                     "modernbert-lowercase-cls", "bert-default-prompt-mean"});
}

TEST_CASE("st: BERT, old-format mean pooling, Normalize, max_seq_length", "[st][run]") {
  check_case("bert-mean-legacy");
}
TEST_CASE("st: XLM-RoBERTa, cls pooling, Dense Tanh", "[st][run]") {
  check_case("xlm-roberta-cls-dense-tanh");
}
TEST_CASE("st: MPNet, max pooling, Dense Identity without bias, Normalize", "[st][run]") {
  check_case("mpnet-max-dense-identity-nobias");
}
TEST_CASE("st: DeBERTa-v2, mean_sqrt_len_tokens, Dense GELU with projected residual", "[st][run]") {
  check_case("deberta-v2-sqrt-dense-residual");
}
TEST_CASE("st: ModernBERT, weightedmean, two Dense in a row, Normalize", "[st][run]") {
  check_case("modernbert-weightedmean-two-dense");
}
TEST_CASE("st: RoBERTa, lasttoken, Dense Sigmoid with identity residual", "[st][run]") {
  check_case("roberta-lasttoken-residual");
}
TEST_CASE("st: CamemBERT, cls + mean + max concatenated, Dense, Normalize", "[st][run]") {
  check_case("camembert-cls-mean-max-dense");
}
TEST_CASE("st: DistilBERT, five old-format modes, include_prompt false, Dropout", "[st][run]") {
  check_case("distilbert-five-legacy-dropout");
}
TEST_CASE("st: ALBERT, pooling_mode over old keys, Dense weights in pytorch_model.bin",
          "[st][run]") {
  check_case("albert-new-over-legacy-dense-bin");
}
TEST_CASE("st: ELECTRA, all old keys false (mean), model_max_length, default activation",
          "[st][run]") {
  check_case("electra-legacy-default-mean-dense");
}

TEST_CASE("st: ModernBERT, do_lower_case (Lowercase before NFC), added token, cls", "[st][run]") {
  check_case("modernbert-lowercase-cls");
}
TEST_CASE("st: BERT, default prompt 'query: ' before each sentence, mean, Dense", "[st][run]") {
  check_case("bert-default-prompt-mean");
}

TEST_CASE("st: Dense's activations match torch.nn's", "[st]") {
  const json ref = load_json(fixture("st/activations.json"));
  const at::Tensor x = at::tensor(ref["inputs"].get<std::vector<float>>());
  size_t count = 0;
  for (const auto& [name, want] : ref["outputs"].items()) {
    INFO(name);
    const st::Activation fn = st::activation(name);
    REQUIRE(fn != nullptr);
    const at::Tensor got = fn(x);
    const at::Tensor expected = at::tensor(want.get<std::vector<float>>());
    CHECK((got - expected).abs().max().item<double>() <= 1e-6);
    ++count;
  }
  CHECK(count == 3 * 19);
  CHECK(st::activation("torch.nn.modules.linear.Tanh") == nullptr);
  CHECK(st::activation("torch.tanh") == nullptr);
  CHECK(st::activation("Tanh") == nullptr);
}

TEST_CASE("st: pooling a left-padded row gives what the unpadded row gives", "[st]") {
  // Every mode follows the mask: cls takes the first kept token, weightedmean's
  // weights start there, lasttoken takes the last kept one.
  const at::Tensor tokens = at::randn({1, 5, 3}, at::TensorOptions().dtype(at::kFloat));
  const at::Tensor padded = at::cat({at::full({1, 2, 3}, 7.0), tokens}, 1);
  const at::Tensor mask = at::ones({1, 5}, at::kLong);
  const at::Tensor padded_mask = at::cat({at::zeros({1, 2}, at::kLong), mask}, 1);
  using M = st::PoolingMode;
  for (M mode : {M::Cls, M::Max, M::Mean, M::MeanSqrtLen, M::WeightedMean, M::LastToken}) {
    st::Pooling p;
    p.modes = {mode};
    INFO(static_cast<int>(mode));
    CHECK(at::allclose(p.forward(tokens, mask), p.forward(padded, padded_mask), 1e-6, 1e-6));
  }
  st::Pooling all;
  all.modes = {M::LastToken, M::Cls};  // concatenated in the config's order
  const at::Tensor both = all.forward(tokens, mask);
  CHECK(at::equal(both.narrow(1, 0, 3), tokens.select(1, 4)));
  CHECK(at::equal(both.narrow(1, 3, 3), tokens.select(1, 0)));
}

namespace {

// A sentence-transformers model's files in memory, named "m.pt: <name>" as an artifact's are.
class MemoryFiles : public st::ModelFiles {
 public:
  std::map<std::string, std::string> files;
  std::optional<std::string> read(const std::string& name) const override {
    auto it = files.find(name);
    return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  std::string where(const std::string& name) const override { return "m.pt: " + name; }
};

// Transformer + Pooling (mean over 32) + a Dense 32 -> 16 (Tanh) + Normalize, with weights.
MemoryFiles good_model() {
  MemoryFiles m;
  m.files["modules.json"] = R"([
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
    {"idx": 3, "name": "3", "path": "3_Normalize",
     "type": "sentence_transformers.base.modules.normalize.Normalize"}])";
  m.files["1_Pooling/config.json"] = R"({"embedding_dimension": 32, "pooling_mode": "mean"})";
  m.files["2_Dense/config.json"] = R"({"in_features": 32, "out_features": 16})";
  st::Dense d;
  d.weight = at::randn({16, 32});
  d.bias = at::randn({16});
  m.files["2_Dense/model.safetensors"] = d.safetensors();
  return m;
}

// The error read_modules gives for good_model() after `edit`.
std::string modules_error(const std::function<void(MemoryFiles&)>& edit) {
  MemoryFiles m = good_model();
  edit(m);
  try {
    st::read_modules(m);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void set_json(MemoryFiles& m, const std::string& name, const std::function<void(json&)>& edit) {
  json j = m.files.count(name) ? json::parse(m.files[name]) : json::object();
  edit(j);
  m.files[name] = j.dump();
}

}  // namespace

TEST_CASE("st: reading modules.json, Pooling, Dense and Normalize", "[st]") {
  const st::Modules good = st::read_modules(good_model());
  REQUIRE(good.steps.size() == 2);
  CHECK(good.steps[0].kind == st::Step::Kind::Dense);
  CHECK(good.steps[0].dense.config == "m.pt: 2_Dense/config.json");
  CHECK(good.steps[1].kind == st::Step::Kind::Normalize);
  CHECK(good.max_seq_length == 0);
  CHECK(good.forward(at::randn({2, 5, 32}), at::ones({2, 5}, at::kLong)).sizes() ==
        at::IntArrayRef{2, 16});
  CHECK(good.weight_files().count("2_Dense/model.safetensors") == 1);

  auto pooling = [](const std::string& config) {
    MemoryFiles m = good_model();
    m.files["1_Pooling/config.json"] = config;
    return st::read_modules(m).pooling.modes;
  };
  using M = st::PoolingMode;
  using Modes = std::vector<M>;
  // Compared as ints: Catch cannot print the enum.
  auto ints = [](const Modes& modes) {
    std::vector<int> out;
    for (M m : modes) out.push_back(static_cast<int>(m));
    return out;
  };
  // The old keys in their concatenation order; none true is mean; pooling_mode wins.
  CHECK(ints(pooling(R"({"word_embedding_dimension": 32, "pooling_mode_lasttoken": true,
                    "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false})")) ==
        ints(Modes{M::Cls, M::LastToken}));
  CHECK(ints(pooling(R"({"word_embedding_dimension": 32, "pooling_mode_cls_token": false})")) ==
        ints(Modes{M::Mean}));
  CHECK(ints(pooling(R"({"embedding_dimension": 32})")) == ints(Modes{M::Mean}));
  CHECK(ints(pooling(R"({"embedding_dimension": 32, "pooling_mode": ["max", "cls", "max"],
                    "pooling_mode_mean_tokens": true})")) == ints(Modes{M::Max, M::Cls, M::Max}));
  CHECK(ints(pooling(R"({"embedding_dimension": 32, "pooling_mode": "mean_sqrt_len_tokens",
                    "include_prompt": false})")) == ints(Modes{M::MeanSqrtLen}));

  // max_seq_length: sentence_bert_config.json's, else model_max_length capped by the positions.
  MemoryFiles m = good_model();
  m.files["tokenizer_config.json"] = R"({"model_max_length": 512})";
  m.files["config.json"] = R"({"max_position_embeddings": 64})";
  CHECK(st::read_modules(m).max_seq_length == 64);
  m.files["tokenizer_config.json"] = R"({"model_max_length": 1e30})";
  CHECK(st::read_modules(m).max_seq_length == 0);
  m.files["sentence_bert_config.json"] = R"({"max_seq_length": 256, "do_lower_case": false})";
  CHECK(st::read_modules(m).max_seq_length == 256);
  CHECK(!st::read_modules(m).do_lower_case);
  m.files["sentence_bert_config.json"] = R"({"do_lower_case": true})";
  CHECK(st::read_modules(m).do_lower_case);

  // The default prompt: prompts[default_prompt_name]; "query" and "document" are there
  // (empty) unless given; a null prompt is empty.
  CHECK(st::read_modules(m).default_prompt.empty());
  auto prompt_of = [&](const json& config) {
    m.files["config_sentence_transformers.json"] = config.dump();
    return st::read_modules(m).default_prompt;
  };
  CHECK(prompt_of({{"prompts", {{"query", "query: "}}}, {"default_prompt_name", "query"}}) ==
        "query: ");
  CHECK(prompt_of({{"prompts", {{"query", "query: "}}}, {"default_prompt_name", nullptr}}).empty());
  CHECK(prompt_of({{"prompts", json::object()}, {"default_prompt_name", "document"}}).empty());
  CHECK(prompt_of({{"default_prompt_name", "query"}}).empty());
  CHECK(
      prompt_of({{"prompts", {{"passage", nullptr}}}, {"default_prompt_name", "passage"}}).empty());
}

TEST_CASE("st: each bad configuration gives one line naming the file", "[st][errors]") {
  const std::string pool = "m.pt: 1_Pooling/config.json";
  const std::string dense = "m.pt: 2_Dense/config.json";
  auto pooling = [](const std::function<void(json&)>& edit) {
    return [edit](MemoryFiles& m) { set_json(m, "1_Pooling/config.json", edit); };
  };
  auto dense_config = [](const std::function<void(json&)>& edit) {
    return [edit](MemoryFiles& m) { set_json(m, "2_Dense/config.json", edit); };
  };
  CHECK(modules_error(pooling([](json& p) { p["pooling_mode"] = "median"; })) ==
        pool +
            ": unknown pooling mode \"median\" (known: cls, max, mean, mean_sqrt_len_tokens, "
            "weightedmean, lasttoken)");
  CHECK(modules_error(pooling([](json& p) {
          p["pooling_mode"] = {"cls", "mean_sqrt_len"};
        })) == pool +
                   ": unknown pooling mode \"mean_sqrt_len\" (known: cls, max, mean, "
                   "mean_sqrt_len_tokens, weightedmean, lasttoken)");
  CHECK(modules_error(pooling([](json& p) { p["pooling_mode"] = json::array(); })) ==
        pool + ": \"pooling_mode\" selects no pooling mode");
  CHECK(modules_error(pooling([](json& p) { p["pooling_mode"] = 3; })) ==
        pool +
            ": \"pooling_mode\" should be a mode name or a list of them (cls, max, mean, "
            "mean_sqrt_len_tokens, weightedmean, lasttoken)");
  CHECK(modules_error(pooling([](json& p) { p["pooling_mode_max_tokens"] = "yes"; })) ==
        pool + ": \"pooling_mode_max_tokens\" should be true or false");
  CHECK(modules_error(pooling([](json& p) { p["pooling_mode_median"] = true; })) ==
        pool +
            ": unknown key \"pooling_mode_median\" (sentence-transformers' Pooling takes "
            "embedding_dimension, pooling_mode, include_prompt)");
  CHECK(modules_error(pooling([](json& p) { p.erase("embedding_dimension"); })) ==
        pool + ": \"embedding_dimension\" should be a positive integer");
  CHECK(modules_error(pooling([](json& p) {
          p.erase("embedding_dimension");
          p["word_embedding_dimension"] = "32";
        })) == pool + ": \"word_embedding_dimension\" should be a positive integer");
  CHECK(modules_error([](MemoryFiles& m) { m.files.erase("1_Pooling/config.json"); }) ==
        pool + " is missing");

  // include_prompt false: a no-op without a prompt, an error with a default one.
  auto prompt = [](const std::string& name) {
    return [name](MemoryFiles& m) {
      set_json(m, "1_Pooling/config.json", [](json& p) { p["include_prompt"] = false; });
      m.files["config_sentence_transformers.json"] = json{
          {"prompts", {{"query", "query: "}, {"document", ""}}},
          {"default_prompt_name",
           name.empty() ? json() : json(name)}}.dump();
    };
  };
  CHECK(modules_error(prompt("")) == "(no error)");
  CHECK(modules_error(prompt("document")) == "(no error)");
  CHECK(modules_error(prompt("query")) ==
        pool +
            ": \"include_prompt\": false leaves the default prompt (\"query: \", "
            "config_sentence_transformers.json) out of pooling; hfjit run pools the prompt's "
            "tokens too");

  // do_lower_case must be true or false; default_prompt_name must name a prompt
  // (SentenceTransformer._validate_prompts raises ValueError otherwise).
  CHECK(modules_error([](MemoryFiles& m) {
          m.files["sentence_bert_config.json"] = R"({"do_lower_case": "yes"})";
        }) == "m.pt: sentence_bert_config.json: \"do_lower_case\" should be true or false");
  CHECK(modules_error([](MemoryFiles& m) {
          m.files["config_sentence_transformers.json"] =
              R"({"prompts": {"query": "query: "}, "default_prompt_name": "passage"})";
        }) ==
        "m.pt: config_sentence_transformers.json: \"default_prompt_name\" \"passage\" is "
        "not in \"prompts\" (document, query)");
  CHECK(modules_error([](MemoryFiles& m) {
          m.files["config_sentence_transformers.json"] =
              R"({"prompts": {"query": 3}, "default_prompt_name": "query"})";
        }) == "m.pt: config_sentence_transformers.json: prompt \"query\" should be a string");
  CHECK(modules_error([](MemoryFiles& m) {
          m.files["config_sentence_transformers.json"] = R"({"default_prompt_name": 1})";
        }) ==
        "m.pt: config_sentence_transformers.json: \"default_prompt_name\" should be a "
        "prompt name or null");

  CHECK(modules_error(dense_config([](json& d) {
          d["activation_function"] = "torch.nn.modules.activation.Softmax";
        })) == dense +
                   ": \"activation_function\" torch.nn.modules.activation.Softmax is not "
                   "supported (torch.nn: " +
                   st::activation_names() + ")");
  CHECK(modules_error(dense_config([](json& d) {
          d["activation_function"] = "my_package.Swish";
        })) == dense + ": \"activation_function\" my_package.Swish is not supported (torch.nn: " +
                   st::activation_names() + ")");
  CHECK(modules_error(dense_config([](json& d) { d["activation_function"] = nullptr; })) ==
        dense + ": \"activation_function\" should be the name of a torch.nn class");
  CHECK(modules_error(dense_config([](json& d) { d["out_features"] = 24; })) ==
        "m.pt: 2_Dense/model.safetensors: linear.weight is [16, 32], but 2_Dense/config.json "
        "says in_features 32, out_features 24 ([24, 32])");
  CHECK(modules_error(dense_config([](json& d) { d["bias"] = false; })) ==
        "m.pt: 2_Dense/model.safetensors: unexpected tensor linear.bias (a Dense module has "
        "linear.weight, linear.bias when bias is true, and residual.weight when use_residual is "
        "true and in_features != out_features; 2_Dense/config.json says bias false, use_residual "
        "false, in_features 32, out_features 16)");
  CHECK(modules_error(dense_config([](json& d) {
          d["use_residual"] = true;
          d["in_features"] = 16;
        })) ==
        "m.pt: 2_Dense/model.safetensors: linear.weight is [16, 32], but 2_Dense/config.json "
        "says in_features 16, out_features 16 ([16, 16])");
  CHECK(modules_error(dense_config([](json& d) { d["in_features"] = 0; })) ==
        dense + ": \"in_features\" should be a positive integer");
  CHECK(modules_error(dense_config([](json& d) { d["module_input_name"] = "token_embeddings"; })) ==
        dense +
            ": \"module_input_name\" \"token_embeddings\": hfjit runs Dense on the sentence "
            "embedding only");
  CHECK(modules_error([](MemoryFiles& m) { m.files.erase("2_Dense/model.safetensors"); }) ==
        "m.pt: 2_Dense/model.safetensors is missing: the Dense module's weights "
        "(model.safetensors or pytorch_model.bin) are not there");
  CHECK(modules_error([](MemoryFiles& m) {
          st::Dense d;
          d.weight = at::randn({16, 32});
          m.files["2_Dense/model.safetensors"] = d.safetensors();
        }) == "m.pt: 2_Dense/model.safetensors: tensor linear.bias is missing");
  CHECK(modules_error([](MemoryFiles& m) {
          m.files["2_Dense/model.safetensors"] = "junk";
        }).rfind("m.pt: 2_Dense/model.safetensors: ", 0) == 0);
  CHECK(modules_error([](MemoryFiles& m) {
          set_json(m, "3_Normalize/config.json",
                   [](json& n) { n["module_input_name"] = "token_embeddings"; });
        }) ==
        "m.pt: 3_Normalize/config.json: \"module_input_name\" \"token_embeddings\": hfjit "
        "normalizes the sentence embedding only");

  // modules.json: the modules hfjit runs, in an order it can run them.
  auto modules = [](const std::string& list) {
    return [list](MemoryFiles& m) { m.files["modules.json"] = list; };
  };
  CHECK(modules_error(modules(
            R"([{"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"path": "2_LayerNorm", "type": "sentence_transformers.models.LayerNorm"}])")) ==
        "m.pt: modules.json: sentence-transformers module sentence_transformers.models.LayerNorm "
        "is not supported (hfjit runs Transformer, Pooling, Dense, Normalize, Dropout)");
  CHECK(
      modules_error(
          modules(
              R"([{"path": "1_Pooling", "type": "sentence_transformers.models.WeightedLayerPooling"}])"))
          .find("WeightedLayerPooling is not supported") != std::string::npos);
  CHECK(modules_error(modules(R"([{"path": "1_Pooling", "type": "my_package.Pooling"}])"))
            .find("my_package.Pooling is not supported") != std::string::npos);
  CHECK(modules_error(modules(
            R"([{"path": "2_Dense", "type": "sentence_transformers.models.Dense"},
                {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}])")) ==
        "m.pt: modules.json: Dense (2_Dense) before any Pooling module is not supported (hfjit "
        "runs Transformer, Pooling, then Dense, Normalize, Dropout)");
  CHECK(modules_error(modules(
            R"([{"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}])")) ==
        "m.pt: modules.json: Pooling (1_Pooling) after Pooling is not supported (hfjit runs "
        "Transformer, Pooling, then Dense, Normalize, Dropout)");
  CHECK(modules_error(
            modules(R"([{"path": "../x", "type": "sentence_transformers.models.Pooling"}])")) ==
        "m.pt: modules.json: module path \"../x\" is not a folder inside the model");
  CHECK(modules_error(modules(
            R"([{"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"path": "2_Dense", "type": "sentence_transformers.models.Dense"},
                {"path": "2_Dense", "type": "sentence_transformers.models.Dense"}])")) ==
        dense + ": \"in_features\" is 32, but the Dense before it gives 16 values");

  // What reaches a Dense: the pooling's modes x hidden.
  const st::Modules good = st::read_modules(good_model());
  CHECK_THROWS_WITH(good.check_dimensions(16),
                    dense + ": \"in_features\" is 32, but the pooling (1 x 16) gives 16 values");
}

namespace {

// tmp/<name>: a copy of the artifact tmp/<from> with its extra file `file` replaced
// (`bytes`), or removed (nullopt).
std::string tampered(const TempFolder& tmp, const std::string& from, const std::string& name,
                     const std::string& file, const std::optional<std::string>& bytes) {
  TorchScriptFile ts = TorchScriptFile::load(tmp / from);
  if (bytes)
    ts.extra_files[file] = *bytes;
  else
    ts.extra_files.erase(file);
  ts.save(tmp / name);
  return tmp / name;
}

// The one line `hfjit` prints for an error, exit 1.
std::string cli_error(const std::vector<std::string>& args) {
  const CliResult r = run_cli(args);
  CHECK(r.code == 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  return r.err;
}

}  // namespace

TEST_CASE("st: a bad configuration stops trace, and a tampered artifact stops run",
          "[st][errors]") {
  TempFolder tmp;
  const std::string folder = assemble("xlm-roberta-cls-dense-tanh", tmp / "m");
  const std::string dense = folder + "/2_Dense/config.json";
  const std::string good = read_text_file(dense);
  auto trace_error = [&]() {
    return cli_error({"trace", folder, "-o", tmp / "bad.pt", "--task", "sentence-embedding",
                      "--max-length", "16", "--force"});
  };
  auto edit = [&](const std::string& file, const std::function<void(json&)>& change) {
    json j = load_json(file);
    change(j);
    write_bytes(file, j.dump());
  };

  edit(dense, [](json& d) { d["activation_function"] = "torch.nn.modules.activation.Swish"; });
  CHECK(trace_error() == "hfjit: error: " + dense +
                             ": \"activation_function\" torch.nn.modules.activation.Swish is not "
                             "supported (torch.nn: " +
                             st::activation_names() + ")\n");
  write_bytes(dense, good);
  edit(dense, [](json& d) { d["in_features"] = 24; });
  CHECK(trace_error() ==
        "hfjit: error: " + folder +
            "/2_Dense/model.safetensors: linear.weight is [16, 32], but "
            "2_Dense/config.json says in_features 24, out_features 16 ([16, 24])\n");
  write_bytes(dense, good);
  const std::string pooling = folder + "/1_Pooling/config.json";
  const std::string good_pooling = read_text_file(pooling);
  edit(pooling, [](json& p) { p["pooling_mode"] = {"cls", "mean"}; });  // 64 values reach Dense
  CHECK(trace_error() == "hfjit: error: " + dense +
                             ": \"in_features\" is 32, but the pooling (2 x 32) gives 64 values\n");
  edit(pooling, [](json& p) { p["pooling_mode"] = "avg"; });
  CHECK(trace_error() == "hfjit: error: " + pooling +
                             ": unknown pooling mode \"avg\" (known: cls, max, mean, "
                             "mean_sqrt_len_tokens, weightedmean, lasttoken)\n");
  write_bytes(pooling, good_pooling);
  const std::string prompts = folder + "/config_sentence_transformers.json";
  const std::string good_prompts = read_text_file(prompts);
  edit(pooling, [](json& p) { p["include_prompt"] = false; });
  edit(prompts, [](json& c) {
    c["prompts"]["query"] = "query: ";
    c["default_prompt_name"] = "query";
  });
  CHECK(trace_error() == "hfjit: error: " + pooling +
                             ": \"include_prompt\": false leaves the default prompt (\"query: \", "
                             "config_sentence_transformers.json) out of pooling; hfjit run "
                             "pools the prompt's tokens too\n");
  write_bytes(pooling, good_pooling);
  write_bytes(prompts, good_prompts);
  const std::string sbert = folder + "/sentence_bert_config.json";
  const std::string good_sbert = read_text_file(sbert);
  edit(sbert, [](json& c) { c["do_lower_case"] = 1; });
  CHECK(trace_error() ==
        "hfjit: error: " + sbert + ": \"do_lower_case\" should be true or false\n");
  write_bytes(sbert, good_sbert);
  fs::rename(folder + "/2_Dense/model.safetensors", tmp / "weights.safetensors");
  CHECK(trace_error() == "hfjit: error: " + folder +
                             "/2_Dense/model.safetensors is missing: the Dense module's weights "
                             "(model.safetensors or pytorch_model.bin) are not there\n");

  // A feature-extraction trace of the folder only warns, and carries no weights.
  const CliResult fe = run_cli({"trace", folder, "-o", tmp / "fe.pt", "--max-length", "16"});
  CHECK(fe.code == 0);
  CHECK_THAT(fe.err, Catch::Contains("2_Dense/model.safetensors is missing") &&
                         Catch::Contains("needs --task feature-extraction"));
  fs::rename(tmp / "weights.safetensors", folder + "/2_Dense/model.safetensors");

  // The good folder's artifact carries the weights; `run` needs nothing else.
  TraceOptions o;
  o.task = "sentence-embedding";
  o.max_length = 16;
  trace_model(folder, tmp / "good.pt", o);
  const auto extra = TorchScriptFile::read_extra_files(tmp / "good.pt");
  REQUIRE(extra.count("2_Dense/model.safetensors") == 1);
  const json files = json::parse(extra.at("hfjit/meta.json"))["files"];
  CHECK(std::count(files.begin(), files.end(), "2_Dense/model.safetensors") == 1);
  const json dense_config = json::parse(extra.at("2_Dense/config.json"));
  fs::remove_all(folder);
  const CliResult ok = run_cli({"run", tmp / "good.pt", "a sentence", "--json"});
  CHECK(ok.code == 0);
  CHECK(json::parse(ok.out)["embedding"].size() == 16);

  auto tampered_json = [&](const std::string& from, const std::string& name,
                           const std::string& file, const std::function<void(json&)>& change) {
    json j = json::parse(TorchScriptFile::read_extra_files(tmp / from).at(file));
    change(j);
    return tampered(tmp, from, name, file, j.dump());
  };
  const std::string no_weights =
      tampered(tmp, "good.pt", "no_weights.pt", "2_Dense/model.safetensors", std::nullopt);
  CHECK(cli_error({"run", no_weights, "text"}) ==
        "hfjit: error: " + no_weights +
            ": 2_Dense/model.safetensors is missing: the Dense module's weights "
            "(model.safetensors or pytorch_model.bin) are not there\n");
  const std::string relu6 =
      tampered_json("good.pt", "relu6.pt", "2_Dense/config.json",
                    [](json& d) { d["activation_function"] = "torch.nn.ReLU6"; });
  CHECK(run_cli({"run", relu6, "text"}).code == 0);  // a supported one runs
  const std::string act = tampered_json("good.pt", "act.pt", "2_Dense/config.json", [](json& d) {
    d["activation_function"] = "torch.nn.Softmax2d";
  });
  CHECK(cli_error({"run", act, "text"}) == "hfjit: error: " + act +
                                               ": 2_Dense/config.json: \"activation_function\" "
                                               "torch.nn.Softmax2d is not supported (torch.nn: " +
                                               st::activation_names() + ")\n");
  const std::string shape = tampered_json("good.pt", "shape.pt", "2_Dense/config.json",
                                          [](json& d) { d["out_features"] = 24; });
  CHECK(cli_error({"run", shape, "text"}) ==
        "hfjit: error: " + shape +
            ": 2_Dense/model.safetensors: linear.weight is [16, 32], but 2_Dense/config.json "
            "says in_features 32, out_features 24 ([24, 32])\n");
  const std::string mode = tampered_json("good.pt", "mode.pt", "1_Pooling/config.json",
                                         [](json& p) { p["pooling_mode"] = "first"; });
  CHECK(cli_error({"run", mode, "text"}) ==
        "hfjit: error: " + mode +
            ": 1_Pooling/config.json: unknown pooling mode \"first\" (known: cls, max, mean, "
            "mean_sqrt_len_tokens, weightedmean, lasttoken)\n");
  const std::string wide =
      tampered_json("good.pt", "wide.pt", "1_Pooling/config.json", [](json& p) {
        p["pooling_mode"] = {"cls", "max"};
      });
  CHECK(cli_error({"run", wide, "text"}) ==
        "hfjit: error: " + wide +
            ": 2_Dense/config.json: \"in_features\" is 32, but the pooling (2 x 32) gives 64 "
            "values\n");
  tampered_json("good.pt", "no_prompt.pt", "1_Pooling/config.json",
                [](json& p) { p["include_prompt"] = false; });
  CHECK(run_cli({"run", tmp / "no_prompt.pt", "text"}).code == 0);  // no prompt: a no-op
  const std::string prompt =
      tampered_json("no_prompt.pt", "prompt.pt", "config_sentence_transformers.json", [](json& c) {
        c["prompts"] = {{"query", "query: "}};
        c["default_prompt_name"] = "query";
      });
  CHECK(cli_error({"run", prompt, "text"}) ==
        "hfjit: error: " + prompt +
            ": 1_Pooling/config.json: \"include_prompt\": false leaves the default prompt "
            "(\"query: \", config_sentence_transformers.json) out of pooling; hfjit run pools "
            "the prompt's tokens too\n");
  CHECK(dense_config["activation_function"] == "torch.nn.modules.activation.Tanh");
}

}  // namespace hfjit::test
