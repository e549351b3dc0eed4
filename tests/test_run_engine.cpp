// The `hfjit run` engine called directly, without the CLI: input sources,
// result sinks (JSON lines, .npy, the --query ranking), the length-sorted
// batcher, the typed results' JSON, and hfjit::Runner on traced fixture models
// against the transformers pipelines' answers (tests/fixtures/run/cases.json,
// the reference test_run.cpp checks through the CLI).

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/run/batcher.h"
#include "hfjit/run/input.h"
#include "hfjit/run/results.h"
#include "hfjit/run/runner.h"
#include "hfjit/run/sinks.h"
#include "hfjit/trace.h"
#include "test_util.h"

namespace hfjit::test {
namespace {

// Every input a source yields.
std::vector<RunInput> engine_read_all(InputSource& source) {
  std::vector<RunInput> all;
  RunInput in;
  while (source.next(in)) all.push_back(in);
  return all;
}

size_t engine_files_in(const TempFolder& tmp) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path())) n += e.is_regular_file();
  return n;
}

// Keeps what it is given, in order, and counts flushes and commits.
class EngineCollect : public ResultSink {
 public:
  void write(const RunInput& input, const RunResult& result) override {
    inputs.push_back(input);
    results.push_back(result);
  }
  void flush() override { ++flushes; }
  void commit() override { ++commits; }
  std::vector<RunInput> inputs;
  std::vector<RunResult> results;
  int flushes = 0, commits = 0;
};

RunInput engine_text(const std::string& text) {
  return RunInput{text, std::nullopt, std::nullopt, text};
}

}  // namespace

// ------------------------------------------------------------------ sources

TEST_CASE("engine: TEXT arguments are inputs as they are, named by position", "[run][engine]") {
  InputOptions o;
  o.texts = {"first", "{\"text\": \"not parsed\"}"};
  InputSource source(o);
  const std::vector<RunInput> all = engine_read_all(source);
  REQUIRE(all.size() == 2);
  CHECK(all[0].text == "first");
  CHECK(all[0].where == "argument 1");
  CHECK(all[1].text == "{\"text\": \"not parsed\"}");  // arguments are never JSON
  CHECK(all[1].where == "argument 2");
  CHECK_FALSE(all[0].question);

  o.question = "who?";
  InputSource with_question(o);
  const std::vector<RunInput> asked = engine_read_all(with_question);
  REQUIRE(asked.size() == 2);
  CHECK(asked[0].question == std::optional<std::string>("who?"));
  CHECK(asked[0].text == "first");  // the context
}

TEST_CASE("engine: argument errors of an input source", "[run][engine][errors]") {
  InputOptions both;
  both.texts = {"x"};
  both.input = "in.txt";
  CHECK_THROWS_WITH(InputSource(both), "give TEXT arguments or --input, not both");
  CHECK_THROWS_WITH(InputSource(InputOptions{}),
                    "no input: give TEXT arguments or --input FILE (- for standard input)");
  TempFolder tmp;
  InputOptions missing;
  missing.input = tmp / "missing.txt";
  CHECK_THROWS_WITH(InputSource(missing),
                    tmp / "missing.txt" + ": cannot open --input: No such file or directory");
}

TEST_CASE("engine: lines of a file, plain and JSON", "[run][engine]") {
  TempFolder tmp;
  write_bytes(tmp / "in.jsonl",
              "plain text\r\n"
              "\n"
              "  {\"text\": \"a\", \"text_pair\": \"b\"}\n"
              "{\"question\": \"who?\", \"context\": \"Ada did.\"}\n"
              "{\"text\": \"only\"}\n");
  InputOptions o;
  o.input = tmp / "in.jsonl";
  InputSource source(o);
  const std::vector<RunInput> all = engine_read_all(source);
  REQUIRE(all.size() == 5);
  CHECK(all[0].text == "plain text");  // the \r of a CRLF line is dropped
  CHECK(all[0].where == tmp / "in.jsonl:1");
  CHECK(all[1].text.empty());  // an empty line is an empty text
  CHECK(all[2].text == "a");
  CHECK(all[2].text_pair == std::optional<std::string>("b"));
  CHECK(all[3].question == std::optional<std::string>("who?"));
  CHECK(all[3].text == "Ada did.");
  CHECK(all[4].text == "only");
  CHECK_FALSE(all[4].text_pair);
  CHECK(all[4].where == tmp / "in.jsonl:5");

  // --question is every line's question unless the line brings its own.
  std::istringstream lines("context one\n{\"question\": \"mine?\", \"context\": \"c\"}\n");
  InputSource asked(lines, "<stdin>", "shared?");
  const std::vector<RunInput> q = engine_read_all(asked);
  REQUIRE(q.size() == 2);
  CHECK(q[0].question == std::optional<std::string>("shared?"));
  CHECK(q[1].question == std::optional<std::string>("mine?"));
}

