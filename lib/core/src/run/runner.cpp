// Runner: an artifact's metadata, tokenizer and methods, read in stages (the
// constructor lists them); batches padded to a traced shape; dispatch to the
// task post-processing in tasks.cpp.

#include "hfjit/run/runner.h"

#include <c10/core/InferenceMode.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include "hfjit/config.h"
#include "hfjit/error.h"
#include "hfjit/graph_check.h"
#include "hfjit/io/artifact_meta.h"
#include "hfjit/io/file.h"
#include "hfjit/tokenizers/unicode.h"
#include "hfjit/torchscript_file.h"
#include "runner_internal.h"

namespace fs = std::filesystem;

namespace hfjit {

const std::vector<std::string>& run_task_names() {
  static const std::vector<std::string> names = {
      "fill-mask",          "text-classification", "token-classification", "question-answering",
      "feature-extraction", "sentence-embedding",  "text-generation",      "translation",
      "summarization",      "text2text-generation"};
  return names;
}

namespace run {
namespace {

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

nlohmann::json parse_json(const std::string& text, const std::string& where) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw Error(where + " is not valid JSON");
  }
}

bool is_seq2seq_task(const std::string& task) {
  return task == "translation" || task == "summarization" || task == "text2text-generation";
}

// The task an artifact traced as `artifact_task` can run as `wanted`.
bool task_fits(const std::string& artifact_task, const std::string& wanted) {
  if (artifact_task == wanted) return true;
  if (is_seq2seq_task(artifact_task) && is_seq2seq_task(wanted)) return true;
  const bool features =
      artifact_task == "feature-extraction" || artifact_task == "sentence-embedding";
  return features && (wanted == "feature-extraction" || wanted == "sentence-embedding");
}

std::vector<int64_t> int_or_list(const nlohmann::json& j) {
  std::vector<int64_t> out;
  if (j.is_number_integer()) out.push_back(j.get<int64_t>());
  if (j.is_array())
    for (const auto& v : j)
      if (v.is_number_integer()) out.push_back(v.get<int64_t>());
  return out;
}

}  // namespace

size_t Context::output_index(const std::string& name, size_t fallback) const {
  const std::vector<std::string>& names = traced.output_names;
  if (names.empty()) return fallback;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return i;
  throw Error(context(path, "has no output '" + name + "' (outputs: " + join(names) + ")"));
}

std::string Context::label(int64_t id) const {
  auto it = cfg.id2label.find(id);
  return it != cfg.id2label.end() ? it->second : "LABEL_" + std::to_string(id);
}

void Context::warn(const std::string& where, const std::string& message) {
  warnings.push_back(where.empty() ? message : where + ": " + message);
}

Encoding Context::encode(const RunInput& in) {
  int64_t limit = max_length();
  const int64_t max_seq_length = st_modules.max_seq_length;
  if (task == "sentence-embedding" && max_seq_length > 0 && (limit == 0 || max_seq_length < limit))
    limit = max_seq_length;
  if (limit > 0) {
    TruncationParams tp;
    tp.max_length = static_cast<size_t>(limit);
    tok->set_truncation(tp);
  } else {
    tok->set_truncation(std::nullopt);
  }
  // As transformers' tokenizer(text, text_pair=...): an empty text_pair is no pair.
  Encoding e = tok->encode_input(in.text, in.text_pair);
  if (!e.overflowing.empty()) {
    tok->set_truncation(std::nullopt);
    const size_t full = tok->encode_input(in.text, in.text_pair).size();
    const std::string what =
        std::to_string(full) + " tokens, longer than the " +
        (limit == max_length() ? "traced length " : "model's max_seq_length ") +
        std::to_string(limit);
    if (opt.truncation_error) throw Error(in.where + ": " + what + " (--truncation error)");
    warn(in.where, what + ": truncated");
    e.overflowing.clear();
  }
  return e;
}

