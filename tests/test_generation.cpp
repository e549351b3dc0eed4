// Generation with a static key/value cache (the Llama family's text-generation
// traces): the traced prefill and decode methods against transformers 5's
// generate on the fixtures' left-padded prompts (scripts/fixtures/make_fixtures.py
// writes generation.json and generation.safetensors), run's loop, streaming,
// bench's generation point and the errors.
#include <ATen/ATen.h>
#include <torch/script.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "artifact_test_util.h"
#include "hfjit/bench.h"
#include "hfjit/checkpoint.h"
#include "hfjit/config.h"
#include "hfjit/error.h"
#include "hfjit/io/artifact_meta.h"
#include "hfjit/io/file.h"
#include "hfjit/models/llama.h"
#include "hfjit/run/runner.h"
#include "hfjit/trace.h"
#include "hfjit/tracer.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace hfjit;
using hfjit::test::artifact_meta_of;
using hfjit::test::fixture;
using hfjit::test::int_matrix;
using hfjit::test::run_inputs;
using hfjit::test::TempFolder;

namespace {

const char* kGenerationFixtures[] = {"llama-lm",   "llama-lm-llama3", "qwen2-lm",
                                     "mistral-lm", "llama2-lm-spm",   "gpt2-lm"};

nlohmann::json generation_reference(const std::string& folder) {
  return nlohmann::json::parse(read_text_file(folder + "/generation.json"));
}

// A generation trace of `folder` at batch 3 (the fixture's prompts), a cache of
// 48, prefills at the fixture's padded prompt length and at 24.
std::string trace_generation(const std::string& folder, const TempFolder& tmp,
                             const std::string& name) {
  const nlohmann::json ref = generation_reference(folder);
  TraceOptions o;
  o.cache = "static";  // GPT-2's default is its full forward
  o.batch_size = 3;
  o.max_length = 48;
  o.lengths = {static_cast<int64_t>(ref["input_ids"][0].size()), 24};
  const std::string pt = tmp / (name + ".pt");
  trace_model(folder, pt, o);
  return pt;
}

std::vector<RunInput> prompts(const nlohmann::json& ref) {
  return run_inputs(ref["prompts"]);
}

std::vector<std::string> generated(Runner& runner, const std::vector<RunInput>& in) {
  std::vector<std::string> out;
  for (const RunResult& r : runner.run(in)) out.push_back(std::get<Generation>(r).generated_text);
  return out;
}

}  // namespace

TEST_CASE("generation: traced prefill and decode give transformers' logits at every step",
          "[generation]") {
  TempFolder tmp;
  for (const char* name : kGenerationFixtures) {
    INFO(name);
    const std::string folder = fixture(std::string("models/") + name);
    const nlohmann::json ref = generation_reference(folder);
    const std::string pt = trace_generation(folder, tmp, name);
    torch::jit::Module m = torch::jit::load(pt);
    const at::Tensor want = Checkpoint::load_file(folder + "/generation.safetensors").at("logits");
    const nlohmann::json& greedy = ref["cases"][0];
    REQUIRE(greedy["name"] == "greedy");
    const at::Tensor new_tokens = int_matrix(greedy["new_tokens"]);

    // transformers' prompts, left-padded to p; positions cumsum(mask) - 1, 0 on padding.
    const at::Tensor ids = int_matrix(ref["input_ids"]),
                     prompt_mask = int_matrix(ref["attention_mask"]);
    const int64_t batch = ids.size(0), p = ids.size(1), max_length = 48;
    at::Tensor mask = at::zeros({batch, max_length}, at::kLong);
    mask.narrow(1, 0, p).copy_(prompt_mask);
    at::Tensor positions = (prompt_mask.cumsum(1) - 1).masked_fill(prompt_mask == 0, 0);
    const ArtifactMeta meta = artifact_meta_of(pt);
    REQUIRE(meta.generation);
    CHECK(meta.generation->max_length == max_length);
    CHECK(meta.generation->cache_shape[2] == batch);
    at::Tensor cache = at::zeros(meta.generation->cache_shape, at::kFloat);
    c10::InferenceMode guard;
    std::vector<at::Tensor> out =
        run_method(m, "prefill_" + std::to_string(p),
                   {ids, mask, positions, at::arange(0, p, at::kLong), cache});
    REQUIRE(out.size() == 2);
    CHECK(out[1].data_ptr() == cache.data_ptr());  // updated in place, returned
    at::Tensor position = positions.select(1, p - 1).unsqueeze(1).contiguous();
    for (int64_t step = 0; step < want.size(0); ++step) {
      INFO("step " << step);
      CHECK(at::allclose(out[0], want[step], 0, 1e-5));
      const at::Tensor next = out[0].argmax(-1);
      CHECK(at::equal(next, new_tokens.select(1, step)));
      mask.narrow(1, p + step, 1).fill_(1);
      position = position + 1;
      out = run_method(m, "decode",
                       {new_tokens.select(1, step).unsqueeze(1).contiguous(), mask, position,
                        at::full({1}, p + step, at::kLong), cache});
    }
  }
}

