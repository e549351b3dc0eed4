// hfjit run against the transformers pipelines (tests/fixtures/run/cases.json,
// written by scripts/make_run_fixtures.py), the real all-MiniLM-L6-v2 against
// sentence-transformers (tests/fixtures/minilm/, scripts/make_minilm_reference.py),
// --tokenize against `tokenizers`, and the bad inputs of `run`.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "hfjit/io/file.h"
#include "hfjit/trace.h"
#include "test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace hfjit::test {
namespace {

json load_json(const std::string& path) {
  return json::parse(read_text_file(path));
}

// Traced artifacts, one per (model, config overrides, shape), shared by the cases.
class Artifacts {
 public:
  std::string get(const json& c) {
    const std::string key = c["model"].get<std::string>() + c["config_overrides"].dump() +
                            std::to_string(c["max_length"].get<int64_t>()) + "x" +
                            std::to_string(c["batch_size"].get<int64_t>());
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    std::string model = fixture("models/" + c["model"].get<std::string>());
    if (!c["config_overrides"].empty()) {  // a copy of the folder with config.json changed
      const fs::path copy = tmp_.path() / ("model" + std::to_string(cache_.size()));
      fs::copy(model, copy, fs::copy_options::recursive);
      json config = load_json((copy / "config.json").string());
      config.update(c["config_overrides"]);
      write_file_atomic((copy / "config.json").string(), config.dump(2));
      model = copy.string();
    }
    TraceOptions o;
    o.batch_size = c["batch_size"].get<int64_t>();
    o.max_length = c["max_length"].get<int64_t>();
    const std::string pt = tmp_ / ("m" + std::to_string(cache_.size()) + ".pt");
    trace_model(model, pt, o);
    return cache_[key] = pt;
  }
  const TempFolder& tmp() const { return tmp_; }