std::vector<at::Tensor> Context::forward(const std::vector<const Encoding*>& encodings,
                                         const std::vector<size_t>& outputs) {
  size_t longest = 1;
  for (const Encoding* e : encodings) longest = std::max(longest, e->size());
  const Method* method = nullptr;
  for (const Method& m : traced.methods)
    if (m.length == 0 || static_cast<size_t>(m.length) >= longest) {
      method = &m;
      break;
    }
  if (!method)
    throw Error(context(path, "an input of " + std::to_string(longest) +
                                  " tokens does not fit the traced length " +
                                  std::to_string(max_length())));
  const int64_t length = method->length ? method->length : static_cast<int64_t>(longest);
  const int64_t rows = traced.dynamic_batch ? static_cast<int64_t>(encodings.size()) : traced.batch;
  std::vector<std::vector<at::Tensor>> pieces(outputs.size());
  auto method_fn = traced.module.get_method(method->name);

  for (size_t first = 0; first < encodings.size(); first += static_cast<size_t>(rows)) {
    const size_t count = std::min(encodings.size() - first, static_cast<size_t>(rows));
    at::Tensor ids = at::full({rows, length}, cfg.pad_id, at::kLong);
    at::Tensor mask = at::zeros({rows, length}, at::kLong);
    at::Tensor types = at::zeros({rows, length}, at::kLong);
    auto pid = ids.accessor<int64_t, 2>();
    auto pmask = mask.accessor<int64_t, 2>();
    auto ptype = types.accessor<int64_t, 2>();
    for (int64_t r = 0; r < rows; ++r) {
      // Rows past the inputs repeat the first one (a well-formed row; their outputs are dropped).
      const Encoding& e =
          *encodings[first + (static_cast<size_t>(r) < count ? static_cast<size_t>(r) : 0)];
      for (size_t t = 0; t < e.size(); ++t) {
        pid[r][static_cast<int64_t>(t)] = e.ids[t];
        pmask[r][static_cast<int64_t>(t)] = e.attention_mask.empty() ? 1 : e.attention_mask[t];
        ptype[r][static_cast<int64_t>(t)] = e.type_ids.empty() ? 0 : e.type_ids[t];
      }
    }
    std::vector<c10::IValue> args;
    for (const std::string& name : traced.input_names) {
      if (name == "input_ids")
        args.emplace_back(ids);
      else if (name == "attention_mask")
        args.emplace_back(mask);
      else if (name == "token_type_ids")
        args.emplace_back(types);
      else if (name == "position_ids")
        args.emplace_back(
            at::arange(length, at::kLong).unsqueeze(0).expand({rows, length}).contiguous());
      else
        throw Error(
            context(path, "forward takes an input '" + name + "' that hfjit run cannot make"));
    }
    c10::IValue out;
    try {
      out = method_fn(args);
    } catch (const c10::Error& err) {
      std::string msg = err.what_without_backtrace();
      msg = first_line(msg);
      throw Error(context(
          path, method->name + " failed on a [" + std::to_string(rows) + ", " +
                    std::to_string(length) + "] batch: " + msg +
                    (!traced.has_meta ? " (a fixed-shape trace needs --batch-size and --max-length)"
                                      : "")));
    }
    std::vector<c10::IValue> elements;
    if (out.isTuple()) {
      for (const auto& v : out.toTupleRef().elements()) elements.push_back(v);
    } else if (out.isTensor()) {
      elements.push_back(out);
    } else if (out.isGenericDict()) {
      for (const auto& kv : out.toGenericDict()) elements.push_back(kv.value());
    }
    for (size_t k = 0; k < outputs.size(); ++k) {
      if (outputs[k] >= elements.size() || !elements[outputs[k]].isTensor())
        throw Error(context(path, method->name + " returned " + std::to_string(elements.size()) +
                                      " outputs; output " + std::to_string(outputs[k]) +
                                      " is not a tensor"));
      pieces[k].push_back(
          elements[outputs[k]].toTensor().narrow(0, 0, static_cast<int64_t>(count)));
    }
  }
  std::vector<at::Tensor> result;
  for (auto& p : pieces) result.push_back(p.size() == 1 ? p[0] : at::cat(p, 0));
  return result;
}