TEST_CASE("generation: run's greedy text is transformers' generate, eos as configured",
          "[generation]") {
  TempFolder tmp;
  for (const char* name : kGenerationFixtures) {
    INFO(name);
    const std::string folder = fixture(std::string("models/") + name);
    const nlohmann::json ref = generation_reference(folder);
    RunOptions o;
    o.max_new_tokens = ref["cases"][0]["max_new_tokens"].get<int64_t>();
    const std::string pt = trace_generation(folder, tmp, name);
    {
      Runner runner(pt, o);
      CHECK(runner.task() == "text-generation");
      CHECK(generated(runner, prompts(ref)) ==
            ref["cases"][0]["texts"].get<std::vector<std::string>>());
      // One at a time (rows past the inputs are filled): the same text.
      CHECK(generated(runner, {prompts(ref)[1]})[0] == ref["cases"][0]["texts"][1]);
    }
    {
      // Chunked prefill: prompts longer than the only prefill (8) go through it in chunks.
      TraceOptions chunks;
      chunks.cache = "static";
      chunks.batch_size = 3;
      chunks.max_length = 48;
      chunks.lengths = {8};
      const std::string chunked = tmp / (std::string(name) + "-chunks.pt");
      trace_model(folder, chunked, chunks);
      Runner runner(chunked, o);
      CHECK(generated(runner, prompts(ref)) ==
            ref["cases"][0]["texts"].get<std::vector<std::string>>());
    }
    // The eos and stop strings of generation_config.json (a copy of the folder with
    // the case's): rows stop at different steps, the others go on.
    for (size_t k = 1; k < ref["cases"].size(); ++k) {
      const nlohmann::json& stop_case = ref["cases"][k];
      const std::string case_name = stop_case["name"];
      INFO(case_name);
      const fs::path copy = tmp.path() / (std::string(name) + "-" + case_name);
      fs::copy(folder, copy, fs::copy_options::recursive);
      nlohmann::json gc =
          nlohmann::json::parse(read_text_file((copy / "generation_config.json").string()));
      gc["eos_token_id"] = stop_case["eos_token_id"];
      if (stop_case.contains("stop_strings")) gc["stop_strings"] = stop_case["stop_strings"];
      hfjit::test::write_bytes((copy / "generation_config.json").string(), gc.dump());
      RunOptions with_penalty = o;  // --repetition-penalty (generation_config's is not read)
      with_penalty.repetition_penalty = stop_case.value("repetition_penalty", 1.0);
      Runner runner(trace_generation(copy.string(), tmp, copy.filename().string()), with_penalty);
      CHECK(generated(runner, prompts(ref)) == stop_case["texts"].get<std::vector<std::string>>());
      if (stop_case.contains("stop_strings")) {  // --stop gives the same
        RunOptions with_stop = o;
        with_stop.stop_strings = stop_case["stop_strings"].get<std::vector<std::string>>();
        Runner from_option(pt, with_stop);
        CHECK(generated(from_option, prompts(ref)) ==
              stop_case["texts"].get<std::vector<std::string>>());
      }
    }
  }
}