TEST_CASE("engine: malformed lines are errors naming the line, read one at a time",
          "[run][engine][errors]") {
  std::istringstream lines("{\"text\": \"fine\"}\nalso fine\n{\"text\": oops}\nnever read\n");
  InputSource source(lines, "in.jsonl");
  RunInput in;
  REQUIRE(source.next(in));
  CHECK(in.text == "fine");
  REQUIRE(source.next(in));  // the bad third line is not read before it is asked for
  CHECK(in.text == "also fine");
  CHECK_THROWS_WITH(source.next(in), Catch::StartsWith("in.jsonl:3: malformed JSON line ("));

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{\"text\": 42}", "x.jsonl:1: \"text\" must be a string"},
      {"{\"context\": \"c\"}", "x.jsonl:1: a context without a question"},
      {"{\"question\": \"q?\"}", "x.jsonl:1: a question without a context"},
      {"{\"words\": \"w\"}",
       "x.jsonl:1: a JSON line needs \"text\" (and \"text_pair\"), or \"question\" and "
       "\"context\""},
  };
  for (const auto& [line, message] : bad) {
    INFO(line);
    CHECK_THROWS_WITH(parse_input_line(line, "x.jsonl:1"), message);
  }
  std::istringstream empty("");
  InputSource none(empty, "empty.txt");
  CHECK_THROWS_WITH(none.next(in), "empty.txt: empty input (no lines)");
}

// ----------------------------------------------------------------- results

