// Encoder-decoders (MarianMT, T5): the traced encode and decode methods against
// transformers 5's logits, `run`'s greedy and beam search against transformers 5
// generate token for token on every case of the fixtures (make_fixtures.py
// writes seq2seq.json and seq2seq.safetensors), the pipelines' JSON against
// transformers 4.57.6's pipelines, and the errors.
#include <ATen/ATen.h>
#include <torch/script.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "artifact_test_util.h"
#include "hfjit/bench.h"
#include "hfjit/checkpoint.h"
#include "hfjit/error.h"
#include "hfjit/io/artifact_meta.h"
#include "hfjit/io/file.h"
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

const char* kSeq2SeqFixtures[] = {"marian-mt", "t5-v11", "t5-lm"};

nlohmann::json seq2seq_reference(const std::string& folder) {
  return nlohmann::json::parse(read_text_file(folder + "/seq2seq.json"));
}

// An encoder-decoder trace of `folder` at batch 3 (the fixture's sources) and 24 decoder slots.
std::string trace_seq2seq(const std::string& folder, const TempFolder& tmp, const std::string& name,
                          int64_t target = 24) {
  TraceOptions o;
  o.batch_size = 3;
  o.max_length = 40;
  o.target_length = target;
  const std::string pt = tmp / (name + ".pt");
  trace_model(folder, pt, o);
  return pt;
}

// generate's kwargs of a fixture case as run's options.
RunOptions options_of(const nlohmann::json& kwargs) {
  RunOptions o;
  if (kwargs.contains("num_beams")) o.num_beams = kwargs["num_beams"].get<int64_t>();
  if (kwargs.contains("max_new_tokens")) o.max_new_tokens = kwargs["max_new_tokens"].get<int64_t>();
  if (kwargs.contains("length_penalty")) o.length_penalty = kwargs["length_penalty"].get<double>();
  if (kwargs.contains("early_stopping")) {
    const auto& e = kwargs["early_stopping"];
    o.early_stopping = e.is_string() ? e.get<std::string>() : e.get<bool>() ? "true" : "false";
  }
  if (kwargs.contains("no_repeat_ngram_size"))
    o.no_repeat_ngram_size = kwargs["no_repeat_ngram_size"].get<int64_t>();
  if (kwargs.contains("num_return_sequences"))
    o.num_return_sequences = kwargs["num_return_sequences"].get<int64_t>();
  return o;
}

}  // namespace

TEST_CASE("seq2seq: the traced encode and decode steps give transformers' greedy logits",
          "[seq2seq]") {
  TempFolder tmp;
  for (const char* name : kSeq2SeqFixtures) {
    INFO(name);
    const std::string folder = fixture(std::string("models/") + name);
    const nlohmann::json ref = seq2seq_reference(folder);
    const std::string pt = trace_seq2seq(folder, tmp, name);
    const ArtifactMeta meta = artifact_meta_of(pt);
    REQUIRE(meta.seq2seq);
    CHECK(meta.seq2seq->target_length == 24);
    CHECK(meta.seq2seq->max_length == 40);
    torch::jit::Module m = torch::jit::load(pt);
    torch::NoGradGuard no_grad;
    const nlohmann::json& greedy = ref["cases"][0];
    REQUIRE(greedy["name"] == "greedy");
    const at::Tensor ids = int_matrix(greedy["input_ids"]);
    const at::Tensor mask = int_matrix(greedy["attention_mask"]);
    const at::Tensor seqs = int_matrix(greedy["sequences"]);
    const at::Tensor want =
        Checkpoint::load_file(folder + "/seq2seq.safetensors").at("greedy.logits");
    const at::Tensor cross = run_method(m, "encode", {ids, mask})[0];
    const ArtifactSeq2Seq& s = *meta.seq2seq;
    at::Tensor cache = at::zeros({s.layers, 2, 3, s.heads, s.target_length, s.head_dim});
    double worst = 0;
    for (int64_t t = 0; t < want.size(0); ++t) {
      // Teacher-forced on generate's tokens: the logits before any processor.
      const at::Tensor step = seqs.narrow(1, t, 1).contiguous();
      const at::Tensor logits =
          run_method(m, "decode", {step, at::full({1}, t, at::kLong), cache, cross, mask})[0];
      worst = std::max(worst, (logits - want[t]).abs().max().item<double>());
    }
    CHECK(worst < 1e-4);
  }
}