TEST_CASE("generation: streamed pieces make the generated text", "[generation]") {
  TempFolder tmp;
  const std::string folder = fixture("models/llama-lm");
  const nlohmann::json ref = generation_reference(folder);
  std::string streamed;
  int calls = 0;
  RunOptions o;
  o.max_new_tokens = 12;
  o.on_text = [&](const RunInput& in, const std::string& piece) {
    CHECK(in.where == "Dogs run fast.");
    streamed += piece;
    ++calls;
  };
  Runner runner(trace_generation(folder, tmp, "stream"), o);
  const std::vector<std::string> text = generated(runner, {prompts(ref)[1]});
  CHECK(calls > 1);
  CHECK("Dogs run fast." + streamed == text[0]);
  CHECK(text[0] == ref["cases"][0]["texts"][1]);
  // Several inputs in one batch are not streamed (their rows advance together).
  calls = 0;
  generated(runner, prompts(ref));
  CHECK(calls == 0);
}

TEST_CASE("generation: sampling is seeded, the repetition penalty changes greedy text",
          "[generation]") {
  TempFolder tmp;
  const std::string folder = fixture("models/qwen2-lm");
  const std::string pt = trace_generation(folder, tmp, "sample");
  const std::vector<RunInput> in = prompts(generation_reference(folder));
  auto text = [&](RunOptions o) {
    o.max_new_tokens = 10;
    Runner runner(pt, o);
    return generated(runner, in);
  };
  RunOptions sample;
  sample.temperature = 1.5;
  sample.seed = 7;
  CHECK(text(sample) == text(sample));
  RunOptions other = sample;
  other.seed = 8;
  CHECK(text(sample) != text(other));
  RunOptions penalty;
  penalty.repetition_penalty = 3.0;
  CHECK(text(penalty) != text(RunOptions{}));
}

TEST_CASE("generation: bench times prefill and each decode step", "[generation]") {
  TempFolder tmp;
  const std::string pt = trace_generation(fixture("models/mistral-lm"), tmp, "bench");
  BenchOptions o;
  o.iterations = 2;
  o.warmup = 1;
  o.lengths = {10};
  o.new_tokens = 6;
  const std::vector<BenchPoint> points = run_bench(pt, o);
  REQUIRE(points.size() == 1);
  const BenchPoint& p = points[0];
  CHECK(p.mode.rfind("generate", 0) == 0);
  CHECK(p.length == 10);
  CHECK(p.run_length == 17);  // the smallest prefill that holds it
  CHECK(p.new_tokens == 6);
  CHECK(p.iterations == 2);
  CHECK(p.decode_ms_by_step.size() == 5);
  CHECK(p.prefill_ms > 0);
  CHECK(p.decode_ms > 0);
  CHECK(p.tokens_per_s == Approx(3 * 6 * 1000.0 / p.p50_ms));
  o.new_tokens = 100;  // 48 - 17 + 1 = 32 fit
  CHECK_THROWS_WITH(run_bench(pt, o), Catch::Contains("--new-tokens 100 does not fit the cache") &&
                                          Catch::Contains("at most 32"));
}

