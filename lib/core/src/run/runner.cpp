// Runner: an artifact's metadata, tokenizer and methods; batches padded to a
// traced shape; dispatch to the task post-processing in tasks.cpp.

#include "hfjit/runner.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <filesystem>
#include <limits>

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
  static const std::vector<std::string> names = {"fill-mask",         "text-classification", "token-classification",
                                                 "question-answering", "feature-extraction",  "sentence-embedding",
                                                 "text-generation"};
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

// The task an artifact traced as `artifact_task` can run as `wanted`.
bool task_fits(const std::string& artifact_task, const std::string& wanted) {
  if (artifact_task == wanted) return true;
  const bool features = artifact_task == "feature-extraction" || artifact_task == "sentence-embedding";
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
  if (output_names.empty()) return fallback;
  for (size_t i = 0; i < output_names.size(); ++i)
    if (output_names[i] == name) return i;
  throw Error(context(path, "has no output '" + name + "' (outputs: " + join(output_names) + ")"));
}

std::string Context::label(int64_t id) const {
  auto it = id2label.find(id);
  return it != id2label.end() ? it->second : "LABEL_" + std::to_string(id);
}

void Context::warn(const std::string& where, const std::string& message) {
  warnings.push_back(where.empty() ? message : where + ": " + message);
}

Encoding Context::encode(const RunInput& in) {
  int64_t limit = max_length();
  if (task == "sentence-embedding" && st_max_seq_length > 0 && (limit == 0 || st_max_seq_length < limit))
    limit = st_max_seq_length;
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
    const std::string what = std::to_string(full) + " tokens, longer than the " +
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
  for (const Method& m : methods)
    if (m.length == 0 || static_cast<size_t>(m.length) >= longest) {
      method = &m;
      break;
    }
  if (!method)
    throw Error(context(path, "an input of " + std::to_string(longest) + " tokens does not fit the traced length " +
                                  std::to_string(max_length())));
  const int64_t length = method->length ? method->length : static_cast<int64_t>(longest);
  const int64_t rows = dynamic_batch ? static_cast<int64_t>(encodings.size()) : batch;
  std::vector<std::vector<at::Tensor>> pieces(outputs.size());
  auto method_fn = module.get_method(method->name);

  for (size_t first = 0; first < encodings.size(); first += static_cast<size_t>(rows)) {
    const size_t count = std::min(encodings.size() - first, static_cast<size_t>(rows));
    at::Tensor ids = at::full({rows, length}, pad_id, at::kLong);
    at::Tensor mask = at::zeros({rows, length}, at::kLong);
    at::Tensor types = at::zeros({rows, length}, at::kLong);
    auto pid = ids.accessor<int64_t, 2>();
    auto pmask = mask.accessor<int64_t, 2>();
    auto ptype = types.accessor<int64_t, 2>();
    for (int64_t r = 0; r < rows; ++r) {
      // Rows past the inputs repeat the first one (a well-formed row; their outputs are dropped).
      const Encoding& e = *encodings[first + (static_cast<size_t>(r) < count ? static_cast<size_t>(r) : 0)];
      for (size_t t = 0; t < e.size(); ++t) {
        pid[r][static_cast<int64_t>(t)] = e.ids[t];
        pmask[r][static_cast<int64_t>(t)] = e.attention_mask.empty() ? 1 : e.attention_mask[t];
        ptype[r][static_cast<int64_t>(t)] = e.type_ids.empty() ? 0 : e.type_ids[t];
      }
    }
    std::vector<c10::IValue> args;
    for (const std::string& name : input_names) {
      if (name == "input_ids") args.emplace_back(ids);
      else if (name == "attention_mask") args.emplace_back(mask);
      else if (name == "token_type_ids") args.emplace_back(types);
      else if (name == "position_ids") args.emplace_back(at::arange(length, at::kLong).unsqueeze(0).expand({rows, length}).contiguous());
      else throw Error(context(path, "forward takes an input '" + name + "' that hfjit run cannot make"));
    }
    c10::IValue out;
    try {
      out = method_fn(args);
    } catch (const c10::Error& err) {
      std::string msg = err.what_without_backtrace();
      msg = first_line(msg);
      throw Error(context(path, method->name + " failed on a [" + std::to_string(rows) + ", " +
                                    std::to_string(length) + "] batch: " + msg +
                                    (!has_meta ? " (a fixed-shape trace needs --batch-size and --max-length)" : "")));
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
                                      " outputs; output " + std::to_string(outputs[k]) + " is not a tensor"));
      pieces[k].push_back(elements[outputs[k]].toTensor().narrow(0, 0, static_cast<int64_t>(count)));
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

size_t count_code_points(const std::string& text) { return tokenizers::count_chars(text); }

}  // namespace run

