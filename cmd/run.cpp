// hfjit run MODEL.pt [TEXT ...] [--input FILE|-] [--task T] [--json] [--output FILE] ...
//   text in, the task's answer out. The engine is in the library (hfjit/run/):
//   InputSource -> Batcher -> Runner -> ResultSink; this file parses the
//   options, wires those together and prints the text rendering of results.
// hfjit run MODEL.pt --describe [--json]: what an artifact holds.
// hfjit run --tokenize (--tokenizer DIR | MODEL.pt) [TEXT ...] [--json]: ids, tokens, offsets.

#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <variant>

#include "app.h"
#include "commands.h"
#include "format.h"
#include "hfjit/error.h"
#include "hfjit/graph_check.h"
#include "hfjit/io/artifact_meta.h"
#include "hfjit/io/file.h"
#include "hfjit/run/batcher.h"
#include "hfjit/run/input.h"
#include "hfjit/run/results.h"
#include "hfjit/run/runner.h"
#include "hfjit/run/sinks.h"
#include "hfjit/tokenizer.h"
#include "hfjit/torchscript_file.h"
#include "linear_option.h"

namespace hfjit::cmd {
namespace {

using ojson = nlohmann::ordered_json;

struct RunArgs {
  std::string model;
  InputOptions inputs;  // TEXT arguments, --input, --question
  std::string output;
  std::string query;  // sentence-embedding: rank the inputs by cosine similarity to it
  bool describe = false;
  bool tokenize = false;
  bool json = false;
  RunOptions opts;
};

// ------------------------------------------------------------------ options

// --top-k K (a positive number) or all (0: every label), for CLI11 to convert.
std::string top_k_value(const std::string& v) {
  if (v == "all") return "0";
  size_t used = 0;
  long long k = 0;
  try {
    k = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size() || k < 1)
    throw BadValue("--top-k must be a positive number or 'all', not '" + v + "'");
  return std::to_string(k);
}

// --truncation warn|error as the bool truncation_error.
std::string truncation_value(const std::string& v) {
  if (v == "warn") return "false";
  if (v == "error") return "true";
  throw BadValue("--truncation must be warn or error, not '" + v + "'");
}

// ------------------------------------------------------------------- text

std::string one_line(std::string s, size_t max = 100) {
  for (char& ch : s)
    if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
  if (s.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
      --cut;  // whole UTF-8 characters
    s = s.substr(0, cut) + "...";
  }
  return s;
}

std::string indent(const std::string& table) {
  std::string out = "  ";
  for (size_t i = 0; i < table.size(); ++i) {
    out += table[i];
    if (table[i] == '\n' && i + 1 < table.size()) out += "  ";
  }
  return out;
}

// The lines under an input's "> text" line, one overload per task's result.
std::string rows(const FillMaskResult& r) {
  std::string out;
  for (size_t m = 0; m < r.masks.size(); ++m) {
    if (r.masks.size() > 1) out += "  mask " + std::to_string(m + 1) + "\n";
    Table t({"score", "token", "sequence"});
    for (const auto& c : r.masks[m])
      t.add({fixed(c.score, 4), one_line(c.token_str, 30), one_line(c.sequence)});
    out += indent(t.render());
  }
  return out;
}

std::string rows(const ClassificationResult& r) {
  Table t({"label", "score"});
  for (const auto& l : r.labels) t.add({l.label, fixed(l.score, 4)});
  return indent(t.render());
}

std::string rows(const TokenClassificationResult& r) {
  if (r.entities.empty()) return "  (no entities)\n";
  Table t({r.entities[0].grouped ? "entity_group" : "entity", "score", "word", "start", "end"});
  for (const auto& e : r.entities)
    t.add({e.entity, fixed(e.score, 4), one_line(e.word, 40), std::to_string(e.start),
           std::to_string(e.end)});
  return indent(t.render());
}

std::string rows(const QuestionAnsweringResult& r) {
  Table t({"score", "answer", "start", "end"});
  for (const auto& a : r.answers)
    t.add({fixed(a.score, 4), one_line(a.answer, 60), std::to_string(a.start),
           std::to_string(a.end)});
  return indent(t.render());
}

// A vector's first six values.
std::string head(const std::vector<float>& v) {
  std::string out;
  for (size_t i = 0; i < std::min<size_t>(v.size(), 6); ++i) out += (i ? " " : "") + fixed(v[i], 4);
  return out;
}

std::string vector_line(const std::vector<float>& v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * static_cast<double>(x);
  return "  [" + std::to_string(v.size()) + "] " + head(v) + " ... (norm " +
         fixed(std::sqrt(norm), 4) + ")\n";
}

std::string rows(const TokenEmbeddings& r) {
  if (r.tokens.empty()) return vector_line({});
  return "  [" + std::to_string(r.tokens.size()) + " tokens x " +
         std::to_string(r.tokens[0].size()) + "] first token: " + head(r.tokens[0]) + " ...\n";
}

std::string rows(const Embedding& r) {
  return vector_line(r.vector);
}

std::string rows(const Generation& r) {
  return "  " + one_line(r.generated_text) + "\n";
}  // render prints it whole

std::string rows(const TextToText& r) {
  std::string out;
  for (const std::string& t : r.texts) out += "  " + one_line(t) + "\n";
  return out;
}

// Readable text for one result: the input, then the answer as a table.
// Generated text is printed as it is.
std::string render(const RunInput& in, const RunResult& result) {
  if (const auto* g = std::get_if<Generation>(&result)) return g->generated_text + "\n\n";
  const std::string shown = in.question    ? *in.question + "  |  " + in.text
                            : in.text_pair ? in.text + "  |  " + *in.text_pair
                                           : in.text;
  return "> " + one_line(shown) + "\n" + std::visit([](const auto& r) { return rows(r); }, result) +
         "\n";
}

// Results as text on stdout. Generated text that was streamed (RunOptions::on_text,
// through stream()) is not printed again.
class TextSink : public ResultSink {
 public:
  void write(const RunInput& input, const RunResult& result) override {
    if (std::holds_alternative<Generation>(result) && streamed_ == input.where) {
      streamed_.clear();
      std::fputs("\n\n", stdout);
      return;
    }
    std::fputs(render(input, result).c_str(), stdout);
  }
  void flush() override { std::fflush(stdout); }
  // A piece of an input's generated text, printed as it comes (the prompt first).
  void stream(const RunInput& input, const std::string& piece) {
    if (streamed_ != input.where) {
      streamed_ = input.where;
      std::fputs(input.text.c_str(), stdout);
    }
    std::fputs(piece.c_str(), stdout);
    std::fflush(stdout);
  }

