// hfjit run MODEL.pt [TEXT ...] [--input FILE|-] [--task T] [--json] [--output FILE] ...
//   text in, the task's answer out (lib/core/src/run/); inputs are streamed in
//   batches of the traced batch size, results printed as each batch finishes.
// hfjit run MODEL.pt --describe [--json]: what an artifact holds.
// hfjit run --tokenize (--tokenizer DIR | MODEL.pt) [TEXT ...] [--json]: ids, tokens, offsets.

#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "format.h"
#include "hfjit/error.h"
#include "hfjit/graph_check.h"
#include "hfjit/io/artifact_meta.h"
#include "hfjit/io/file.h"
#include "hfjit/runner.h"
#include "hfjit/tokenizer.h"
#include "hfjit/torchscript_file.h"

namespace hfjit::cmd {
namespace {

using ojson = nlohmann::ordered_json;

struct RunArgs {
  std::string model;
  std::vector<std::string> texts;
  std::string input;
  std::string output;
  std::string question;
  std::string query;  // sentence-embedding: rank the inputs by cosine similarity to it
  std::string top_k;
  std::string truncation = "warn";
  std::optional<std::string> ignore_labels;
  bool describe = false;
  bool tokenize = false;
  bool json = false;
  RunOptions opts;
};

// An embedding (a JSON array of numbers) scaled to length 1.
std::vector<double> unit_vector(const ojson& embedding) {
  std::vector<double> v;
  double norm = 0;
  for (const auto& x : embedding) {
    v.push_back(x.get<double>());
    norm += v.back() * v.back();
  }
  norm = std::sqrt(norm);
  if (norm > 0)
    for (double& x : v) x /= norm;
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) s += a[i] * b[i];
  return s;
}

// ------------------------------------------------------------------ inputs

// Texts from arguments, or lines of a file / stdin read one at a time (so a
// file of any length runs in constant memory). A line that starts with '{' is
// a JSON object: {"text"[, "text_pair"]} or {"question", "context"}.
class InputSource {
 public:
  explicit InputSource(const RunArgs& a) : a_(a) {
    if (!a.input.empty() && !a.texts.empty()) throw Error("give TEXT arguments or --input, not both");
    if (a.input.empty() && a.texts.empty())
      throw Error("no input: give TEXT arguments or --input FILE (- for standard input)");
    if (a.input == "-") {
      stream_ = &std::cin;
      name_ = "<stdin>";
    } else if (!a.input.empty()) {
      file_.open(a.input, std::ios::binary);
      if (!file_) throw Error(context(a.input, std::string("cannot open --input: ") + std::strerror(errno)));
      stream_ = &file_;
      name_ = a.input;
    }
  }

  bool next(RunInput& in) {
    if (!stream_) {
      if (arg_ >= a_.texts.size()) return false;
      in = RunInput{};
      in.where = "argument " + std::to_string(arg_ + 1);
      if (!a_.question.empty()) {
        in.question = a_.question;
        in.text = a_.texts[arg_];
      } else {
        in = parse(a_.texts[arg_], in.where, false);
      }
      ++arg_;
      ++count_;
      return true;
    }
    std::string line;
    if (!std::getline(*stream_, line)) {
      if (stream_->bad()) throw Error(context(name_, "read failed"));
      if (count_ == 0) throw Error(context(name_, "empty input (no lines)"));
      return false;
    }
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    in = parse(line, name_ + ":" + std::to_string(line_no_), true);
    if (!a_.question.empty() && !in.question) in.question = a_.question;
    ++count_;
    return true;
  }

 private:
  static RunInput parse(const std::string& line, const std::string& where, bool json_lines) {
    RunInput in;
    in.where = where;
    size_t first = line.find_first_not_of(" \t");
    if (!json_lines || first == std::string::npos || line[first] != '{') {
      in.text = line;
      return in;
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      std::string msg = e.what();
      const auto colon = msg.find(": ");
      throw Error(where + ": malformed JSON line (" + (colon == std::string::npos ? msg : msg.substr(colon + 2)) + ")");
    }
    auto str = [&](const char* key) -> std::optional<std::string> {
      if (!j.contains(key)) return std::nullopt;
      if (!j[key].is_string()) throw Error(where + ": \"" + key + "\" must be a string");
      return j[key].get<std::string>();
    };
    const auto text = str("text"), pair = str("text_pair"), question = str("question"), ctx = str("context");
    if (question || ctx) {
      if (!question) throw Error(where + ": a context without a question");
      if (!ctx) throw Error(where + ": a question without a context");
      in.question = *question;
      in.text = *ctx;
    } else if (text) {
      in.text = *text;
      in.text_pair = pair;
    } else {
      throw Error(where + ": a JSON line needs \"text\" (and \"text_pair\"), or \"question\" and \"context\"");
    }
    return in;
  }