struct Runner::Impl {
  run::Context c;
};

Runner::Runner(const std::string& model_path, RunOptions options) : impl_(std::make_unique<Impl>()) {
  run::Context& c = impl_->c;
  c.path = model_path;
  c.opt = std::move(options);
  const RunOptions& o = c.opt;

  if (!o.task.empty() &&
      std::find(run_task_names().begin(), run_task_names().end(), o.task) == run_task_names().end())
    throw Error("unknown task '" + o.task + "' (known: " + run::join(run_task_names()) + ")");
  static const char* kAggregations[] = {"none", "simple", "first", "max", "average"};
  if (std::find(std::begin(kAggregations), std::end(kAggregations), o.aggregation) == std::end(kAggregations))
    throw Error("unknown --aggregation '" + o.aggregation + "' (none, simple, first, max, average)");
  if (o.top_k && *o.top_k < 0) throw Error("--top-k must be >= 0");
  if (o.doc_stride && *o.doc_stride < 0) throw Error("--doc-stride must be >= 0");
  if (o.max_answer_len < 1) throw Error("--max-answer-len must be >= 1");
  if (o.max_new_tokens < 0) throw Error("--max-new-tokens must be >= 0");
  if (o.temperature && !(*o.temperature >= 0)) throw Error("--temperature must be >= 0");
  if (o.top_p && !(*o.top_p > 0 && *o.top_p <= 1)) throw Error("--top-p must be in (0, 1]");
  if (o.batch_size && *o.batch_size < 1) throw Error("--batch-size must be >= 1");
  if (o.max_length && *o.max_length < 2) throw Error("--max-length must be >= 2");
  if (!o.tokenizer_dir.empty() && !fs::is_directory(o.tokenizer_dir))
    throw Error(context(o.tokenizer_dir, "--tokenizer is not a folder"));

  TorchScriptFile ts = TorchScriptFile::load(model_path, o.trust);
  if (!o.trust) check_pure_compute(ts.module, model_path);
  c.module = std::move(ts.module);
  c.module.eval();
  const auto& extra = ts.extra_files;
  auto extra_file = [&](const std::string& name) -> const std::string* {
    auto it = extra.find(name);
    return it == extra.end() ? nullptr : &it->second;
  };
  auto tokenizer_dir_file = [&](const std::string& name) -> std::optional<std::string> {
    if (o.tokenizer_dir.empty()) return std::nullopt;
    fs::path p = fs::path(o.tokenizer_dir) / name;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return std::nullopt;
    return read_text_file(p.string());
  };
  // A JSON file from --tokenizer DIR first, else the artifact.
  auto json_file = [&](const std::string& name) -> nlohmann::json {
    if (auto text = tokenizer_dir_file(name)) return run::parse_json(*text, (fs::path(o.tokenizer_dir) / name).string());
    if (const std::string* text = extra_file(name)) return run::parse_json(*text, model_path + ": " + name);
    return nlohmann::json::object();
  };

  ArtifactMeta meta;
  if (const std::string* m = extra_file("hfjit/meta.json")) meta = parse_artifact_meta(*m, model_path);
  const bool has_meta = meta.hfjit;
  c.has_meta = has_meta;

  // The task.
  const std::string artifact_task = meta.task;
  c.hf_class = meta.hf_class;
  const bool has_st_config = extra_file("modules.json") || tokenizer_dir_file("modules.json");
  if (!has_meta && o.task.empty())
    throw Error(context(model_path, "has no hfjit metadata (not written by hfjit trace): give --task and --tokenizer"));
  if (!o.task.empty()) {
    if (has_meta && !run::task_fits(artifact_task, o.task)) {
      if (o.task == "text-generation")
        throw Error(context(model_path, "text-generation needs a causal language model (GPT-2); this artifact is " +
                                            c.hf_class + " (" + artifact_task + ")"));
      throw Error(context(model_path, "--task " + o.task + " does not fit this artifact: it was traced as " +
                                          c.hf_class + " (" + artifact_task + ")"));
    }
    c.task = o.task;
  } else {
    c.task = artifact_task == "feature-extraction" && has_st_config ? "sentence-embedding" : artifact_task;
    if (std::find(run_task_names().begin(), run_task_names().end(), c.task) == run_task_names().end())
      throw Error(context(model_path, "task '" + c.task + "' (" + c.hf_class + ") has no `hfjit run` pipeline; " +
                                          "hfjit bench and torch::jit::load still use it"));
  }

  // Shapes and names.
  if (has_meta) {
    c.batch = meta.batch_size;
    for (const auto& m : meta.methods) c.methods.push_back({m.name, m.length});
    c.input_names = meta.input_names;
    c.output_names = meta.output_names;
    if (o.batch_size && *o.batch_size != c.batch)
      throw Error(context(model_path, "was traced with batch size " + std::to_string(c.batch) + ", not --batch-size " +
                                          std::to_string(*o.batch_size)));
    if (o.max_length) throw Error(context(model_path, "has traced lengths already; --max-length is for plain TorchScript files"));
    if (meta.dynamic) {  // one shape-polymorphic forward: pad to the longest input of each batch
      c.dynamic_limit = meta.max_length;
      c.methods = {{"forward", 0}};
      c.dynamic_batch = true;
    }
  } else {
    c.batch = o.batch_size.value_or(1);
    c.dynamic_batch = !o.batch_size;
    c.methods.push_back({"forward", o.max_length.value_or(0)});
    auto fn = c.module.find_method("forward");
    if (!fn) throw Error(context(model_path, "has no forward method"));
    const auto& args = fn->function().getSchema().arguments();
    for (size_t i = 1; i < args.size(); ++i) c.input_names.push_back(args[i].name());
  }
  if (c.methods.empty() || c.batch < 1) throw Error(context(model_path, "hfjit/meta.json has no traced methods"));
  for (const std::string& name : c.input_names)
    if (name != "input_ids" && name != "attention_mask" && name != "token_type_ids" && name != "position_ids")
      throw Error(context(model_path, "forward takes an input '" + name + "' that hfjit run cannot make"));
  std::sort(c.methods.begin(), c.methods.end(), [](const run::Method& a, const run::Method& b) { return a.length < b.length; });
  for (const auto& m : c.methods)
    if (!c.module.find_method(m.name)) throw Error(context(model_path, "has no method '" + m.name + "' that its metadata lists"));

  // Tokenizer.
  if (!o.tokenizer_dir.empty()) {
    c.tok = load_tokenizer(o.tokenizer_dir);
  } else {
    TokenizerFiles files;
    for (const std::string& name : tokenizer_file_names())
      if (const std::string* f = extra_file(name)) files[name] = *f;
    if (files.empty()) throw Error(context(model_path, "carries no tokenizer files: give --tokenizer DIR"));
    c.tok = load_tokenizer_from_files(files, model_path);
  }
  c.tok->set_padding(std::nullopt);
  c.tok->set_truncation(std::nullopt);

  // Configuration.
  c.config = json_file("config.json");
  c.tokenizer_config = json_file("tokenizer_config.json");
  c.generation_config = json_file("generation_config.json");
  for (const auto& [name, j] : {std::pair<const char*, const nlohmann::json*>{"config.json", &c.config},
                                {"tokenizer_config.json", &c.tokenizer_config},
                                {"generation_config.json", &c.generation_config}})
    if (!j->is_object()) throw Error(context(model_path, std::string(name) + " is not a JSON object"));
  if (c.tokenizer_config.contains("clean_up_tokenization_spaces") &&
      !c.tokenizer_config["clean_up_tokenization_spaces"].is_null()) {
    if (!c.tokenizer_config["clean_up_tokenization_spaces"].is_boolean())
      throw Error(context(model_path, "tokenizer_config.json: \"clean_up_tokenization_spaces\" should be true or false"));
    c.clean_up = c.tokenizer_config["clean_up_tokenization_spaces"].get<bool>();
  }
  if (c.config.contains("id2label") && c.config["id2label"].is_object())
    c.id2label = parse_id2label(c.config["id2label"], model_path + ": config.json");
  c.num_labels = static_cast<int64_t>(c.id2label.size());
  if (c.id2label.empty()) {
    const nlohmann::json n = c.config.value("num_labels", nlohmann::json(2));
    if (!n.is_number_integer() || n.get<int64_t>() < 1 || n.get<int64_t>() > (1 << 24))
      throw Error(context(model_path, "config.json: \"num_labels\" should be a positive integer"));
    c.num_labels = n.get<int64_t>();
  }
  if (c.config.contains("problem_type") && c.config["problem_type"].is_string())
    c.problem_type = c.config["problem_type"].get<std::string>();
  if (has_meta && meta.pad_token_id)
    c.pad_id = *meta.pad_token_id;
  else if (c.tok->special_tokens().pad)
    c.pad_id = *c.tok->special_tokens().pad;
  else if (c.config.contains("pad_token_id") && c.config["pad_token_id"].is_number_integer())
    c.pad_id = c.config["pad_token_id"].get<int64_t>();
  c.eos_ids = run::int_or_list(c.generation_config.value("eos_token_id", nlohmann::json()));
  if (c.eos_ids.empty()) c.eos_ids = run::int_or_list(c.config.value("eos_token_id", nlohmann::json()));

  // sentence-transformers: pooling, normalization, max_seq_length.
  if (c.task == "sentence-embedding" && has_st_config) {
    const nlohmann::json modules = json_file("modules.json");
    if (!modules.is_array())
      throw Error(context(model_path, "modules.json should be a list of sentence-transformers modules"));
    bool pooled = false;
    for (const auto& m : modules) {
      if (!m.is_object() || !m.contains("type") || !m["type"].is_string() ||
          (m.contains("path") && !m["path"].is_string()))
        throw Error(context(model_path, "modules.json: each module should be an object with a string \"type\" "
                                        "and \"path\""));
      const std::string type = m["type"].get<std::string>();
      const std::string path = m.value("path", "");
      if (type.find("Transformer") != std::string::npos) continue;
      if (type.find("Pooling") != std::string::npos) {
        const nlohmann::json p = json_file(path + "/config.json");
        const std::string where = model_path + ": " + path + "/config.json";
        if (!p.is_object()) throw Error(where + " is not a JSON object");
        auto flag = [&](const char* key) {
          if (!p.contains(key) || p[key].is_null()) return false;
          if (!p[key].is_boolean()) throw Error(where + ": \"" + key + "\" should be true or false");
          return p[key].get<bool>();
        };
        run::Pooling& pool = c.pooling;
        pool.cls = flag("pooling_mode_cls_token");
        pool.mean = flag("pooling_mode_mean_tokens");
        pool.max = flag("pooling_mode_max_tokens");
        pool.mean_sqrt_len = flag("pooling_mode_mean_sqrt_len_tokens");
        pool.last_token = flag("pooling_mode_lasttoken");
        if (flag("pooling_mode_weightedmean_tokens"))
          throw Error(context(model_path, path + "/config.json: weighted-mean pooling is not supported"));
        if (!(pool.cls || pool.mean || pool.max || pool.mean_sqrt_len || pool.last_token))
          throw Error(context(model_path, path + "/config.json selects no pooling mode"));
        pooled = true;
      } else if (type.find("Normalize") != std::string::npos) {
        c.pooling.normalize = true;
      } else {
        throw Error(context(model_path, "modules.json: sentence-transformers module " + type + " is not supported"));
      }
    }
    if (!pooled) c.pooling = run::Pooling{};
    const nlohmann::json sb = json_file("sentence_bert_config.json");
    if (!sb.is_object()) throw Error(context(model_path, "sentence_bert_config.json is not a JSON object"));
    if (sb.contains("max_seq_length") && !sb["max_seq_length"].is_null()) {
      if (!sb["max_seq_length"].is_number_integer() || sb["max_seq_length"].get<int64_t>() < 0)
        throw Error(context(model_path, "sentence_bert_config.json: \"max_seq_length\" should be a non-negative integer"));
      c.st_max_seq_length = sb["max_seq_length"].get<int64_t>();
    }
  }

  // What each task needs.
  if (c.task == "fill-mask" && !c.tok->special_tokens().mask)
    throw Error(context(model_path, "fill-mask needs a mask token; the tokenizer declares none"));
  if (c.task == "question-answering" && c.output_names.empty() && c.opt.task.empty())
    throw Error(context(model_path, "question-answering needs start and end logits"));
}