TEST_CASE("seq2seq: run's greedy and beam search are transformers 5 generate's, every case",
          "[seq2seq]") {
  TempFolder tmp;
  for (const char* name : kSeq2SeqFixtures) {
    const std::string folder = fixture(std::string("models/") + name);
    const nlohmann::json ref = seq2seq_reference(folder);
    const std::string pt = trace_seq2seq(folder, tmp, name);
    for (const auto& c : ref["cases"]) {
      INFO(name << " " << c["name"].get<std::string>());
      Runner runner(pt, options_of(c["options"]));
      const std::vector<RunResult> results = runner.run(run_inputs(c["sources"]));
      std::vector<std::vector<int64_t>> got;
      std::vector<std::string> texts;
      std::vector<float> scores;
      for (const RunResult& r : results) {
        const TextToText& t = std::get<TextToText>(r);
        got.insert(got.end(), t.sequences.begin(), t.sequences.end());
        texts.insert(texts.end(), t.texts.begin(), t.texts.end());
        scores.insert(scores.end(), t.scores.begin(), t.scores.end());
      }
      CHECK(got == c["sequences"].get<std::vector<std::vector<int64_t>>>());
      CHECK(texts == c["texts"].get<std::vector<std::string>>());
      if (c.contains("sequences_scores")) {
        const auto want = c["sequences_scores"].get<std::vector<double>>();
        REQUIRE(scores.size() == want.size());
        for (size_t i = 0; i < want.size(); ++i) CHECK(scores[i] == Approx(want[i]).margin(1e-4));
      } else {
        CHECK(scores.empty());
      }
    }
  }
}

TEST_CASE("seq2seq: run's JSON is the pipelines' (transformers 4.57.6)", "[seq2seq]") {
  TempFolder tmp;
  for (const char* name : kSeq2SeqFixtures) {
    const std::string folder = fixture(std::string("models/") + name);
    const nlohmann::json ref = seq2seq_reference(folder);
    const std::string pt = trace_seq2seq(folder, tmp, name);
    const nlohmann::json& p = ref["pipelines"];
    for (const auto& r : p["results"]) {
      INFO(name << " " << r["task"].get<std::string>() << ": " << r["source"].get<std::string>());
      RunOptions o = options_of(p["kwargs"]);
      o.task = r["task"].get<std::string>();
      Runner runner(pt, o);
      const std::vector<RunResult> out =
          runner.run(run_inputs(nlohmann::json::array({r["source"]})));
      REQUIRE(out.size() == 1);
      CHECK(nlohmann::json::parse(to_json_line(out[0])) == r["output"]);
    }
  }
}

TEST_CASE("seq2seq: the CLI translates, with the pipeline's JSON, and describes both methods",
          "[seq2seq]") {
  TempFolder tmp;
  const std::string folder = fixture("models/marian-mt");
  const nlohmann::json ref = seq2seq_reference(folder);
  const std::string pt = trace_seq2seq(folder, tmp, "marian");
  const nlohmann::json& c = ref["cases"][1];  // beam4
  REQUIRE(c["name"] == "beam4");
  const hfjit::test::CliResult r = hfjit::test::run_cli(
      {"run", pt, "--json", "--batch-size", "3", "--num-beams", "4", "--max-new-tokens", "12",
       "--length-penalty", "1", "--early-stopping", "false", c["sources"][0].get<std::string>(),
       c["sources"][1].get<std::string>(), c["sources"][2].get<std::string>()});
  REQUIRE(r.code == 0);
  std::vector<std::string> texts;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    texts.push_back(nlohmann::json::parse(line).at(0).at("translation_text").get<std::string>());
  CHECK(texts == c["texts"].get<std::vector<std::string>>());
  const hfjit::test::CliResult d = hfjit::test::run_cli({"run", pt, "--describe"});
  REQUIRE(d.code == 0);
  CHECK_THAT(d.out, Catch::Contains("encode [any batch, sources up to 40 tokens], decode [one "
                                    "token a step, a decoder cache of 24 slots]"));
}