TEST_CASE("generation: errors", "[generation]") {
  TempFolder tmp;
  const std::string folder = fixture("models/llama-lm");
  auto error_of = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  TraceOptions o;
  o.max_length = 32;
  o.lengths = {32};
  CHECK(error_of([&] { trace_model(folder, tmp / "a.pt", o); }) ==
        "--lengths 32: a prefill length must be below the cache length --max-length 32 (the rest "
        "is room for new tokens)");
  o.lengths = {};
  o.quantize = "int8";
  CHECK(error_of([&] { trace_model(folder, tmp / "b.pt", o); })
            .starts_with("--dtype/--quantize: text-generation of this family is traced with a "
                         "static key/value cache"));
  o.quantize = "none";
  o.for_triton = true;
  CHECK(error_of([&] { trace_model(folder, tmp / "c.pt", o); }).starts_with("--triton: "));
  CHECK(!fs::exists(tmp / "a.pt"));
  CHECK(!fs::exists(tmp / "b.pt"));
  CHECK(!fs::exists(tmp / "c.pt"));
  // A prompt longer than the cache (prefill 16, a cache of 32).
  o.for_triton = false;
  trace_model(folder, tmp / "d.pt", o);
  Runner runner(tmp / "d.pt", RunOptions{});
  const std::string longest(400, 'a');
  CHECK_THAT(error_of([&] {
               runner.run({RunInput{longest, std::nullopt, std::nullopt, "line 1"}});
             }),
             Catch::StartsWith("line 1: the prompt has ") &&
                 Catch::Contains(" tokens; in prefill chunks of 16 it takes ") &&
                 Catch::EndsWith(" slots of a cache of 32 (trace with a larger --max-length)"));
  // The cache fills: a warning, the text so far.
  RunOptions many;
  many.max_new_tokens = 40;
  Runner full(tmp / "d.pt", many);
  const std::vector<std::string> text =
      generated(full, {RunInput{"Why?", std::nullopt, std::nullopt, "line 2"}});
  REQUIRE(full.warnings().size() == 1);
  CHECK(full.warnings()[0] ==
        "line 2: stopped at the cache length 32 after 17 new tokens (trace with a larger "
        "--max-length)");
}

TEST_CASE("generation: --cache picks the static cache or the full forward", "[generation]") {
  TempFolder tmp;
  TraceOptions o;
  o.max_length = 24;
  // The defaults: GPT-2 keeps its full forward (logits and presents), Llama has the cache.
  trace_model(fixture("models/gpt2-lm"), tmp / "gpt2.pt", o);
  ArtifactMeta gpt2 = artifact_meta_of(tmp / "gpt2.pt");
  CHECK(!gpt2.generation);
  CHECK(gpt2.output_names.front() == "logits");
  trace_model(fixture("models/qwen2-lm"), tmp / "qwen2.pt", o);
  ArtifactMeta qwen2 = artifact_meta_of(tmp / "qwen2.pt");
  REQUIRE(qwen2.generation);
  // Default prefills: powers of two from 16 up to half the cache, else half the cache.
  REQUIRE(qwen2.generation->prefill.size() == 1);
  CHECK(qwen2.generation->prefill[0].length == 12);
  CHECK(qwen2.generation->cache_shape == std::vector<int64_t>{3, 2, 1, 2, 24, 8});
  // --cache none: the Llama family's full forward, which the levers and Triton take.
  o.cache = "none";
  o.quantize = "int8";
  trace_model(fixture("models/qwen2-lm"), tmp / "qwen2-int8.pt", o);
  ArtifactMeta q8 = artifact_meta_of(tmp / "qwen2-int8.pt");
  CHECK(!q8.generation);
  CHECK(q8.quantization != "none");
  CHECK(q8.output_names.size() == 1 + 2 * 3);  // logits, then each layer's key and value
  RunOptions ro;
  ro.max_new_tokens = 3;
  Runner old_path(tmp / "qwen2-int8.pt", ro);  // generates through the full forward
  CHECK(std::get<Generation>(old_path.run({RunInput{"Why?", std::nullopt, std::nullopt, "x"}})[0])
            .generated_text.starts_with("Why?"));
  o.quantize = "none";
  o.cache = "static";
  try {
    trace_model(fixture("models/bert-mlm"), tmp / "bert.pt", o);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) ==
          "--cache static: BertForMaskedLM (fill-mask) has no static key/value cache; causal LMs "
          "(text-generation) of GPT-2 and the Llama family have one");
  }
  o.cache = "dynamic";
  try {
    trace_model(fixture("models/gpt2-lm"), tmp / "x.pt", o);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "--cache must be static or none (got \"dynamic\")");
  }
  // GPT-2's reorder_and_upcast_attn has no cached form.
  o.cache = "static";
  try {
    trace_model(fixture("models/gpt2-options"), tmp / "y.pt", o);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("reorder_and_upcast_attn: trace with --cache none") !=
          std::string::npos);
  }
  CHECK(!fs::exists(tmp / "bert.pt"));
  CHECK(!fs::exists(tmp / "y.pt"));
}