std::string substr_chars(const std::string& text, size_t start, size_t end) {
  size_t i = 0, cp = 0, from = text.size();
  while (i < text.size() && cp < start) {
    i += tokenizers::utf8_len(static_cast<unsigned char>(text[i]));
    ++cp;
  }
  from = std::min(i, text.size());
  while (i < text.size() && cp < end) {
    i += tokenizers::utf8_len(static_cast<unsigned char>(text[i]));
    ++cp;
  }
  return text.substr(from, std::min(i, text.size()) - from);
}

size_t count_code_points(const std::string& text) {
  return tokenizers::count_chars(text);
}

// ------------------------------------------------------- loading, in stages

namespace {

// The options' own rules, before anything is read.
void check_options(const RunOptions& o) {
  if (!o.task.empty() &&
      std::find(run_task_names().begin(), run_task_names().end(), o.task) == run_task_names().end())
    throw Error("unknown task '" + o.task + "' (known: " + join(run_task_names()) + ")");
  static const char* kAggregations[] = {"none", "simple", "first", "max", "average"};
  if (std::find(std::begin(kAggregations), std::end(kAggregations), o.aggregation) ==
      std::end(kAggregations))
    throw Error("unknown --aggregation '" + o.aggregation +
                "' (none, simple, first, max, average)");
  if (o.top_k && *o.top_k < 0) throw Error("--top-k must be >= 0");
  if (o.doc_stride && *o.doc_stride < 0) throw Error("--doc-stride must be >= 0");
  if (o.max_answer_len < 1) throw Error("--max-answer-len must be >= 1");
  if (o.max_new_tokens && *o.max_new_tokens < 0) throw Error("--max-new-tokens must be >= 0");
  if (o.num_beams && *o.num_beams < 1) throw Error("--num-beams must be >= 1");
  if (o.length_penalty && !std::isfinite(*o.length_penalty))
    throw Error("--length-penalty must be a finite number");
  if (o.early_stopping && *o.early_stopping != "true" && *o.early_stopping != "false" &&
      *o.early_stopping != "never")
    throw Error("--early-stopping must be true, false or never (got \"" + *o.early_stopping +
                "\")");
  if (o.no_repeat_ngram_size && *o.no_repeat_ngram_size < 0)
    throw Error("--no-repeat-ngram-size must be >= 0");
  if (o.num_return_sequences && *o.num_return_sequences < 1)
    throw Error("--num-return-sequences must be >= 1");
  if (o.temperature && !(*o.temperature >= 0)) throw Error("--temperature must be >= 0");
  if (!(o.repetition_penalty > 0)) throw Error("--repetition-penalty must be positive");
  for (const std::string& stop : o.stop_strings)
    if (stop.empty()) throw Error("--stop needs a non-empty string");
  if (o.top_p && !(*o.top_p > 0 && *o.top_p <= 1)) throw Error("--top-p must be in (0, 1]");
  if (o.batch_size && *o.batch_size < 1) throw Error("--batch-size must be >= 1");
  if (o.max_length && *o.max_length < 2) throw Error("--max-length must be >= 2");
  if (!o.tokenizer_dir.empty() && !fs::is_directory(o.tokenizer_dir))
    throw Error(context(o.tokenizer_dir, "--tokenizer is not a folder"));
}

// The file, refused before any call when its code is off the pure-compute list (unless trusted).
TorchScriptFile open_module(const std::string& path, bool trust) {
  TorchScriptFile ts = TorchScriptFile::load(path, trust);
  if (!trust) check_pure_compute(ts.module, path);
  ts.module.eval();
  return ts;
}

// The files an artifact carries, and those of --tokenizer DIR, which come
// first for the JSON configurations.
class ArtifactFiles {
 public:
  ArtifactFiles(const std::string& path, const std::map<std::string, std::string>& extra,
                const std::string& dir)
      : path_(path), extra_(extra), dir_(dir) {}