 private:
  std::string streamed_;  // the input being streamed
};

// A sink shared with the streaming callback.
class SharedSink : public ResultSink {
 public:
  explicit SharedSink(std::shared_ptr<ResultSink> inner) : inner_(std::move(inner)) {}
  void write(const RunInput& input, const RunResult& result) override {
    inner_->write(input, result);
  }
  void flush() override { inner_->flush(); }
  void commit() override { inner_->commit(); }

 private:
  std::shared_ptr<ResultSink> inner_;
};

// Passes results on to `inner`, counting them; on a terminal shows the count
// on stderr after every window (for --output, whose results are not shown).
class Progress : public ResultSink {
 public:
  Progress(ResultSink& inner, bool show) : inner_(inner), show_(show) {}
  void write(const RunInput& input, const RunResult& result) override {
    inner_.write(input, result);
    ++count_;
  }
  void flush() override {
    inner_.flush();
    if (show_) std::fprintf(stderr, "\r%zu inputs", count_);
  }
  void commit() override {
    inner_.commit();
    if (show_) std::fprintf(stderr, "\r");
  }

 private:
  ResultSink& inner_;
  bool show_;
  size_t count_ = 0;
};

// --------------------------------------------------------------- --describe

// The operators the file's code calls, each with its calls and whether it is
// on the pure-compute list (graph_check.h). Loads the module (nothing runs);
// a file libtorch cannot load gives its reason instead.
struct OperatorListing {
  std::vector<OperatorUse> ops;
  std::string load_error;
};

OperatorListing list_file_operators(const std::string& path) {
  OperatorListing l;
  try {
    l.ops = list_operators(TorchScriptFile::load(path).module);
  } catch (const Error& e) {
    l.load_error = e.what();
  }
  return l;
}

ojson operators_json(const OperatorListing& l) {
  if (!l.load_error.empty()) return ojson{{"error", l.load_error}};
  ojson ops = ojson::array();
  for (const auto& u : l.ops)
    ops.push_back({{"op", u.op}, {"calls", u.calls}, {"allowed", u.allowed}, {"in", u.function}});
  return ops;
}

void print_operators(const OperatorListing& l) {
  if (!l.load_error.empty()) {
    std::printf("operators: unknown (%s)\n", l.load_error.c_str());
    return;
  }
  size_t off = 0;
  for (const auto& u : l.ops) off += !u.allowed;
  std::printf("\noperators: %zu, %s\n", l.ops.size(),
              off ? (std::to_string(off) +
                     " off the pure-compute list: run and bench refuse it without --trust")
                        .c_str()
                  : "all on the pure-compute list");
  Table t({"operator", "calls", "pure compute", "first in"});
  for (const auto& u : l.ops)
    t.add({u.op, std::to_string(u.calls), u.allowed ? "yes" : "NO", u.function});
  std::printf("%s", t.render().c_str());
}

void describe(const RunArgs& a) {
  const std::map<std::string, std::string> extra = TorchScriptFile::read_extra_files(a.model);
  const OperatorListing ops = list_file_operators(a.model);
  auto it = extra.find("hfjit/meta.json");
  if (it == extra.end()) {
    // Not hfjit's: what its code does is all there is to say.
    if (a.json) {
      std::printf(
          "%s\n",
          ojson{{"hfjit_meta", nullptr}, {"operators", operators_json(ops)}}.dump().c_str());
      return;
    }
    std::printf("%s: no hfjit/meta.json (not written by hfjit trace)\n", a.model.c_str());
    print_operators(ops);
    return;
  }
  // The fields run and bench rely on are checked (a clear error if malformed);
  // the rest is shown as found.
  const ArtifactMeta m = parse_artifact_meta(it->second, a.model);
  nlohmann::ordered_json meta = nlohmann::ordered_json::parse(it->second);
  if (a.json) {
    std::printf("%s\n",
                ojson{{"hfjit_meta", meta}, {"operators", operators_json(ops)}}.dump().c_str());
    return;
  }
  // A field as text: strings as they are, anything else as JSON, "?" when absent.
  auto text = [](const nlohmann::ordered_json& j, const char* k) -> std::string {
    if (!j.is_object() || !j.contains(k)) return "?";
    return j[k].is_string() ? j[k].get<std::string>() : j[k].dump();
  };
  const nlohmann::ordered_json none = nlohmann::ordered_json::object();
  const auto& source = meta.contains("source") ? meta["source"] : none;
  const auto& verification = meta.contains("verification") ? meta["verification"] : none;
  Table t({"field", "value"});
  t.add({"model", text(source, "model")});
  t.add({"class", text(meta, "hf_class") + " (" + text(meta, "model_type") + ")"});
  t.add({"task", text(meta, "task")});
  std::string methods;
  for (const auto& x : m.methods)
    methods +=
        (methods.empty() ? "" : ", ") + x.name +
        (m.dynamic
             ? " [any batch, any length up to " + std::to_string(m.max_length) + "] (--dynamic)"
             : " [" + std::to_string(m.batch_size) + ", " + std::to_string(x.length) + "]");
  if (m.seq2seq)  // an encoder-decoder: its two methods, as docs/generation.md describes them
    methods = m.seq2seq->encode + " [any batch, sources up to " +
              std::to_string(m.seq2seq->max_length) + " tokens], " + m.seq2seq->decode +
              " [one token a step, a decoder cache of " + std::to_string(m.seq2seq->target_length) +
              " slots]";
  t.add({"methods", methods});
  std::string inputs, outputs;
  for (const auto& i : m.input_names) inputs += (inputs.empty() ? "" : ", ") + i;
  if (meta.contains("outputs") && meta["outputs"].is_array())
    for (const auto& o : meta["outputs"])
      outputs += (outputs.empty() ? "" : ", ") + text(o, "name") + " " + text(o, "shape");
  t.add({"inputs", inputs});
  t.add({"outputs", outputs});
  t.add({"dtype", m.dtype + ", quantization " + m.quantization});
  t.add({"tied weights", text(meta, "tie_mode")});
  const bool verified =
      verification.is_object() && verification.value("verified", nlohmann::ordered_json()) == true;
  t.add({"verified", verified ? "yes, atol " + text(verification, "atol") : "no"});
  std::string files;
  for (const auto& [name, contents] : extra) files += (files.empty() ? "" : ", ") + name;
  t.add({"extra files", files});
  t.add({"hfjit / torch", text(meta, "hfjit_version") + " / " + text(meta, "torch_version")});
  std::printf("%s", t.render().c_str());
  print_operators(ops);
}

// --------------------------------------------------------------- --tokenize

// The tokenizer files inside a .pt, read from the archive without loading the module.
TokenizerFiles artifact_tokenizer_files(const std::string& path) {
  const auto& known = tokenizer_file_names();
  TokenizerFiles files;
  std::string config;
  for (auto& [name, contents] : TorchScriptFile::read_extra_files(path))
    if (std::find(known.begin(), known.end(), name) != known.end())
      files[name] = std::move(contents);
    else if (name == "config.json")
      config = std::move(contents);
  if (files.empty()) throw Error(context(path, "carries no tokenizer files: give --tokenizer DIR"));
  // The tokenizer class may come from config.json (sentencepiece.bpe.model without
  // tokenizer_class).
  if (!config.empty()) files["config.json"] = std::move(config);
  return files;
}

int tokenize(RunArgs& a) {
  std::unique_ptr<Tokenizer> tok;
  if (!a.opts.tokenizer_dir.empty()) {
    // With --tokenizer, every positional argument is a text.
    if (!a.model.empty()) a.inputs.texts.insert(a.inputs.texts.begin(), a.model);
    tok = load_tokenizer(a.opts.tokenizer_dir);
  } else {
    if (a.model.empty()) throw Error("--tokenize needs --tokenizer DIR or a MODEL.pt");
    tok = load_tokenizer_from_files(artifact_tokenizer_files(a.model), a.model + ": ");
  }
  tok->set_padding(std::nullopt);
  tok->set_truncation(std::nullopt);
  InputSource source(a.inputs);
  RunInput in;
  while (source.next(in)) {
    if (in.question) throw Error(in.where + ": --tokenize takes \"text\" and \"text_pair\"");
    const Encoding e = tok->encode_input(in.text, in.text_pair);  // what run encodes
    if (a.json) {
      ojson j;
      j["ids"] = e.ids;
      j["tokens"] = e.tokens;
      j["type_ids"] = e.type_ids;
      ojson offsets = ojson::array();
      for (const auto& [s, t] : e.offsets) offsets.push_back({s, t});
      j["offsets"] = offsets;
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      std::printf("> %s\n",
                  one_line(in.text_pair ? in.text + "  |  " + *in.text_pair : in.text).c_str());
      Table t({"#", "token", "id", "type", "offsets"});
      for (size_t i = 0; i < e.size(); ++i)
        t.add({std::to_string(i), one_line(e.tokens[i], 40), std::to_string(e.ids[i]),
               std::to_string(e.type_ids.empty() ? 0 : e.type_ids[i]),
               std::to_string(e.offsets[i].first) + "-" + std::to_string(e.offsets[i].second)});
      std::printf("%s\n", indent(t.render()).c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}

// --------------------------------------------------------------------- run

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Where each result goes: a .npy, a JSON-lines file, JSON lines or text on stdout.
std::unique_ptr<ResultSink> result_sink(const RunArgs& a) {
  if (ends_with(a.output, ".npy")) return std::make_unique<NpySink>(a.output);
  if (!a.output.empty()) return std::make_unique<JsonLinesSink>(a.output);
  if (a.json) return std::make_unique<JsonLinesSink>(stdout);
  return std::make_unique<TextSink>();
}

// The --query ranking, most similar first: `score  text` lines, or JSON lines
// {"text", "score"} with --json or into --output's file.
void print_ranking(const RankingSink& ranking, bool json, AtomicFile* file) {
  for (const auto& [text, score] : ranking.ranked()) {
    const std::string line = json || file
                                 ? ojson{{"text", text}, {"score", score}}.dump(
                                       -1, ' ', false, nlohmann::json::error_handler_t::replace)
                                 : fixed(score, 4) + "  " + text;
    if (file)
      file->write(line + "\n");
    else
      std::printf("%s\n", line.c_str());
  }
}

int run(RunArgs& a) {
  if (a.model.empty()) throw Error("run needs a MODEL.pt");
  const bool npy = ends_with(a.output, ".npy");
  if (!a.output.empty()) {
    if (same_path(a.output, a.model))
      throw Error(context(a.output, "--output would overwrite the model"));
    if (!a.inputs.input.empty() && a.inputs.input != "-" && same_path(a.output, a.inputs.input))
      throw Error(context(a.output, "--output would overwrite the input"));
    check_writable_destination(a.output);
  }
  InputSource source(a.inputs);  // argument errors before the (slower) model load

  // Text on stdout: generated text is streamed as it is decoded.
  std::shared_ptr<TextSink> text_sink;
  if (a.output.empty() && !a.json) {
    text_sink = std::make_shared<TextSink>();
    a.opts.on_text = [text_sink](const RunInput& in, const std::string& piece) {
      text_sink->stream(in, piece);
    };
  }
  hfjit::Runner runner(a.model, a.opts);
  const std::string task = runner.task();
  if (npy && task != "sentence-embedding")
    throw Error(context(
        a.output,
        ".npy output holds one vector per input: it needs --task sentence-embedding (the task is " +
            task + ")"));
  // --query: the inputs ranked by cosine similarity to the query's embedding
  // (semantic search), printed once every input has run.
  std::unique_ptr<RankingSink> ranking;
  if (!a.query.empty()) {
    if (task != "sentence-embedding")
      throw Error(
          "--query ranks inputs by their sentence embeddings: it needs --task sentence-embedding "
          "(the task is " +
          task + ")");
    if (npy)
      throw Error(context(a.output, "--query prints a ranking: give a .jsonl --output, not .npy"));
    const RunResult query =
        runner.run({RunInput{a.query, std::nullopt, std::nullopt, "--query"}})[0];
    ranking = std::make_unique<RankingSink>(std::get<Embedding>(query));
  }
  std::unique_ptr<ResultSink> results;
  std::unique_ptr<AtomicFile> ranking_file;
  if (text_sink)
    results = std::make_unique<SharedSink>(text_sink);
  else if (!ranking)
    results = result_sink(a);
  else if (!a.output.empty())
    ranking_file = std::make_unique<AtomicFile>(a.output);
  Progress sink(ranking ? *ranking : *results, !a.output.empty() && isatty(STDERR_FILENO));

  // Standard input keeps a one-batch window, so a pipe gets its answers as
  // soon as a batch is full; so does streamed generation (each result follows its stream).
  const bool one_window = a.inputs.input == "-" || (text_sink && task == "text-generation");
  Batcher batcher(
      runner.batch_size(), one_window ? 1 : Batcher::kWindowBatches,
      [&](const std::vector<RunInput>& batch) {
        std::vector<RunResult> out = runner.run(batch);
        for (const std::string& w : runner.warnings()) spdlog::warn("{}", w);
        return out;
      },
      sink);
  RunInput in;
  while (source.next(in)) batcher.add(std::move(in));
  batcher.finish();

  if (ranking) print_ranking(*ranking, a.json, ranking_file.get());
  sink.commit();
  if (ranking_file) ranking_file->commit();
  if (!a.output.empty())
    spdlog::info("{} results ({}) written to {}", batcher.done(), task, a.output);
  return 0;
}

}  // namespace

Command add_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  app.add_option("model", a->model,
                 "A .pt written by hfjit trace (or any TorchScript file with --task, --tokenizer)");
  app.add_option("texts", a->inputs.texts, "Texts to run (or --input)");
  app.add_option("--input", a->inputs.input,
                 "One input per line (- for standard input); JSON lines with text/text_pair or "
                 "question/context");
  app.add_option(
      "--task", a->opts.task,
      "fill-mask, text-classification, token-classification, question-answering, "
      "feature-extraction, sentence-embedding, text-generation, translation, summarization, "
      "text2text-generation (default: the artifact's)");
  app.add_option("--tokenizer", a->opts.tokenizer_dir,
                 "Tokenizer (model) folder instead of the files in the artifact");
  app.add_option(
         "--top-k", a->opts.top_k,
         "Answers per input: fill-mask 5, text-classification 1 ('all'), question-answering 1; "
         "text-generation: sample among the k likeliest tokens")
      ->transform(top_k_value)
      ->type_name("K|all");
  app.add_flag("--json", a->json, "One JSON line per input, with the Hugging Face pipelines' keys");
  app.add_option(
      "--output", a->output,
      "Write the JSON lines to FILE (sentence-embedding: FILE.npy, float32 [inputs, dim])");
  app.add_option("--truncation", a->opts.truncation_error,
                 "Input longer than the traced length: warn (truncate) or error")
      ->transform(truncation_value)
      ->type_name("warn|error");
  app.add_option("--aggregation", a->opts.aggregation,
                 "token-classification: none, simple, first, max, average");
  app.add_option("--ignore-labels", a->opts.ignore_labels,
                 "token-classification: labels left out, comma-separated (default O)")
      ->delimiter(',')
      ->type_size(1)
      ->allow_extra_args(false)  // one value per --ignore-labels: TEXT arguments may follow
      ->type_name("L,...");
  app.add_option("--question", a->inputs.question,
                 "question-answering: the question for every TEXT (each a context)");
  app.add_option("--query", a->query,
                 "sentence-embedding: print the inputs ranked by cosine similarity to this text "
                 "(semantic search)");
  app.add_option("--doc-stride", a->opts.doc_stride,
                 "question-answering: tokens shared by consecutive context windows");
  app.add_option("--max-answer-len", a->opts.max_answer_len,
                 "question-answering: longest answer in tokens (default 15)");
  app.add_flag("--handle-impossible-answer", a->opts.handle_impossible_answer,
               "question-answering: allow an empty answer");
  app.add_option("--max-new-tokens", a->opts.max_new_tokens,
                 "Generation: tokens to generate at most (text-generation: 20; encoder-decoders: "
                 "generation_config.json's max_length - 1)");
  app.add_option("--num-beams", a->opts.num_beams,
                 "Encoder-decoders: beam search with this many beams (1: greedy; default: "
                 "generation_config.json's)");
  app.add_option("--length-penalty", a->opts.length_penalty,
                 "Beam search: finished scores are divided by length^this (default 1)");
  app.add_option("--early-stopping", a->opts.early_stopping,
                 "Beam search: true (stop at num_beams finished), false (transformers' "
                 "heuristic, the default) or never")
      ->type_name("true|false|never");
  app.add_option("--no-repeat-ngram-size", a->opts.no_repeat_ngram_size,
                 "Encoder-decoders: no n-gram of this size twice in a sequence (0: off)");
  app.add_option("--num-return-sequences", a->opts.num_return_sequences,
                 "Beam search: the best N sequences per input (at most --num-beams)");
  app.add_option("--temperature", a->opts.temperature,
                 "text-generation: sample with this temperature (0: greedy)");
  app.add_option("--top-p", a->opts.top_p,
                 "text-generation: sample from the smallest set of tokens with this probability");
  app.add_option("--seed", a->opts.seed, "text-generation: random seed for sampling (default 0)");
  app.add_option("--stop", a->opts.stop_strings,
                 "text-generation: stop a sequence when its text ends in this string (repeatable; "
                 "default: generation_config.json's stop_strings)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--repetition-penalty", a->opts.repetition_penalty,
                 "text-generation: divide the scores of tokens already in the sequence by this "
                 "(negative ones: multiply), as transformers' repetition_penalty (default 1: off)");
  app.add_option("--batch-size", a->opts.batch_size,
                 "Encoder-decoders: sources per encode (default: the traced batch size); plain "
                 "TorchScript files: the batch size to pad to");
  app.add_option("--max-length", a->opts.max_length,
                 "Plain TorchScript files: the length to pad to");
  app.add_flag(
      "--trust", a->opts.trust,
      "Run a .pt whose code calls operators off hfjit's pure-compute list (file, process, random)");
  add_linear_option(app, a->opts.linear);
  app.add_flag("--describe", a->describe, "Print what the artifact holds (its hfjit/meta.json)");
  app.add_flag("--tokenize", a->tokenize,
               "Print the tokenization (ids, tokens, type ids, offsets) instead of running");
  return [a]() {
    if (a->describe) {
      if (a->model.empty()) throw Error("--describe needs a MODEL.pt");
      describe(*a);
      return 0;
    }
    if (a->tokenize) return tokenize(*a);
    return run(*a);
  };
}

}  // namespace hfjit::cmd