TEST_CASE("generation: the Llama family's config errors name the field", "[generation]") {
  auto error_for = [](const std::string& folder, const std::function<void(nlohmann::json&)>& edit) {
    ModelConfig config = load_config(fixture("models/" + folder));
    edit(config.raw);
    try {
      models::LlamaConfig::from(config);
    } catch (const Error& e) {
      const std::string what = e.what();
      return what.substr(what.find("config.json") + std::string("config.json").size());
    }
    return std::string("(no error)");
  };
  CHECK(error_for("llama-lm", [](nlohmann::json& j) { j["num_key_value_heads"] = 4; }) ==
        ": num_attention_heads (6) is not a multiple of num_key_value_heads (4)");
  CHECK(error_for("llama-lm", [](nlohmann::json& j) { j["head_dim"] = 7; }) ==
        ": head_dim 7 is not a positive even number (rotary halves)");
  CHECK(error_for("llama-lm", [](nlohmann::json& j) { j["rope_parameters"] = 3; }) ==
        ": \"rope_parameters\" is not an object");
  CHECK(error_for("llama-lm",
                  [](nlohmann::json& j) { j["rope_parameters"]["rope_type"] = "longrope"; }) ==
        ": rope parameters: rope_type \"longrope\" is not supported (supported: default, linear, "
        "dynamic, llama3, yarn)");
  CHECK(error_for("llama-lm",
                  [](nlohmann::json& j) { j["rope_parameters"]["partial_rotary_factor"] = 0.5; }) ==
        ": rope parameters: partial_rotary_factor 0.500000 is not supported (the Llama family "
        "rotates whole heads)");
  CHECK(error_for("llama-lm", [](nlohmann::json& j) {
          j["rope_parameters"]["rope_type"] = "linear";
        }) == ": rope parameters: rope_type \"linear\" needs a \"factor\"");
  CHECK(error_for("mistral-lm", [](nlohmann::json& j) {
          j["rope_parameters"]["factor"] = "two";
        }) == ": rope parameters: \"factor\" is not a number");
  CHECK(error_for("llama-lm-llama3", [](nlohmann::json& j) {
          j["rope_parameters"].erase("low_freq_factor");
        }) == ": rope parameters: rope_type \"llama3\" needs low_freq_factor and high_freq_factor");
  CHECK(error_for("mistral-lm", [](nlohmann::json& j) { j["sliding_window"] = 0; }) ==
        ": sliding_window must be positive");
  CHECK(error_for("qwen2-lm", [](nlohmann::json& j) { j["layer_types"] = {"full_attention"}; }) ==
        ": layer_types does not list num_hidden_layers types");
  // The older form: rope_theta and rope_scaling {"type": ...} at the top.
  CHECK(error_for("llama-lm", [](nlohmann::json& j) {
          j.erase("rope_parameters");
          j["rope_theta"] = 10000.0;
          j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
        }) == "(no error)");
}