  const std::string* extra(const std::string& name) const {
    auto it = extra_.find(name);
    return it == extra_.end() ? nullptr : &it->second;
  }
  bool in_dir(const std::string& name) const {
    std::error_code ec;
    return !dir_.empty() && fs::is_regular_file(fs::path(dir_) / name, ec);
  }
  std::optional<std::string> from_dir(const std::string& name) const {
    if (!in_dir(name)) return std::nullopt;
    return read_text_file((fs::path(dir_) / name).string());
  }
  bool has(const std::string& name) const { return extra(name) || from_dir(name); }
  // A JSON file from --tokenizer DIR, else the artifact's, else {}.
  nlohmann::json json(const std::string& name) const {
    if (auto text = from_dir(name)) return parse_json(*text, (fs::path(dir_) / name).string());
    if (const std::string* text = extra(name)) return parse_json(*text, path_ + ": " + name);
    return nlohmann::json::object();
  }

 private:
  std::string path_;
  const std::map<std::string, std::string>& extra_;
  std::string dir_;
};

ArtifactMeta read_meta(const ArtifactFiles& files, const std::string& path) {
  if (const std::string* m = files.extra("hfjit/meta.json")) return parse_artifact_meta(*m, path);
  return ArtifactMeta{};
}

// The task: --task where the artifact's outputs allow it, else the artifact's
// (sentence-embedding for a feature-extraction artifact with sentence-transformers files).
std::string resolve_task(const RunOptions& o, const ArtifactMeta& meta, bool has_st_config,
                         const std::string& path) {
  if (!meta.hfjit && o.task.empty())
    throw Error(context(
        path, "has no hfjit metadata (not written by hfjit trace): give --task and --tokenizer"));
  if (!o.task.empty()) {
    if (meta.hfjit && !task_fits(meta.task, o.task)) {
      if (is_seq2seq_task(o.task))
        throw Error(context(path, o.task + " needs an encoder-decoder (MarianMT, T5); this " +
                                      "artifact is " + meta.hf_class + " (" + meta.task + ")"));
      if (o.task == "text-generation")
        throw Error(context(
            path, "text-generation needs a causal language model (GPT-2); this artifact is " +
                      meta.hf_class + " (" + meta.task + ")"));
      throw Error(context(path, "--task " + o.task +
                                    " does not fit this artifact: it was traced as " +
                                    meta.hf_class + " (" + meta.task + ")"));
    }
    return o.task;
  }
  const std::string task =
      meta.task == "feature-extraction" && has_st_config ? "sentence-embedding" : meta.task;
  if (std::find(run_task_names().begin(), run_task_names().end(), task) == run_task_names().end())
    throw Error(context(path, "task '" + task + "' (" + meta.hf_class +
                                  ") has no `hfjit run` pipeline; " +
                                  "hfjit bench and torch::jit::load still use it"));
  return task;
}

// Methods, batch and input/output names: from the metadata, or for a plain
// file from the options and its forward's arguments.
Traced read_shapes(torch::jit::Module module, const ArtifactMeta& meta, const RunOptions& o,
                   const std::string& path) {
  Traced t;
  t.module = std::move(module);
  t.has_meta = meta.hfjit;
  if (t.has_meta) {
    t.batch = meta.batch_size;
    for (const auto& m : meta.methods) t.methods.push_back({m.name, m.length});
    t.input_names = meta.input_names;
    t.output_names = meta.output_names;
    if (o.batch_size && *o.batch_size != t.batch && !meta.seq2seq)
      throw Error(context(path, "was traced with batch size " + std::to_string(t.batch) +
                                    ", not --batch-size " + std::to_string(*o.batch_size)));
    if (o.max_length)
      throw Error(
          context(path, "has traced lengths already; --max-length is for plain TorchScript files"));
    if (meta.dynamic) {  // one shape-polymorphic forward: pad to the longest input of each batch
      t.dynamic_limit = meta.max_length;
      t.methods = {{"forward", 0}};
      t.dynamic_batch = true;
    }
  } else {
    t.batch = o.batch_size.value_or(1);
    t.dynamic_batch = !o.batch_size;
    t.methods.push_back({"forward", o.max_length.value_or(0)});
    auto fn = t.module.find_method("forward");
    if (!fn) throw Error(context(path, "has no forward method"));
    const auto& args = fn->function().getSchema().arguments();
    for (size_t i = 1; i < args.size(); ++i) t.input_names.push_back(args[i].name());
  }
  if (meta.seq2seq) {  // encode and a decoder step, driven by seq2seq_generation
    t.seq2seq = meta.seq2seq;
    t.batch = o.batch_size.value_or(meta.batch_size);
    t.methods = {{meta.seq2seq->encode, 0}};
    t.dynamic_limit = meta.seq2seq->max_length;
    t.dynamic_batch = false;
    for (const std::string& name : {meta.seq2seq->encode, meta.seq2seq->decode})
      if (!t.module.find_method(name))
        throw Error(context(path, "has no method '" + name + "' that its metadata lists"));
    t.input_names.clear();
    return t;
  }
  if (meta.generation) {  // prefill methods and a decode step, driven by cached_generation
    t.generation = meta.generation;
    t.methods.clear();
    for (const auto& m : meta.generation->prefill) t.methods.push_back({m.name, m.length});
    for (const std::string& name : {meta.generation->decode})
      if (!t.module.find_method(name))
        throw Error(context(path, "has no method '" + name + "' that its metadata lists"));
    t.input_names.clear();
  }
  if (t.methods.empty() || t.batch < 1)
    throw Error(context(path, "hfjit/meta.json has no traced methods"));
  for (const std::string& name : t.input_names)
    if (name != "input_ids" && name != "attention_mask" && name != "token_type_ids" &&
        name != "position_ids")
      throw Error(
          context(path, "forward takes an input '" + name + "' that hfjit run cannot make"));
  std::sort(t.methods.begin(), t.methods.end(),
            [](const Method& a, const Method& b) { return a.length < b.length; });
  for (const auto& m : t.methods)
    if (!t.module.find_method(m.name))
      throw Error(context(path, "has no method '" + m.name + "' that its metadata lists"));
  return t;
}

// --tokenizer DIR, else the tokenizer files inside the artifact; no padding or truncation.
std::unique_ptr<Tokenizer> open_tokenizer(const ArtifactFiles& files, const std::string& dir,
                                          const std::string& path) {
  std::unique_ptr<Tokenizer> tok;
  if (!dir.empty()) {
    tok = load_tokenizer(dir);
  } else {
    TokenizerFiles found;
    for (const std::string& name : tokenizer_file_names())
      if (const std::string* f = files.extra(name)) found[name] = *f;
    if (found.empty())
      throw Error(context(path, "carries no tokenizer files: give --tokenizer DIR"));
    // The tokenizer class may come from config.json (sentencepiece.bpe.model
    // without tokenizer_class: transformers maps model_type to the class).
    if (const std::string* config = files.extra("config.json")) found["config.json"] = *config;
    tok = load_tokenizer_from_files(found, path + ": ");
  }
  tok->set_padding(std::nullopt);
  tok->set_truncation(std::nullopt);
  return tok;
}

// Labels, problem type, decoding clean-up, padding and end-of-sequence ids.
TaskConfig read_task_config(const ArtifactFiles& files, const ArtifactMeta& meta,
                            const Tokenizer& tok, const std::string& path) {
  const nlohmann::json config = files.json("config.json");
  const nlohmann::json tokenizer_config = files.json("tokenizer_config.json");
  const nlohmann::json generation_config = files.json("generation_config.json");
  for (const auto& [name, j] :
       {std::pair<const char*, const nlohmann::json*>{"config.json", &config},
        {"tokenizer_config.json", &tokenizer_config},
        {"generation_config.json", &generation_config}})
    if (!j->is_object()) throw Error(context(path, std::string(name) + " is not a JSON object"));
  TaskConfig t;
  if (tokenizer_config.contains("clean_up_tokenization_spaces") &&
      !tokenizer_config["clean_up_tokenization_spaces"].is_null()) {
    if (!tokenizer_config["clean_up_tokenization_spaces"].is_boolean())
      throw Error(context(
          path, "tokenizer_config.json: \"clean_up_tokenization_spaces\" should be true or false"));
    t.clean_up = tokenizer_config["clean_up_tokenization_spaces"].get<bool>();
  }
  if (config.contains("id2label") && config["id2label"].is_object())
    t.id2label = parse_id2label(config["id2label"], path + ": config.json");
  t.num_labels = static_cast<int64_t>(t.id2label.size());
  if (t.id2label.empty()) {
    const nlohmann::json n = config.value("num_labels", nlohmann::json(2));
    if (!n.is_number_integer() || n.get<int64_t>() < 1 || n.get<int64_t>() > (1 << 24))
      throw Error(context(path, "config.json: \"num_labels\" should be a positive integer"));
    t.num_labels = n.get<int64_t>();
  }
  if (config.contains("problem_type") && config["problem_type"].is_string())
    t.problem_type = config["problem_type"].get<std::string>();
  if (meta.hfjit && meta.pad_token_id)
    t.pad_id = *meta.pad_token_id;
  else if (tok.special_tokens().pad)
    t.pad_id = *tok.special_tokens().pad;
  else if (config.contains("pad_token_id") && config["pad_token_id"].is_number_integer())
    t.pad_id = config["pad_token_id"].get<int64_t>();
  if (generation_config.contains("stop_strings")) {
    const nlohmann::json& stops = generation_config["stop_strings"];
    if (stops.is_string()) {
      t.stop_strings = {stops.get<std::string>()};
    } else if (stops.is_array()) {
      for (const auto& s : stops) {
        if (!s.is_string() || s.get<std::string>().empty())
          throw Error(context(
              path, "generation_config.json: \"stop_strings\" should be non-empty strings"));
        t.stop_strings.push_back(s.get<std::string>());
      }
    } else if (!stops.is_null()) {
      throw Error(
          context(path, "generation_config.json: \"stop_strings\" should be a string or a list"));
    }
  }
  if (meta.seq2seq) t.seq2seq = read_seq2seq_config(generation_config, config, path);
  t.eos_ids = int_or_list(generation_config.value("eos_token_id", nlohmann::json()));
  if (t.eos_ids.empty()) t.eos_ids = int_or_list(config.value("eos_token_id", nlohmann::json()));
  return t;
}

// The sentence-transformers files for st::read_modules: --tokenizer DIR's
// first, then the artifact's (each Dense's weights as <path>/model.safetensors).
class ModuleFiles : public st::ModelFiles {
 public:
  ModuleFiles(const ArtifactFiles& files, const std::string& path, const std::string& dir)
      : files_(files), path_(path), dir_(dir) {}
  std::optional<std::string> read(const std::string& name) const override {
    if (auto text = files_.from_dir(name)) return text;
    if (const std::string* text = files_.extra(name)) return *text;
    return std::nullopt;
  }
  std::string where(const std::string& name) const override {
    return files_.in_dir(name) ? (fs::path(dir_) / name).string() : path_ + ": " + name;
  }
  std::optional<st::Weights> weights(const std::string& module) const override {
    if (!dir_.empty())
      if (auto w = st::folder_weights(dir_, module)) return w;
    return st::ModelFiles::weights(module);
  }