 private:
  TempFolder tmp_;
  std::map<std::string, std::string> cache_;
};

Artifacts& artifacts() {
  static Artifacts a;
  return a;
}

// Floats within atol + rtol * |expected| (padding to the traced length changes
// the last bits); everything else exactly.
bool same(const json& want, const json& got, std::string& why, const std::string& at = "") {
  if (want.is_number_float() || (want.is_number() && got.is_number_float())) {
    if (!got.is_number()) return why = at + ": not a number", false;
    const double w = want.get<double>(), g = got.get<double>();
    if (std::abs(w - g) <= 2e-5 + 1e-4 * std::abs(w)) return true;
    return why = at + ": " + std::to_string(g) + " != " + std::to_string(w), false;
  }
  if (want.is_array()) {
    if (!got.is_array() || got.size() != want.size())
      return why = at + ": array of " + std::to_string(got.is_array() ? got.size() : 0) +
                   " != " + std::to_string(want.size()),
             false;
    bool ok = true;
    for (size_t i = 0; i < want.size() && ok; ++i)
      ok = same(want[i], got[i], why, at + "[" + std::to_string(i) + "]");
    if (ok) return true;
    // Scored lists: near-equal scores may come in either order; each expected entry must
    // match a distinct actual entry whose score is within tolerance.
    if (!want[0].is_object() || !want[0].contains("score")) return false;
    std::vector<bool> used(got.size(), false);
    for (size_t i = 0; i < want.size(); ++i) {
      bool found = false;
      for (size_t j = 0; j < got.size() && !found; ++j) {
        std::string ignored;
        if (!used[j] && same(want[i], got[j], ignored, at)) used[j] = found = true;
      }
      if (!found)
        return why = at + "[" + std::to_string(i) + "]: no match for " + want[i].dump(), false;
      // Only reordering among ties is allowed.
      if (std::abs(want[i]["score"].get<double>() - got[i]["score"].get<double>()) > 2e-5)
        return why = at + "[" + std::to_string(i) + "]: order differs beyond ties", false;
    }
    return true;
  }
  if (want.is_object()) {
    if (!got.is_object() || got.size() != want.size())
      return why = at + ": object keys differ: " + got.dump().substr(0, 200), false;
    for (const auto& [k, v] : want.items()) {
      if (!got.contains(k)) return why = at + ": no key " + k, false;
      if (!same(v, got[k], why, at + "." + k)) return false;
    }
    return true;
  }
  if (want == got) return true;
  return why = at + ": " + got.dump() + " != " + want.dump(), false;
}

// Runs `args` + --input (the case's inputs as JSON lines) + --json and compares
// each output line with the reference's answer for that input.
void check_outputs(const json& c, std::vector<std::string> args, const std::string& input) {
  std::string lines;
  for (const json& in : c["inputs"])
    lines += (in.is_string() ? json{{"text", in}} : in).dump() + "\n";
  write_bytes(input, lines);
  args.insert(args.end(), {"--input", input, "--json"});
  const CliResult r = run_cli(args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::istringstream out(r.out);
  std::string line;
  size_t i = 0;
  for (; std::getline(out, line); ++i) {
    REQUIRE(i < c["expected"].size());
    INFO("input " << i << ": " << c["inputs"][i].dump());
    json want = c["expected"][i];
    // The pipeline's [1][tokens][hidden] is run's {"embedding": [tokens][hidden]}.
    if (c.value("task", "") == "feature-extraction") want = json{{"embedding", want[0]}};
    std::string why;
    const bool ok = same(want, json::parse(line), why);
    INFO(why);
    CHECK(ok);
  }
  CHECK(i == c["expected"].size());
}

void check_cases(const std::string& task) {
  const json cases = load_json(fixture("run/cases.json"));
  int ran = 0;
  for (const json& c : cases["cases"]) {
    if (c["task"] != task) continue;
    INFO("case " << c["name"].get<std::string>());
    std::vector<std::string> args = {"run", artifacts().get(c)};
    for (const json& a : c["cli"]) args.push_back(a.get<std::string>());
    check_outputs(c, args, artifacts().tmp() / (c["name"].get<std::string>() + ".jsonl"));
    ++ran;
  }
  CHECK(ran > 0);
}

}  // namespace

TEST_CASE("run fill-mask matches the transformers pipeline", "[run]") {
  check_cases("fill-mask");
}
TEST_CASE("run text-classification matches the transformers pipeline", "[run]") {
  check_cases("text-classification");
}
TEST_CASE("run token-classification matches the transformers pipeline", "[run]") {
  check_cases("token-classification");
}
TEST_CASE("run question-answering matches the transformers pipeline", "[run]") {
  check_cases("question-answering");
}
TEST_CASE("run feature-extraction matches the transformers pipeline", "[run]") {
  check_cases("feature-extraction");
}
TEST_CASE("run text-generation matches the transformers pipeline", "[run]") {
  check_cases("text-generation");
}

TEST_CASE("run sentence-embedding of all-MiniLM-L6-v2 matches sentence-transformers",
          "[run][minilm]") {
  const char* env = std::getenv("HFJIT_MINILM");
  const std::string dir =
      env ? env : std::string(HFJIT_SOURCE_DIR) + "/.cache/models/all-MiniLM-L6-v2";
  INFO("the real model comes from scripts/fetch_minilm (run by scripts/setup)");
  REQUIRE(fs::is_regular_file(fs::path(dir) / "model.safetensors"));
  const json ref = load_json(fixture("minilm/reference.json"));
  TempFolder tmp;
  TraceOptions o;
  o.max_length = 128;
  o.lengths = {32, 256};
  trace_model(dir, tmp / "minilm.pt", o);
  std::string lines;
  for (const json& s : ref["sentences"]) lines += json{{"text", s}}.dump() + "\n";
  write_bytes(tmp / "in.jsonl", lines);
  const CliResult r = run_cli({"run", tmp / "minilm.pt", "--input", tmp / "in.jsonl", "--json"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::istringstream out(r.out);
  std::string line;
  size_t i = 0;
  double worst_cos = 1, worst_diff = 0;
  for (; std::getline(out, line); ++i) {
    REQUIRE(i < ref["embeddings"].size());
    const json got = json::parse(line)["embedding"];
    const json& want = ref["embeddings"][i];
    REQUIRE(got.size() == want.size());
    double dot = 0, ng = 0, nw = 0;
    for (size_t k = 0; k < got.size(); ++k) {
      const double g = got[k], w = want[k];
      dot += g * w, ng += g * g, nw += w * w;
      worst_diff = std::max(worst_diff, std::abs(g - w));
    }
    worst_cos = std::min(worst_cos, dot / std::sqrt(ng * nw));
  }
  CHECK(i == ref["sentences"].size());
  INFO("worst cosine " << worst_cos << ", worst abs diff " << worst_diff);
  CHECK(worst_cos >= 0.99999);
  CHECK(worst_diff < 1e-4);

  // The same into a .npy: [sentences, 384] float32.
  const CliResult n =
      run_cli({"run", tmp / "minilm.pt", "--input", tmp / "in.jsonl", "--output", tmp / "e.npy"});
  INFO(n.err);
  REQUIRE(n.code == 0);
  const std::vector<uint8_t> npy = read_bytes(tmp / "e.npy");
  REQUIRE(npy.size() > 128);
  const uint16_t header = static_cast<uint16_t>(npy[8] | (npy[9] << 8));
  const std::string dict(npy.begin() + 10, npy.begin() + 10 + header);
  CHECK(dict.find("'descr': '<f4'") != std::string::npos);
  CHECK(dict.find(std::to_string(ref["sentences"].size()) + ",") != std::string::npos);
  CHECK((10 + header) % 64 == 0);
  CHECK(npy.size() == 10 + header + ref["sentences"].size() * 384 * sizeof(float));
  float first;
  std::memcpy(&first, npy.data() + 10 + header, sizeof first);
  CHECK(std::abs(first - ref["embeddings"][0][0].get<float>()) < 1e-4);
}

TEST_CASE("run --tokenize matches tokenizers on the fixture probes", "[run][tokenize]") {
  for (const char* model : {"bert-mlm", "roberta-mlm", "gpt2-lm", "albert-mlm", "xlm-roberta-mlm",
                            "camembert-mlm", "mpnet-mlm"}) {
    INFO(model);
    const json ref =
        load_json(fixture(std::string("models/") + model + "/tokenizer_reference.json"));
    TempFolder tmp;
    std::string lines;
    std::vector<json> want;
    for (const json& c : ref["cases"]) {
      if (!c.contains("text") || !c["text"].is_string() || c.contains("pair")) continue;
      lines += json{{"text", c["text"]}}.dump() + "\n";
      want.push_back(c);
    }
    REQUIRE(!want.empty());
    write_bytes(tmp / "in.jsonl", lines);
    const CliResult r =
        run_cli({"run", "--tokenize", "--tokenizer", fixture(std::string("models/") + model),
                 "--input", tmp / "in.jsonl", "--json"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    std::istringstream out(r.out);
    std::string line;
    size_t i = 0;
    for (; std::getline(out, line) && i < want.size(); ++i) {
      const json got = json::parse(line);
      INFO(want[i]["text"].dump());
      CHECK(got["ids"] == want[i]["ids"]);
      if (want[i].contains("offsets")) CHECK(got["offsets"] == want[i]["offsets"]);
    }
    CHECK(i == want.size());
  }
}

TEST_CASE("run: text output, arguments, --question, truncation", "[run]") {
  const json cases = load_json(fixture("run/cases.json"));
  json mlm, qa;
  for (const json& c : cases["cases"]) {
    if (c["name"] == "fill-mask-bert-default") mlm = c;
    if (c["name"] == "question-answering-default") qa = c;
  }
  const std::string pt = artifacts().get(mlm);
  // Arguments give the same answer as JSON lines; text output shows the sequence.
  const CliResult r = run_cli({"run", pt, mlm["inputs"][0].get<std::string>()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find(mlm["expected"][0][0]["sequence"].get<std::string>()) != std::string::npos);
  const CliResult j = run_cli({"run", pt, "--json", mlm["inputs"][0].get<std::string>()});
  REQUIRE(j.code == 0);
  std::string why;
  CHECK(same(mlm["expected"][0], json::parse(j.out), why));

  // Too long: warned and truncated by default, an error with --truncation error.
  std::string long_text = "the cat sat [MASK]";
  for (int i = 0; i < 40; ++i) long_text += " on the mat";
  const CliResult w = run_cli({"run", pt, "--json", long_text});
  CHECK(w.code == 0);
  CHECK(w.err.find("truncated") != std::string::npos);
  const CliResult e = run_cli({"run", pt, "--truncation", "error", long_text});
  CHECK(e.code == 1);
  CHECK(e.err.find("argument 1") != std::string::npos);
  CHECK(e.err.find("traced length 32") != std::string::npos);

  // --question makes each TEXT a context.
  const std::string qpt = artifacts().get(qa);
  const CliResult q =
      run_cli({"run", qpt, "--json", "--question", qa["inputs"][0]["question"].get<std::string>(),
               qa["inputs"][0]["context"].get<std::string>()});
  INFO(q.err);
  REQUIRE(q.code == 0);
  CHECK(same(qa["expected"][0], json::parse(q.out), why));
}

TEST_CASE("run: bad inputs get one-line errors", "[run][errors]") {
  const json cases = load_json(fixture("run/cases.json"));
  json mlm, qa, cls;
  for (const json& c : cases["cases"]) {
    if (c["name"] == "fill-mask-bert-default") mlm = c;
    if (c["name"] == "question-answering-default") qa = c;
    if (c["name"] == "text-classification-bert") cls = c;
  }
  const std::string pt = artifacts().get(mlm), qpt = artifacts().get(qa),
                    cpt = artifacts().get(cls);
  TempFolder tmp;
  struct Bad {
    std::vector<std::string> args;
    std::string stdin_text;
    std::string message;
  };
  write_bytes(tmp / "junk.pt", "this is not a zip archive");
  write_bytes(tmp / "empty.txt", "");
  write_bytes(tmp / "bad.jsonl",
              "{\"text\": \"a [MASK] b\"}\n{\"text\": \"fine [MASK]\"}\n{\"text\": oops}\n");
  write_bytes(tmp / "noctx.jsonl", "{\"question\": \"who?\"}\n");
  // A TorchScript file without hfjit metadata: the bert-mlm artifact re-saved by torch would do; a
  // zip with TorchScript code but no meta is what `hfjit untie` leaves of a foreign .pt, so strip
  // it.
  const std::vector<Bad> bad = {
      {{"run", tmp / "junk.pt", "x"}, "", "not a TorchScript file"},
      {{"run", tmp / "missing.pt", "x"}, "", "missing.pt"},
      {{"run", pt}, "", "no input"},
      {{"run", pt, "--input", tmp / "empty.txt"}, "", "empty input"},
      {{"run", pt, "--input", tmp / "bad.jsonl", "--json"}, "", "bad.jsonl:3: malformed JSON line"},
      {{"run", qpt, "--input", tmp / "noctx.jsonl"},
       "",
       "noctx.jsonl:1: a question without a context"},
      {{"run", qpt, "just a context"}, "", "question-answering needs a question and a context"},
      {{"run", pt, "no mask here"}, "", "argument 1: no [MASK] token"},
      {{"run", pt, "--task", "text-generation", "x"},
       "",
       "text-generation needs a causal language model"},
      {{"run", pt, "--task", "question-answering", "x"}, "", "does not fit this artifact"},
      {{"run", pt, "--task", "speech-recognition", "x"}, "", "unknown task 'speech-recognition'"},
      {{"run", pt, "--task", "summarization", "x"}, "", "summarization needs an encoder-decoder"},
      {{"run", cpt, "--top-k", "zero", "x"}, "", "--top-k must be a positive number or 'all'"},
      {{"run", cpt, "--aggregation", "mean", "x"}, "", "unknown --aggregation 'mean'"},
      {{"run", cpt, "--truncation", "cut", "x"}, "", "--truncation must be warn or error"},
      {{"run", cpt, "--output", tmp / "e.npy", "x"}, "", ".npy output holds one vector per input"},
      {{"run", cpt, "--output", cpt, "x"}, "", "would overwrite the model"},
      {{"run", cpt, "--batch-size", "3", "x"}, "", "traced with batch size 2"},
      {{"run", "--tokenize"}, "", "--tokenize needs --tokenizer DIR or a MODEL.pt"},
  };
  for (const Bad& b : bad) {
    std::string shown;
    for (const auto& a : b.args) shown += a + " ";
    INFO(shown);
    const std::string before = tree_fingerprint(tmp.path().string());
    const CliResult r = run_cli(b.args);
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK(r.err.rfind("hfjit: error: ", 0) == 0);
    CHECK(r.err.find(b.message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(tree_fingerprint(tmp.path().string()) == before);  // nothing written, inputs untouched
  }
  // A file is read a window (8 batches) ahead, so the malformed third line
  // stops the run before any batch; the error names it.
  const CliResult r = run_cli({"run", pt, "--input", tmp / "bad.jsonl", "--json"});
  CHECK(r.code == 1);
  CHECK(r.out.empty());
}

}  // namespace hfjit::test

namespace hfjit::test {

TEST_CASE("run: plain TorchScript from Python's torch.jit.trace, with --task and --tokenizer",
          "[run][plain]") {
  const json plain = load_json(fixture("run/plain/plain.json"));
  TempFolder tmp;
  REQUIRE(plain["cases"].size() >= 2);
  for (const json& c : plain["cases"]) {
    INFO(c["name"].get<std::string>());
    std::vector<std::string> args = {"run", fixture("run/plain/" + c["pt"].get<std::string>()),
                                     "--tokenizer",
                                     fixture("models/" + c["tokenizer"].get<std::string>())};
    for (const json& a : c["cli"]) args.push_back(a);
    check_outputs(c, args, tmp / "in.jsonl");
    // Without --task there is nothing to go by.
    const CliResult r = run_cli({"run", fixture("run/plain/" + c["pt"].get<std::string>()), "x"});
    CHECK(r.code == 1);
    CHECK(r.err.find("has no hfjit metadata") != std::string::npos);
  }
}

TEST_CASE("run: a --dynamic artifact pads each batch to its longest input only", "[run][dynamic]") {
  const json cases = load_json(fixture("run/cases.json"));
  TempFolder tmp;
  for (const json& c : cases["cases"]) {
    if (c["name"] != "fill-mask-bert-default" && c["name"] != "question-answering-long-context" &&
        c["name"] != "token-classification-first" && c["name"] != "text-generation-gpt2-greedy8")
      continue;
    INFO(c["name"].get<std::string>());
    TraceOptions o;
    o.dynamic = true;
    o.max_length = c["max_length"].get<int64_t>();
    o.batch_size = 2;
    const std::string pt = tmp / (c["name"].get<std::string>() + ".pt");
    trace_model(fixture("models/" + c["model"].get<std::string>()), pt, o);
    std::vector<std::string> args = {"run", pt};
    for (const json& a : c["cli"]) args.push_back(a);
    check_outputs(c, args, tmp / "in.jsonl");
  }
}

}  // namespace hfjit::test

namespace hfjit::test {

TEST_CASE("run text-generation: sampling is seeded, top-k 1 and temperature 0 are greedy",
          "[run][generation]") {
  const json cases = load_json(fixture("run/cases.json"));
  json greedy;
  for (const json& c : cases["cases"])
    if (c["name"] == "text-generation-gpt2-greedy8") greedy = c;
  REQUIRE(greedy.is_object());
  const std::string pt = artifacts().get(greedy);
  const std::string prompt = greedy["inputs"][0];
  const std::string want = greedy["expected"][0][0]["generated_text"];
  auto generate = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", pt, "--json", "--max-new-tokens", "8", prompt};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliResult r = run_cli(args);
    INFO(r.err);
    REQUIRE(r.code == 0);
    return json::parse(r.out)[0]["generated_text"].get<std::string>();
  };
  CHECK(generate({"--top-k", "1", "--seed", "5"}) == want);  // sampling among one token is greedy
  CHECK(generate({"--temperature", "0"}) == want);
  const std::string a = generate({"--temperature", "1.5", "--seed", "1"});
  CHECK(generate({"--temperature", "1.5", "--seed", "1"}) == a);  // same seed, same text
  CHECK(a.rfind(prompt, 0) == 0);
  std::set<std::string> seen;
  for (const char* seed : {"1", "2", "3", "4"})
    seen.insert(generate({"--temperature", "1.5", "--top-p", "0.95", "--seed", seed}));
  CHECK(seen.size() > 1);  // a random model at temperature 1.5: different seeds sample differently
}

}  // namespace hfjit::test