  const RunArgs& a_;
  std::ifstream file_;
  std::istream* stream_ = nullptr;
  std::string name_;
  size_t arg_ = 0, line_no_ = 0, count_ = 0;
};

// ----------------------------------------------------------------- outputs

constexpr size_t kWindowBatches = 8;  // batches read ahead and sorted by length

std::string one_line(std::string s, size_t max = 100) {
  for (char& ch : s)
    if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
  if (s.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
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

// Readable text for one result.
std::string render(const std::string& task, const RunInput& in, const ojson& r) {
  std::string out;
  if (task == "text-generation") return r[0].value("generated_text", std::string()) + "\n\n";
  out += "> " + one_line(in.question ? *in.question + "  |  " + in.text : in.text_pair ? in.text + "  |  " + *in.text_pair : in.text) + "\n";
  if (task == "fill-mask") {
    const bool multi = !r.empty() && r[0].is_array();
    const ojson rows = multi ? r : ojson::array({r});
    for (size_t m = 0; m < rows.size(); ++m) {
      if (multi) out += "  mask " + std::to_string(m + 1) + "\n";
      Table t({"score", "token", "sequence"});
      for (const auto& p : rows[m]) t.add({fixed(p["score"], 4), one_line(p["token_str"], 30), one_line(p["sequence"])});
      out += indent(t.render());
    }
  } else if (task == "text-classification") {
    const ojson rows = r.is_array() ? r : ojson::array({r});
    Table t({"label", "score"});
    for (const auto& p : rows) t.add({p["label"], fixed(p["score"], 4)});
    out += indent(t.render());
  } else if (task == "token-classification") {
    if (r.empty()) return out + "  (no entities)\n\n";
    const bool grouped = r[0].contains("entity_group");
    Table t({grouped ? "entity_group" : "entity", "score", "word", "start", "end"});
    for (const auto& p : r)
      t.add({p[grouped ? "entity_group" : "entity"], fixed(p["score"], 4), one_line(p["word"], 40),
             std::to_string(p["start"].get<int64_t>()), std::to_string(p["end"].get<int64_t>())});
    out += indent(t.render());
  } else if (task == "question-answering") {
    const ojson rows = r.is_array() ? r : ojson::array({r});
    Table t({"score", "answer", "start", "end"});
    for (const auto& p : rows)
      t.add({fixed(p["score"], 4), one_line(p["answer"], 60), std::to_string(p["start"].get<int64_t>()),
             std::to_string(p["end"].get<int64_t>())});
    out += indent(t.render());
  } else if (task == "feature-extraction" || task == "sentence-embedding") {
    const ojson& e = r["embedding"];
    const bool tokens = !e.empty() && e[0].is_array();
    const ojson& v = tokens ? e[0] : e;
    std::string head;
    for (size_t i = 0; i < std::min<size_t>(v.size(), 6); ++i) head += (i ? " " : "") + fixed(v[i], 4);
    double norm = 0;
    for (const auto& x : v) norm += x.get<double>() * x.get<double>();
    out += tokens ? "  [" + std::to_string(e.size()) + " tokens x " + std::to_string(v.size()) + "] first token: " + head +
                        " ...\n"
                  : "  [" + std::to_string(v.size()) + "] " + head + " ... (norm " + fixed(std::sqrt(norm), 4) + ")\n";
  } else {
    out += "  " + r.dump() + "\n";
  }
  return out + "\n";
}

// A .npy (version 1.0) of float32 rows, streamed: the header's shape is
// written with room to spare and patched when the row count is known.
class NpyWriter {
 public:
  explicit NpyWriter(const std::string& path) : file_(path) { file_.write(header(0, 0)); }
  void add(const ojson& vec) {
    if (cols_ == 0) cols_ = vec.size();
    if (vec.size() != cols_) throw Error("embeddings of different sizes cannot share one .npy");
    buf_.clear();
    for (const auto& x : vec) buf_.push_back(x.get<float>());
    file_.write(buf_.data(), buf_.size() * sizeof(float));
    ++rows_;
  }
  void commit() {
    const std::string h = header(rows_, cols_);
    file_.write_at(0, h.data(), h.size());
    file_.commit();
  }

 private:
  static std::string header(uint64_t rows, uint64_t cols) {
    char shape[96];
    std::snprintf(shape, sizeof shape, "(%20" PRIu64 ", %10" PRIu64 ")", rows, cols);
    std::string dict = std::string("{'descr': '<f4', 'fortran_order': False, 'shape': ") + shape + ", }";
    std::string h = std::string("\x93NUMPY\x01\x00", 8);
    const size_t total = 10 + dict.size() + 1;
    dict.append((64 - total % 64) % 64, ' ');
    dict += '\n';
    h += static_cast<char>(dict.size() & 0xff);
    h += static_cast<char>(dict.size() >> 8);
    return h + dict;
  }
  AtomicFile file_;
  std::vector<float> buf_;
  uint64_t rows_ = 0, cols_ = 0;
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
  for (const auto& u : l.ops) ops.push_back({{"op", u.op}, {"calls", u.calls}, {"allowed", u.allowed}, {"in", u.function}});
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
              off ? (std::to_string(off) + " off the pure-compute list: run and bench refuse it without --trust").c_str()
                  : "all on the pure-compute list");
  Table t({"operator", "calls", "pure compute", "first in"});
  for (const auto& u : l.ops) t.add({u.op, std::to_string(u.calls), u.allowed ? "yes" : "NO", u.function});
  std::printf("%s", t.render().c_str());
}

void describe(const RunArgs& a) {
  const std::map<std::string, std::string> extra = TorchScriptFile::read_extra_files(a.model);
  const OperatorListing ops = list_file_operators(a.model);
  auto it = extra.find("hfjit/meta.json");
  if (it == extra.end()) {
    // Not hfjit's: what its code does is all there is to say.
    if (a.json) {
      std::printf("%s\n", ojson{{"hfjit_meta", nullptr}, {"operators", operators_json(ops)}}.dump().c_str());
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
    std::printf("%s\n", ojson{{"hfjit_meta", meta}, {"operators", operators_json(ops)}}.dump().c_str());
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
    methods += (methods.empty() ? "" : ", ") + x.name +
               (m.dynamic ? " [any batch, any length up to " + std::to_string(m.max_length) + "] (--dynamic)"
                          : " [" + std::to_string(m.batch_size) + ", " + std::to_string(x.length) + "]");
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
  const bool verified = verification.is_object() && verification.value("verified", nlohmann::ordered_json()) == true;
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
  for (auto& [name, contents] : TorchScriptFile::read_extra_files(path))
    if (std::find(known.begin(), known.end(), name) != known.end()) files[name] = std::move(contents);
  if (files.empty()) throw Error(context(path, "carries no tokenizer files: give --tokenizer DIR"));
  return files;
}

int tokenize(RunArgs& a) {
  std::unique_ptr<Tokenizer> tok;
  if (!a.opts.tokenizer_dir.empty()) {
    // With --tokenizer, every positional argument is a text.
    if (!a.model.empty()) a.texts.insert(a.texts.begin(), a.model);
    tok = load_tokenizer(a.opts.tokenizer_dir);
  } else {
    if (a.model.empty()) throw Error("--tokenize needs --tokenizer DIR or a MODEL.pt");
    tok = load_tokenizer_from_files(artifact_tokenizer_files(a.model), a.model);
  }
  tok->set_padding(std::nullopt);
  tok->set_truncation(std::nullopt);
  InputSource source(a);
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
      std::printf("> %s\n", one_line(in.text_pair ? in.text + "  |  " + *in.text_pair : in.text).c_str());
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
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int run(RunArgs& a) {
  if (a.model.empty()) throw Error("run needs a MODEL.pt");
  if (a.truncation != "warn" && a.truncation != "error")
    throw Error("--truncation must be warn or error, not '" + a.truncation + "'");
  a.opts.truncation_error = a.truncation == "error";
  if (!a.top_k.empty()) {
    if (a.top_k == "all") {
      a.opts.top_k = 0;
    } else {
      try {
        size_t used = 0;
        const long long k = std::stoll(a.top_k, &used);
        if (used != a.top_k.size() || k < 1) throw std::invalid_argument("");
        a.opts.top_k = k;
      } catch (const std::exception&) {
        throw Error("--top-k must be a positive number or 'all', not '" + a.top_k + "'");
      }
    }
  }
  if (a.ignore_labels) {
    a.opts.ignore_labels.clear();
    std::string cur;
    for (char ch : *a.ignore_labels + ",") {
      if (ch != ',') {
        cur += ch;
      } else if (!cur.empty()) {
        a.opts.ignore_labels.push_back(cur);
        cur.clear();
      }
    }
  }
  const bool npy = ends_with(a.output, ".npy");
  if (!a.output.empty()) {
    if (same_path(a.output, a.model)) throw Error(context(a.output, "--output would overwrite the model"));
    if (!a.input.empty() && a.input != "-" && same_path(a.output, a.input))
      throw Error(context(a.output, "--output would overwrite the input"));
    check_writable_destination(a.output);
  }
  InputSource source(a);  // argument errors before the (slower) model load

  hfjit::Runner runner(a.model, a.opts);
  const std::string task = runner.task();
  if (npy && task != "sentence-embedding")
    throw Error(context(a.output, ".npy output holds one vector per input: it needs --task sentence-embedding (the task is " +
                                      task + ")"));
  // --query: the inputs ranked by cosine similarity to the query's embedding
  // (semantic search), printed once every input has run.
  std::vector<double> query_vec;
  std::vector<std::pair<double, std::string>> ranked;
  if (!a.query.empty()) {
    if (task != "sentence-embedding")
      throw Error("--query ranks inputs by their sentence embeddings: it needs --task sentence-embedding (the task is " +
                  task + ")");
    if (npy) throw Error(context(a.output, "--query prints a ranking: give a .jsonl --output, not .npy"));
    query_vec = unit_vector(runner.run({RunInput{a.query, std::nullopt, std::nullopt, "--query"}})[0]["embedding"]);
  }
  std::unique_ptr<NpyWriter> npy_out;
  std::unique_ptr<AtomicFile> json_out;
  if (npy) npy_out = std::make_unique<NpyWriter>(a.output);
  else if (!a.output.empty()) json_out = std::make_unique<AtomicFile>(a.output);

  const bool tty = isatty(STDERR_FILENO);
  // Inputs are run a window at a time: sorted by length inside the window so
  // each batch pads less (to the smallest traced length that fits it), the
  // results printed in input order. Standard input keeps a one-batch window,
  // so a pipe gets its answers as soon as a batch is full.
  const size_t per_batch = runner.batch_size();
  const size_t window = per_batch * (a.input == "-" ? 1 : kWindowBatches);
  std::vector<RunInput> pending;
  size_t done = 0;
  auto flush = [&]() {
    if (pending.empty()) return;
    std::vector<size_t> order(pending.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto size_of = [&](size_t i) {
      const RunInput& in = pending[i];
      return in.text.size() + (in.text_pair ? in.text_pair->size() : 0) + (in.question ? in.question->size() : 0);
    };
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return size_of(x) < size_of(y); });
    std::vector<ojson> results(pending.size());
    for (size_t first = 0; first < order.size(); first += per_batch) {
      std::vector<RunInput> batch;
      for (size_t k = first; k < std::min(order.size(), first + per_batch); ++k) batch.push_back(pending[order[k]]);
      std::vector<ojson> out = runner.run(batch);
      for (const std::string& w : runner.warnings()) spdlog::warn("{}", w);
      for (size_t k = 0; k < out.size(); ++k) results[order[first + k]] = std::move(out[k]);
    }
    for (size_t i = 0; i < results.size(); ++i) {
      if (!query_vec.empty()) {
        ranked.emplace_back(dot(query_vec, unit_vector(results[i]["embedding"])), pending[i].text);
      } else if (npy_out) {
        npy_out->add(results[i]["embedding"]);
      } else if (json_out) {
        json_out->write(results[i].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      } else if (a.json) {
        std::printf("%s\n", results[i].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      } else {
        std::printf("%s", render(task, pending[i], results[i]).c_str());
      }
    }
    done += pending.size();
    if (a.output.empty()) std::fflush(stdout);
    else if (tty) std::fprintf(stderr, "\r%zu inputs", done);
    pending.clear();
  };
  RunInput in;
  while (source.next(in)) {
    pending.push_back(std::move(in));
    if (pending.size() >= window) flush();
  }
  flush();
  if (!query_vec.empty()) {
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    for (const auto& [score, text] : ranked) {
      const std::string line = a.json || json_out
                                   ? ojson{{"text", text}, {"score", score}}.dump(-1, ' ', false,
                                                                                 nlohmann::json::error_handler_t::replace) + "\n"
                                   : fixed(score, 4) + "  " + text + "\n";
      if (json_out) json_out->write(line);
      else std::printf("%s", line.c_str());
    }
  }
  if (npy_out) npy_out->commit();
  if (json_out) json_out->commit();
  if (!a.output.empty()) {
    if (tty) std::fprintf(stderr, "\r");
    spdlog::info("{} results ({}) written to {}", done, task, a.output);
  }
  return 0;
}

}  // namespace

Runner add_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  app.add_option("model", a->model, "A .pt written by hfjit trace (or any TorchScript file with --task, --tokenizer)");
  app.add_option("texts", a->texts, "Texts to run (or --input)");
  app.add_option("--input", a->input, "One input per line (- for standard input); JSON lines with text/text_pair or question/context");
  app.add_option("--task", a->opts.task, "fill-mask, text-classification, token-classification, question-answering, "
                                        "feature-extraction, sentence-embedding, text-generation (default: the artifact's)");
  app.add_option("--tokenizer", a->opts.tokenizer_dir, "Tokenizer (model) folder instead of the files in the artifact");
  app.add_option("--top-k", a->top_k, "Answers per input: fill-mask 5, text-classification 1 ('all'), question-answering 1; "
                                     "text-generation: sample among the k likeliest tokens");
  app.add_flag("--json", a->json, "One JSON line per input, with the Hugging Face pipelines' keys");
  app.add_option("--output", a->output, "Write the JSON lines to FILE (sentence-embedding: FILE.npy, float32 [inputs, dim])");
  app.add_option("--truncation", a->truncation, "Input longer than the traced length: warn (truncate) or error");
  app.add_option("--aggregation", a->opts.aggregation, "token-classification: none, simple, first, max, average");
  app.add_option("--ignore-labels", a->ignore_labels, "token-classification: labels left out, comma-separated (default O)");
  app.add_option("--question", a->question, "question-answering: the question for every TEXT (each a context)");
  app.add_option("--query", a->query,
                 "sentence-embedding: print the inputs ranked by cosine similarity to this text (semantic search)");
  app.add_option("--doc-stride", a->opts.doc_stride, "question-answering: tokens shared by consecutive context windows");
  app.add_option("--max-answer-len", a->opts.max_answer_len, "question-answering: longest answer in tokens (default 15)");
  app.add_flag("--handle-impossible-answer", a->opts.handle_impossible_answer, "question-answering: allow an empty answer");
  app.add_option("--max-new-tokens", a->opts.max_new_tokens, "text-generation: tokens to generate (default 20)");
  app.add_option("--temperature", a->opts.temperature, "text-generation: sample with this temperature (0: greedy)");
  app.add_option("--top-p", a->opts.top_p, "text-generation: sample from the smallest set of tokens with this probability");
  app.add_option("--seed", a->opts.seed, "text-generation: random seed for sampling (default 0)");
  app.add_option("--batch-size", a->opts.batch_size, "Plain TorchScript files: the batch size to pad to");
  app.add_option("--max-length", a->opts.max_length, "Plain TorchScript files: the length to pad to");
  app.add_flag("--trust", a->opts.trust,
               "Run a .pt whose code calls operators off hfjit's pure-compute list (file, process, random)");
  app.add_flag("--describe", a->describe, "Print what the artifact holds (its hfjit/meta.json)");
  app.add_flag("--tokenize", a->tokenize, "Print the tokenization (ids, tokens, type ids, offsets) instead of running");
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