 private:
  const ArtifactFiles& files_;
  std::string path_, dir_;
};

// What each task needs of the tokenizer and the outputs.
void check_task_needs(const Context& c) {
  if (c.task == "fill-mask" && !c.tok->special_tokens().mask)
    throw Error(context(c.path, "fill-mask needs a mask token; the tokenizer declares none"));
  if (is_seq2seq_task(c.task) && !c.traced.seq2seq)
    throw Error(context(c.path, c.task + " needs an encoder-decoder traced by hfjit trace (its "
                                         "encode and decode methods)"));
  if (c.task == "question-answering" && c.traced.output_names.empty() && c.opt.task.empty())
    throw Error(context(c.path, "question-answering needs start and end logits"));
}

}  // namespace
}  // namespace run

struct Runner::Impl {
  run::Context c;
};

Runner::Runner(const std::string& model_path, RunOptions options)
    : impl_(std::make_unique<Impl>()) {
  run::Context& c = impl_->c;
  c.path = model_path;
  c.opt = std::move(options);
  run::check_options(c.opt);
  hold_freed_memory();
  TorchScriptFile ts = run::open_module(model_path, c.opt.trust);
  const run::ArtifactFiles files(model_path, ts.extra_files, c.opt.tokenizer_dir);
  const ArtifactMeta meta = run::read_meta(files, model_path);
  const bool has_st_config = files.has("modules.json");
  c.hf_class = meta.hf_class;
  c.task = run::resolve_task(c.opt, meta, has_st_config, model_path);
  c.traced = run::read_shapes(std::move(ts.module), meta, c.opt, model_path);
  warn_int8_weight_bits(meta.int8_weight_bits, model_path);
  c.tok = run::open_tokenizer(files, c.opt.tokenizer_dir, model_path);
  c.cfg = run::read_task_config(files, meta, *c.tok, model_path);
  {
    // The rows a call mostly multiplies: batch x length; an encoder-decoder's
    // decoder step, batch x beams.
    int64_t longest = 0;
    for (const auto& m : c.traced.methods) longest = std::max(longest, m.length);
    if (c.traced.seq2seq) longest = c.opt.num_beams.value_or(c.cfg.seq2seq.num_beams);
    const CpuKernels k = select_cpu_kernels(
        c.traced.module, c.traced.generation ? generation_linear(c.opt.linear) : c.opt.linear,
        c.traced.batch * std::max<int64_t>(longest, 1));
    spdlog::debug("{}: Linear kernels: {}", model_path, describe(k));
  }
  if (c.task == "sentence-embedding" && has_st_config) {
    c.st_modules = st::read_modules(run::ModuleFiles(files, model_path, c.opt.tokenizer_dir));
    if (c.st_modules.do_lower_case) {
      c.tok->lowercase_input();
      spdlog::debug("{}: sentence_bert_config.json: do_lower_case: the text is lowercased",
                    model_path);
    }
    if (!c.st_modules.default_prompt.empty())
      spdlog::debug("{}: config_sentence_transformers.json: default prompt \"{}\" before each text",
                    model_path, c.st_modules.default_prompt);
  }
  run::check_task_needs(c);
}