TEST_CASE("engine: typed results give the pipelines' JSON, key order included", "[run][engine]") {
  const FillMaskCandidate cat{0.5f, 7, "cat", "the cat sat"}, dog{0.25f, 9, "dog", "the dog sat"};
  CHECK(cat.to_json().dump() ==
        R"({"score":0.5,"token":7,"token_str":"cat","sequence":"the cat sat"})");
  CHECK(to_json(FillMaskResult{{{cat, dog}}}).dump() ==
        R"([{"score":0.5,"token":7,"token_str":"cat","sequence":"the cat sat"},)"
        R"({"score":0.25,"token":9,"token_str":"dog","sequence":"the dog sat"}])");
  CHECK(to_json(FillMaskResult{{{cat}, {dog}}}).dump() ==  // several masks: a list per mask
        R"([[{"score":0.5,"token":7,"token_str":"cat","sequence":"the cat sat"}],)"
        R"([{"score":0.25,"token":9,"token_str":"dog","sequence":"the dog sat"}]])");

  const ClassificationLabel pos{"POS", 0.75f};
  CHECK(to_json(ClassificationResult{{pos}, false}).dump() == R"([{"label":"POS","score":0.75}])");
  CHECK(to_json(ClassificationResult{{pos}, true}).dump() ==
        R"({"label":"POS","score":0.75})");  // a text pair

  const TokenEntity token{false, "B-PER", 0.5f, 3, "ada", 0, 3};
  const TokenEntity group{true, "PER", 0.5f, 0, "ada lovelace", 0, 12};
  CHECK(to_json(TokenClassificationResult{{token}}).dump() ==
        R"([{"entity":"B-PER","score":0.5,"index":3,"word":"ada","start":0,"end":3}])");
  CHECK(to_json(TokenClassificationResult{{group}}).dump() ==
        R"([{"entity_group":"PER","score":0.5,"word":"ada lovelace","start":0,"end":12}])");
  CHECK(to_json(TokenClassificationResult{}).dump() == "[]");

  const Answer ada{0.125, 18, 21, "Ada"}, none{0.0625, 0, 0, ""};
  CHECK(to_json(QuestionAnsweringResult{{ada}}).dump() ==
        R"({"score":0.125,"start":18,"end":21,"answer":"Ada"})");
  CHECK(
      to_json(QuestionAnsweringResult{{ada, none}}).dump() ==
      R"([{"score":0.125,"start":18,"end":21,"answer":"Ada"},{"score":0.0625,"start":0,"end":0,"answer":""}])");
  CHECK(to_json(QuestionAnsweringResult{}).dump() == "[]");

  CHECK(to_json(TokenEmbeddings{{{1.5f, -2.0f}, {0.0f, 0.25f}}}).dump() ==
        R"({"embedding":[[1.5,-2.0],[0.0,0.25]]})");
  CHECK(to_json(Embedding{{0.5f, -1.0f}}).dump() == R"({"embedding":[0.5,-1.0]})");
  CHECK(to_json(Generation{"Hello world"}).dump() == R"([{"generated_text":"Hello world"}])");
  // Scores keep float32's value (the pipelines' numpy floats), not a rounded decimal.
  CHECK(ClassificationLabel{"x", 0.1f}.to_json().dump() ==
        R"({"label":"x","score":0.10000000149011612})");
  // One line, invalid UTF-8 replaced rather than failing.
  CHECK(to_json_line(Generation{"a\xff"
                                "b"}) ==
        "[{\"generated_text\":\"a\xef\xbf\xbd"
        "b\"}]");
}

// ------------------------------------------------------------------- sinks