TEST_CASE("seq2seq: bench times the encode and each decode step", "[seq2seq]") {
  TempFolder tmp;
  const std::string marian = fixture("models/marian-mt");
  const std::string pt = trace_seq2seq(marian, tmp, "marian", 8);
  BenchOptions o;
  o.iterations = 2;
  o.warmup = 1;
  o.batch_sizes = {1, 2};  // any batch: the methods are shape-polymorphic
  o.lengths = {7};
  o.new_tokens = 8;  // every slot
  const std::vector<BenchPoint> points = run_bench(pt, o);
  REQUIRE(points.size() == 2);
  for (const BenchPoint& p : points) {
    CHECK(p.mode.rfind("seq2seq", 0) == 0);
    CHECK(p.length == 7);
    CHECK(p.run_length == 7);
    CHECK(p.run_batch_size == p.batch_size);
    CHECK(p.new_tokens == 8);
    CHECK(p.iterations == 2);
    CHECK(p.decode_ms_by_step.size() == 8);
    CHECK(p.prefill_ms > 0);
    CHECK(p.decode_ms > 0);
    CHECK(p.tokens_per_s == Approx(p.batch_size * 8 * 1000.0 / p.p50_ms));
  }
  CHECK(points[0].batch_size == 1);
  CHECK(points[1].batch_size == 2);
  // The CLI's JSON names the encode.
  const hfjit::test::CliResult r = hfjit::test::run_cli(
      {"bench", pt, "--json", "--lengths", "5", "--new-tokens", "3", "--iterations", "1"});
  REQUIRE(r.code == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["encode_ms"].get<double>() > 0);
  CHECK(j["decode_ms_by_step"].size() == 3);
  CHECK_FALSE(j.contains("prefill_ms"));
  // What does not fit: one line naming the option to trace with.
  auto bench_error = [](const std::string& model, BenchOptions b) {
    try {
      run_bench(model, b);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  o.new_tokens = 9;
  CHECK_THAT(bench_error(pt, o), Catch::Contains("--new-tokens 9 exceeds the 8 decoder slots") &&
                                     Catch::Contains("--target-length"));
  o.new_tokens = 0;
  o.lengths = {41};
  CHECK_THAT(bench_error(pt, o), Catch::Contains("takes sources up to 40 tokens, not 41") &&
                                     Catch::Contains("--max-length"));
  // A folder: bench times the trace, and says how to make it.
  CHECK_THAT(bench_error(marian, BenchOptions{}),
             Catch::Contains("is an encoder-decoder (marian): hfjit bench times its trace"));
}

TEST_CASE("seq2seq: bad options and artifacts are one-line errors", "[seq2seq][errors]") {
  TempFolder tmp;
  const std::string marian = fixture("models/marian-mt");
  const std::string pt = trace_seq2seq(marian, tmp, "marian", 8);
  const std::vector<RunInput> in = run_inputs(nlohmann::json::array({"Dogs run fast."}));
  auto run_error = [&](RunOptions o) {
    try {
      Runner(pt, std::move(o)).run(in);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  RunOptions o;
  o.max_new_tokens = 9;
  CHECK_THAT(run_error(o), Catch::Contains("--max-new-tokens 9 exceeds the 8 decoder slots") &&
                               Catch::Contains("--target-length"));
  o = {};
  o.num_beams = 2;
  o.num_return_sequences = 3;
  CHECK_THAT(run_error(o),
             Catch::Contains("--num-return-sequences 3 needs at least as many beams"));
  o = {};
  o.early_stopping = "sometimes";
  CHECK_THAT(run_error(o), Catch::Contains("--early-stopping must be true, false or never"));
  o = {};
  o.task = "fill-mask";
  CHECK_THAT(run_error(o), Catch::Contains("does not fit this artifact"));
  // generation_config.json's 15 new tokens are more than the 8 slots: a warning, then 8 at most.
  {
    Runner r(pt, RunOptions{});
    const std::vector<RunResult> res = r.run(in);
    REQUIRE(r.warnings().size() == 1);
    CHECK_THAT(r.warnings()[0], Catch::Contains("more than the 8 decoder slots"));
    CHECK(std::get<TextToText>(res[0]).sequences[0].size() <= 9);
  }
  // Trace: options an encoder-decoder trace does not take, and --target-length elsewhere.
  auto trace_error = [&](const std::string& folder, TraceOptions t) {
    try {
      trace_model(folder, tmp / "x.pt", t);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  TraceOptions t;
  t.quantize = "int8";
  CHECK_THAT(trace_error(marian, t), Catch::Contains("--dtype/--quantize: an encoder-decoder"));
  t = {};
  t.target_length = 1;
  CHECK_THAT(trace_error(marian, t), Catch::Contains("--target-length must be at least 2"));
  t = {};
  t.target_length = 100000;
  CHECK_THAT(trace_error(marian, t), Catch::Contains("exceeds the model's"));
  t = {};
  t.target_length = 16;
  CHECK_THAT(trace_error(fixture("models/bert-mlm"), t),
             Catch::Contains("is not an encoder-decoder"));
  CHECK_FALSE(fs::exists(tmp / "x.pt"));
  // A translation task on an artifact that is not an encoder-decoder.
  TraceOptions bert;
  const std::string bert_pt = tmp / "bert.pt";
  trace_model(fixture("models/bert-mlm"), bert_pt, bert);
  RunOptions translate;
  translate.task = "translation";
  try {
    Runner(bert_pt, translate);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("translation needs an encoder-decoder"));
  }
}