Runner::~Runner() = default;

const std::string& Runner::task() const {
  return impl_->c.task;
}

size_t Runner::batch_size() const {
  return static_cast<size_t>(std::max<int64_t>(impl_->c.traced.batch, 1));
}

const std::vector<std::string>& Runner::warnings() const {
  return impl_->c.warnings;
}

namespace {

template <typename T>
std::vector<RunResult> results(std::vector<T> typed) {
  std::vector<RunResult> out;
  out.reserve(typed.size());
  for (T& r : typed) out.emplace_back(std::move(r));
  return out;
}

}  // namespace

std::vector<RunResult> Runner::run(const std::vector<RunInput>& inputs) {
  run::Context& c = impl_->c;
  c.warnings.clear();
  if (inputs.empty()) return {};
  c10::InferenceMode guard;
  const std::string& t = c.task;
  if (t == "question-answering") {
    for (const RunInput& in : inputs)
      if (!in.question)
        throw Error(in.where + ": question-answering needs a question and a context");
  } else {
    for (const RunInput& in : inputs)
      if (in.question)
        throw Error(in.where + ": a question is only for question-answering (the task is " + t +
                    ")");
  }
  if (t == "fill-mask") return results(run::fill_mask(c, inputs));
  if (t == "text-classification") return results(run::text_classification(c, inputs));
  if (t == "token-classification") return results(run::token_classification(c, inputs));
  if (t == "question-answering") return results(run::question_answering(c, inputs));
  if (t == "feature-extraction") return results(run::token_embeddings(c, inputs));
  if (t == "sentence-embedding") return results(run::sentence_embeddings(c, inputs));
  if (run::is_seq2seq_task(t)) return results(run::seq2seq_generation(c, inputs));
  if (t == "text-generation")
    return results(c.traced.generation ? run::cached_generation(c, inputs)
                                       : run::text_generation(c, inputs));
  throw Error("task " + t + " has no pipeline");
}

}  // namespace hfjit