Runner::~Runner() = default;

const std::string& Runner::task() const { return impl_->c.task; }

size_t Runner::batch_size() const { return static_cast<size_t>(std::max<int64_t>(impl_->c.batch, 1)); }

const std::vector<std::string>& Runner::warnings() const { return impl_->c.warnings; }

std::vector<nlohmann::ordered_json> Runner::run(const std::vector<RunInput>& inputs) {
  run::Context& c = impl_->c;
  c.warnings.clear();
  if (inputs.empty()) return {};
  c10::InferenceMode guard;
  const std::string& t = c.task;
  if (t == "question-answering") {
    for (const RunInput& in : inputs)
      if (!in.question) throw Error(in.where + ": question-answering needs a question and a context");
  } else {
    for (const RunInput& in : inputs)
      if (in.question) throw Error(in.where + ": a question is only for question-answering (the task is " + t + ")");
  }
  if (t == "fill-mask") return run::fill_mask(c, inputs);
  if (t == "text-classification") return run::text_classification(c, inputs);
  if (t == "token-classification") return run::token_classification(c, inputs);
  if (t == "question-answering") return run::question_answering(c, inputs);
  if (t == "feature-extraction") return run::feature_extraction(c, inputs, false);
  if (t == "sentence-embedding") return run::feature_extraction(c, inputs, true);
  if (t == "text-generation") return run::text_generation(c, inputs);
  throw Error("task " + t + " has no pipeline");
}

}  // namespace hfjit