TEST_CASE("engine: the .npy writer streams rows and patches the header at commit",
          "[run][engine]") {
  TempFolder tmp;
  const std::string path = tmp / "e.npy";
  {
    NpyWriter npy(path);
    npy.add({1.0f, 2.0f, 3.0f});
    npy.add({-1.0f, 0.5f, 0.25f});
    CHECK_FALSE(std::filesystem::exists(path));  // not before commit
    npy.commit();
    CHECK(npy.rows() == 2);
    CHECK(npy.cols() == 3);
  }
  const std::vector<uint8_t> bytes = read_bytes(path);
  REQUIRE(bytes.size() > 10);
  CHECK(std::string(bytes.begin(), bytes.begin() + 8) == std::string("\x93NUMPY\x01\x00", 8));
  const size_t header = bytes[8] | (bytes[9] << 8);
  CHECK((10 + header) % 64 == 0);
  const std::string dict(bytes.begin() + 10, bytes.begin() + 10 + static_cast<long>(header));
  CHECK(dict.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (", 0) == 0);
  CHECK(dict.find("                   2,          3), }") != std::string::npos);
  CHECK(dict.back() == '\n');
  REQUIRE(bytes.size() == 10 + header + 6 * sizeof(float));
  float values[6];
  std::memcpy(values, bytes.data() + 10 + header, sizeof values);
  CHECK(values[0] == 1.0f);
  CHECK(values[2] == 3.0f);
  CHECK(values[3] == -1.0f);
  CHECK(values[5] == 0.25f);
  // The header's size does not depend on the shape (it is written before the rows are known).
  CHECK(NpyWriter::header(0, 0).size() == NpyWriter::header(123456789, 384).size());
  CHECK(NpyWriter::header(0, 0).size() == 10 + header);
}

TEST_CASE("engine: a failing .npy or JSON-lines output leaves nothing behind",
          "[run][engine][errors]") {
  TempFolder tmp;
  {
    NpyWriter npy(tmp / "e.npy");
    npy.add({1.0f, 2.0f});
    CHECK_THROWS_WITH(npy.add({1.0f}), "embeddings of different sizes cannot share one .npy");
  }
  {
    NpySink sink(tmp / "f.npy");
    CHECK_THROWS_WITH(sink.write(engine_text("x"), Generation{"x"}),
                      Catch::Contains(".npy output holds one vector per input"));
  }
  {
    JsonLinesSink sink(tmp / "out.jsonl");
    sink.write(engine_text("x"), Embedding{{1.0f}});
  }                                  // no commit: an error stopped the run
  CHECK(engine_files_in(tmp) == 0);  // not even a temporary file

  {
    JsonLinesSink sink(tmp / "out.jsonl");
    sink.write(engine_text("x"), Embedding{{1.0f}});
    sink.write(engine_text("y"), Generation{"y"});
    sink.flush();
    CHECK_FALSE(std::filesystem::exists(tmp / "out.jsonl"));
    sink.commit();
  }
  CHECK(read_text_file(tmp / "out.jsonl") ==
        "{\"embedding\":[1.0]}\n[{\"generated_text\":\"y\"}]\n");
}

TEST_CASE("engine: --query ranks inputs by cosine similarity", "[run][engine]") {
  RankingSink ranking(Embedding{{1.0f, 0.0f}});
  ranking.write(engine_text("orthogonal"), Embedding{{0.0f, 3.0f}});
  ranking.write(engine_text("same way"), Embedding{{2.0f, 0.0f}});
  ranking.write(engine_text("opposite"), Embedding{{-1.0f, 0.0f}});
  ranking.write(engine_text("diagonal"), Embedding{{1.0f, 1.0f}});
  ranking.write(engine_text("also orthogonal"), Embedding{{0.0f, -1.0f}});
  const auto ranked = ranking.ranked();
  REQUIRE(ranked.size() == 5);
  CHECK(ranked[0].text == "same way");
  CHECK(ranked[0].score == Approx(1.0));
  CHECK(ranked[1].text == "diagonal");
  CHECK(ranked[1].score == Approx(std::sqrt(0.5)));
  CHECK(ranked[2].text == "orthogonal");  // ties keep input order
  CHECK(ranked[3].text == "also orthogonal");
  CHECK(ranked[4].text == "opposite");
  CHECK(ranked[4].score == Approx(-1.0));
  CHECK_THROWS_WITH(ranking.write(engine_text("t"), Generation{"t"}),
                    Catch::Contains("--query ranks sentence embeddings"));
}

// ----------------------------------------------------------------- batcher

TEST_CASE("engine: the batcher sorts each window by length and emits in input order",
          "[run][engine]") {
  // Lengths 5 3 8 1 | 7 2 4 6 | 9 (batch 2, window 2 batches = 4 inputs).
  const std::vector<std::string> texts = {"aaaaa", "aaa",  "aaaaaaaa", "a",        "aaaaaaa",
                                          "aa",    "aaaa", "aaaaaa",   "aaaaaaaaa"};
  std::vector<std::vector<std::string>> batches;
  EngineCollect sink;
  Batcher batcher(
      2, 2,
      [&](const std::vector<RunInput>& batch) {
        std::vector<std::string> seen;
        std::vector<RunResult> out;
        for (const RunInput& in : batch) {
          seen.push_back(in.text);
          out.emplace_back(Generation{"result of " + in.text});
        }
        batches.push_back(seen);
        return out;
      },
      sink);
  for (size_t i = 0; i < 3; ++i) batcher.add(engine_text(texts[i]));
  CHECK(batches.empty());  // the window is not full yet
  batcher.add(engine_text(texts[3]));
  CHECK(batches.size() == 2);  // a full window runs at once
  CHECK(sink.flushes == 1);
  CHECK(batcher.done() == 4);
  for (size_t i = 4; i < texts.size(); ++i) batcher.add(engine_text(texts[i]));
  batcher.finish();

  const std::vector<std::vector<std::string>> want = {
      {"a", "aaa"},
      {"aaaaa", "aaaaaaaa"},  // window 1, shortest first
      {"aa", "aaaa"},
      {"aaaaaa", "aaaaaaa"},  // window 2
      {"aaaaaaaaa"}};         // the last, partial window
  CHECK(batches == want);
  CHECK(sink.flushes == 3);  // once per window
  CHECK(sink.commits == 0);  // the caller commits
  CHECK(batcher.done() == texts.size());
  REQUIRE(sink.results.size() == texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    CHECK(sink.inputs[i].text == texts[i]);  // input order
    CHECK(std::get<Generation>(sink.results[i]).generated_text == "result of " + texts[i]);
  }
}

TEST_CASE("engine: the batcher's length counts pair and question; ties keep order",
          "[run][engine]") {
  CHECK(Batcher::length(RunInput{"abc", std::string("de"), std::nullopt, ""}) == 5);
  CHECK(Batcher::length(RunInput{"abc", std::nullopt, std::string("wxyz"), ""}) == 7);
  std::vector<std::string> order;
  EngineCollect sink;
  Batcher batcher(
      3, Batcher::kWindowBatches,
      [&](const std::vector<RunInput>& batch) {
        std::vector<RunResult> out;
        for (const RunInput& in : batch) {
          order.push_back(in.where);
          out.emplace_back(Embedding{});
        }
        return out;
      },
      sink);
  for (const char* w : {"x1", "y1", "x2", "y2", "x3"})
    batcher.add(RunInput{w[0] == 'x' ? "xx" : "y", std::nullopt, std::nullopt, w});
  batcher.finish();
  CHECK(order == std::vector<std::string>{"y1", "y2", "x1", "x2", "x3"});
  CHECK(sink.flushes == 1);

  Batcher wrong(
      2, 1, [](const std::vector<RunInput>&) { return std::vector<RunResult>{}; }, sink);
  wrong.add(engine_text("a"));
  CHECK_THROWS_WITH(wrong.finish(), "a batch of 1 inputs gave 0 results");
}

}  // namespace hfjit::test

// ------------------------------------------------------------------ Runner

namespace hfjit::test {
namespace {

using engine_json = nlohmann::json;

// Floats within atol + rtol * |expected| (padding to the traced length changes
// the last bits), everything else exactly; scored lists may swap near-ties.
bool engine_same(const engine_json& want, const engine_json& got, std::string& why,
                 const std::string& at = "") {
  if (want.is_number_float() || (want.is_number() && got.is_number_float())) {
    if (!got.is_number()) return why = at + ": not a number", false;
    const double w = want.get<double>(), g = got.get<double>();
    if (std::abs(w - g) <= 2e-5 + 1e-4 * std::abs(w)) return true;
    return why = at + ": " + std::to_string(g) + " != " + std::to_string(w), false;
  }
  if (want.is_array()) {
    if (!got.is_array() || got.size() != want.size())
      return why = at + ": array sizes differ", false;
    bool ok = true;
    for (size_t i = 0; i < want.size() && ok; ++i)
      ok = engine_same(want[i], got[i], why, at + "[" + std::to_string(i) + "]");
    if (ok || !want[0].is_object() || !want[0].contains("score")) return ok;
    std::vector<bool> used(got.size(), false);
    for (size_t i = 0; i < want.size(); ++i) {
      bool found = false;
      for (size_t j = 0; j < got.size() && !found; ++j) {
        std::string ignored;
        if (!used[j] && engine_same(want[i], got[j], ignored, at)) used[j] = found = true;
      }
      if (!found || std::abs(want[i]["score"].get<double>() - got[i]["score"].get<double>()) > 2e-5)
        return why = at + "[" + std::to_string(i) + "]: no match beyond ties for " + want[i].dump(),
               false;
    }
    return true;
  }
  if (want.is_object()) {
    if (!got.is_object() || got.size() != want.size())
      return why = at + ": keys differ: " + got.dump().substr(0, 200), false;
    for (const auto& [k, v] : want.items()) {
      if (!got.contains(k)) return why = at + ": no key " + k, false;
      if (!engine_same(v, got[k], why, at + "." + k)) return false;
    }
    return true;
  }
  if (want == got) return true;
  return why = at + ": " + got.dump() + " != " + want.dump(), false;
}

const engine_json& engine_case(const std::string& name) {
  static const engine_json cases = engine_json::parse(read_text_file(fixture("run/cases.json")));
  for (const engine_json& c : cases["cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("no case " + name + " in run/cases.json");
}

RunInput engine_input(const engine_json& in, size_t i) {
  RunInput r;
  r.where = "input " + std::to_string(i + 1);
  if (in.is_string()) {
    r.text = in.get<std::string>();
  } else if (in.contains("question")) {
    r.question = in["question"].get<std::string>();
    r.text = in["context"].get<std::string>();
  } else {
    r.text = in["text"].get<std::string>();
    if (in.contains("text_pair")) r.text_pair = in["text_pair"].get<std::string>();
  }
  return r;
}

// The case's model traced at its shape, and its command-line options as RunOptions.
struct EngineCase {
  engine_json c;
  std::string pt;
  RunOptions options;
};

EngineCase engine_prepare(const std::string& name, const TempFolder& tmp) {
  EngineCase e{engine_case(name), tmp / (name + ".pt"), RunOptions{}};
  REQUIRE(e.c["config_overrides"].empty());
  TraceOptions o;
  o.batch_size = e.c["batch_size"].get<int64_t>();
  o.max_length = e.c["max_length"].get<int64_t>();
  trace_model(fixture("models/" + e.c["model"].get<std::string>()), e.pt, o);
  const std::vector<std::string> cli = e.c["cli"].get<std::vector<std::string>>();
  for (size_t i = 0; i + 1 < cli.size(); i += 2) {
    if (cli[i] == "--top-k")
      e.options.top_k = cli[i + 1] == "all" ? 0 : std::stoll(cli[i + 1]);
    else if (cli[i] == "--aggregation")
      e.options.aggregation = cli[i + 1];
    else if (cli[i] == "--max-new-tokens")
      e.options.max_new_tokens = std::stoll(cli[i + 1]);
    else
      FAIL("option " << cli[i] << " not mapped");
  }
  return e;
}

void engine_check_results(const EngineCase& e, const std::vector<RunResult>& results) {
  REQUIRE(results.size() == e.c["expected"].size());
  for (size_t i = 0; i < results.size(); ++i) {
    INFO(e.c["name"].get<std::string>() << " input " << i << ": " << e.c["inputs"][i].dump());
    engine_json want = e.c["expected"][i];
    // The pipeline's [1][tokens][hidden] is feature-extraction's {"embedding": [tokens][hidden]}.
    if (e.c["task"] == "feature-extraction") want = engine_json{{"embedding", want[0]}};
    std::string why;
    const bool ok = engine_same(want, engine_json::parse(to_json(results[i]).dump()), why);
    INFO(why);
    CHECK(ok);
  }
}

}  // namespace

TEST_CASE("engine: Runner gives the pipelines' answers as typed results", "[run][engine][runner]") {
  TempFolder tmp;
  for (const char* name :
       {"fill-mask-bert-default", "text-classification-bert-all", "text-classification-bert-pair",
        "token-classification-simple", "question-answering-top3", "feature-extraction-bert-base",
        "text-generation-gpt2-greedy8"}) {
    const EngineCase e = engine_prepare(name, tmp);
    Runner runner(e.pt, e.options);
    CHECK(runner.task() == e.c["task"].get<std::string>());
    CHECK(runner.batch_size() == 2);
    std::vector<RunInput> inputs;
    for (size_t i = 0; i < e.c["inputs"].size(); ++i)
      inputs.push_back(engine_input(e.c["inputs"][i], i));
    const std::vector<RunResult> results = runner.run(inputs);
    engine_check_results(e, results);
    CHECK(runner.warnings().empty());
  }
}

TEST_CASE("engine: Runner's typed fields are the reference's values", "[run][engine][runner]") {
  TempFolder tmp;
  const EngineCase mlm = engine_prepare("fill-mask-bert-default", tmp);
  Runner runner(mlm.pt, mlm.options);
  const auto& inputs = mlm.c["inputs"];
  const std::vector<RunResult> r =
      runner.run({engine_input(inputs[0], 0), engine_input(inputs[5], 5)});
  const auto& one = std::get<FillMaskResult>(r[0]);
  REQUIRE(one.masks.size() == 1);
  REQUIRE(one.masks[0].size() == 5);  // the pipeline's default top-k
  const engine_json& best = mlm.c["expected"][0][0];
  CHECK(one.masks[0][0].token == best["token"].get<int64_t>());
  CHECK(one.masks[0][0].token_str == best["token_str"].get<std::string>());
  CHECK(one.masks[0][0].sequence == best["sequence"].get<std::string>());
  CHECK(one.masks[0][0].score == Approx(best["score"].get<double>()).margin(2e-5));
  CHECK(std::get<FillMaskResult>(r[1]).masks.size() == 2);  // "The [MASK] sat on the [MASK]."

  const EngineCase qa = engine_prepare("question-answering-top3", tmp);
  Runner qa_runner(qa.pt, qa.options);
  const auto answers =
      std::get<QuestionAnsweringResult>(qa_runner.run({engine_input(qa.c["inputs"][0], 0)})[0]);
  REQUIRE(answers.answers.size() == 3);
  CHECK(answers.answers[0].answer == qa.c["expected"][0][0]["answer"].get<std::string>());
  CHECK(answers.answers[0].start == qa.c["expected"][0][0]["start"].get<size_t>());
  CHECK(answers.answers[0].end == qa.c["expected"][0][0]["end"].get<size_t>());

  // Bad input is an Error naming it.
  CHECK_THROWS_WITH(
      runner.run({RunInput{"no mask here", std::nullopt, std::nullopt, "argument 3"}}),
      Catch::StartsWith("argument 3: no [MASK] token"));
  CHECK_THROWS_WITH(qa_runner.run({engine_text("a context")}),
                    Catch::Contains("question-answering needs a question and a context"));
}

TEST_CASE("engine: source, batcher, Runner and sink together keep input order",
          "[run][engine][runner]") {
  TempFolder tmp;
  const EngineCase e = engine_prepare("token-classification-simple", tmp);
  std::string lines;
  for (const engine_json& in : e.c["inputs"]) lines += engine_json{{"text", in}}.dump() + "\n";
  write_bytes(tmp / "in.jsonl", lines);
  Runner runner(e.pt, e.options);
  InputOptions o;
  o.input = tmp / "in.jsonl";
  InputSource source(o);
  EngineCollect sink;
  size_t batches = 0;
  // A one-batch window: 6 inputs of varied lengths in 3 windows, each sorted.
  Batcher batcher(
      runner.batch_size(), 1,
      [&](const std::vector<RunInput>& batch) {
        ++batches;
        return runner.run(batch);
      },
      sink);
  RunInput in;
  while (source.next(in)) batcher.add(std::move(in));
  batcher.finish();
  CHECK(batches == 3);
  CHECK(sink.flushes == 3);
  REQUIRE(sink.inputs.size() == e.c["inputs"].size());
  for (size_t i = 0; i < sink.inputs.size(); ++i)
    CHECK(sink.inputs[i].where == tmp / ("in.jsonl:" + std::to_string(i + 1)));
  engine_check_results(e, sink.results);

  // The same through the JSON-lines sink into a file: one line per input, the reference's.
  {
    InputSource again(o);
    JsonLinesSink out(tmp / "out.jsonl");
    Batcher b(
        runner.batch_size(), Batcher::kWindowBatches,
        [&](const std::vector<RunInput>& batch) { return runner.run(batch); }, out);
    while (again.next(in)) b.add(std::move(in));
    b.finish();
    out.commit();
  }
  std::istringstream written(read_text_file(tmp / "out.jsonl"));
  std::string line;
  size_t i = 0;
  for (; std::getline(written, line); ++i) {
    REQUIRE(i < e.c["expected"].size());
    std::string why;
    CHECK(engine_same(e.c["expected"][i], engine_json::parse(line), why));
  }
  CHECK(i == e.c["expected"].size());
}

}  // namespace hfjit::test