TEST_CASE("generation: option errors of run and bench", "[generation]") {
  TempFolder tmp;
  const std::string pt = trace_generation(fixture("models/mistral-lm"), tmp, "options");
  auto run_error = [&](const std::function<void(RunOptions&)>& edit) {
    RunOptions o;
    edit(o);
    try {
      Runner r(pt, o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(run_error([](RunOptions& o) { o.repetition_penalty = 0; }) ==
        "--repetition-penalty must be positive");
  CHECK(run_error([](RunOptions& o) {
          o.stop_strings = {"ok", ""};
        }) == "--stop needs a non-empty string");
  BenchOptions b;
  b.iterations = 1;
  b.batch_sizes = {1};
  CHECK_THROWS_WITH(run_bench(pt, b),
                    Catch::EndsWith("a generation artifact runs at its traced batch size 3, "
                                    "not 1"));
  b.batch_sizes = {};
  b.lengths = {40};  // two prefill chunks of 24: the whole cache, room for the first token only
  const std::vector<BenchPoint> chunked = run_bench(pt, b);
  REQUIRE(chunked.size() == 1);
  CHECK(chunked[0].run_length == 48);
  CHECK(chunked[0].new_tokens == 1);
  CHECK(chunked[0].decode_ms_by_step.empty());
  b.lengths = {49};
  CHECK_THROWS_WITH(run_bench(pt, b),
                    "length 49 takes 72 slots in prefill chunks of 24, more "
                    "than the cache of 48 of " +
                        pt);
  b.lengths = {8};
  b.new_tokens = -1;
  CHECK_THROWS_WITH(run_bench(pt, b), "--new-tokens must be positive");
}

TEST_CASE("generation: stop_strings of generation_config.json are checked", "[generation]") {
  TempFolder tmp;
  for (const auto& [value, message] : std::vector<std::pair<nlohmann::json, std::string>>{
           {5, "generation_config.json: \"stop_strings\" should be a string or a list"},
           {{"ok", ""}, "generation_config.json: \"stop_strings\" should be non-empty strings"}}) {
    const fs::path copy = tmp.path() / ("bad-stops-" + std::to_string(value.is_array()));
    fs::copy(fixture("models/llama-lm"), copy, fs::copy_options::recursive);
    nlohmann::json gc =
        nlohmann::json::parse(read_text_file((copy / "generation_config.json").string()));
    gc["stop_strings"] = value;
    hfjit::test::write_bytes((copy / "generation_config.json").string(), gc.dump());
    const std::string pt = trace_generation(copy.string(), tmp, copy.filename().string());
    CHECK_THROWS_WITH(Runner(pt, RunOptions{}), pt + ": " + message);
  }
  // A single string is one stop string.
  const fs::path copy = tmp.path() / "one-stop";
  fs::copy(fixture("models/llama-lm"), copy, fs::copy_options::recursive);
  const nlohmann::json ref = generation_reference(copy.string());
  const nlohmann::json& stop_case = ref["cases"][2];
  nlohmann::json gc =
      nlohmann::json::parse(read_text_file((copy / "generation_config.json").string()));
  gc["stop_strings"] = stop_case["stop_strings"][0];
  hfjit::test::write_bytes((copy / "generation_config.json").string(), gc.dump());
  RunOptions o;
  o.max_new_tokens = 12;
  Runner runner(trace_generation(copy.string(), tmp, "one-stop"), o);
  // Row 1 stops at the first string, as in the case with both.
  CHECK(generated(runner, prompts(ref))[1] == stop_case["texts"][1]);
}

TEST_CASE("generation: GPT-2's full-forward path stops at eos and stop strings as transformers",
          "[generation]") {
  // trace's default for GPT-2 (--cache none): every new token is a forward at the traced length.
  TempFolder tmp;
  const std::string folder = fixture("models/gpt2-lm");
  const nlohmann::json ref = generation_reference(folder);
  TraceOptions t;
  t.batch_size = 3;
  t.max_length = 48;
  trace_model(folder, tmp / "full.pt", t);
  for (const nlohmann::json& c : ref["cases"]) {
    INFO(c["name"].get<std::string>());
    RunOptions o;
    o.max_new_tokens = c["max_new_tokens"].get<int64_t>();
    o.repetition_penalty = c.value("repetition_penalty", 1.0);
    if (c.contains("stop_strings")) o.stop_strings = c["stop_strings"];
    if (c["eos_token_id"] != ref["cases"][0]["eos_token_id"]) continue;  // the artifact's own eos
    Runner runner(tmp / "full.pt", o);
    CHECK(generated(runner, prompts(ref)) == c["texts"].get<std::vector<std::string>>());
  }
}
