// `hfjit trace` (hfjit/trace.h) as a sequence of stages, each a function
// below in the order trace_model runs them: options, resolve, load + build,
// convert, trace, optimize, verify, metadata, save.
#include "hfjit/trace.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/script.h>

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "hfjit/checkpoint.h"
#include "hfjit/config.h"
#include "hfjit/cpu_kernels.h"
#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/io/model_dir.h"
#include "hfjit/models/convert.h"
#include "hfjit/models/layers.h"
#include "hfjit/models/registry.h"
#include "hfjit/models/seq2seq.h"
#include "hfjit/sentence_transformers.h"
#include "hfjit/timing.h"
#include "hfjit/tokenizer.h"
#include "hfjit/torchscript_file.h"
#include "hfjit/tracer.h"
#include "hfjit/version.h"

namespace fs = std::filesystem;

namespace hfjit {
namespace {

using json = nlohmann::ordered_json;

// The longest sequence the model's position embeddings allow (0: no limit known).
int64_t position_limit(const ModelConfig& c) {
  int64_t n = c.max_position_embeddings;
  if (n <= 0) return 0;
  // RoBERTa-style positions start after the padding index (MPNet's is always 1).
  static const std::set<std::string> kOffsetPositions = {"roberta", "xlm-roberta", "camembert"};
  if (kOffsetPositions.count(c.model_type)) n -= c.pad_token_id.value_or(1) + 1;
  if (c.model_type == "mpnet") n -= 2;
  return n;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes()) return std::numeric_limits<double>::infinity();
  if (a.numel() == 0) return 0;
  // In slices of 1M elements: in float64 the whole of a [B, L, vocab] logits
  // tensor would need five temporaries of twice its size (156 MB at BERT-base).
  const at::Tensor fa = a.reshape({-1}), fb = b.reshape({-1});
  constexpr int64_t kSlice = int64_t{1} << 20;
  double worst = 0;
  for (int64_t i = 0; i < fa.numel(); i += kSlice) {
    const int64_t n = std::min(kSlice, fa.numel() - i);
    at::Tensor x = fa.narrow(0, i, n).to(at::kDouble), y = fb.narrow(0, i, n).to(at::kDouble);
    if (at::logical_xor(at::isnan(x), at::isnan(y)).any().item<bool>())
      return std::numeric_limits<double>::infinity();
    worst = std::max(worst, at::nan_to_num(at::abs(x - y), 0.0).max().item<double>());
  }
  return worst;
}

std::string dtype_string(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return "float32";
    case at::kHalf:
      return "float16";
    case at::kBFloat16:
      return "bfloat16";
    case at::kDouble:
      return "float64";
    case at::kLong:
      return "int64";
    case at::kInt:
      return "int32";
    case at::kBool:
      return "bool";
    default:
      return c10::toString(t);
  }
}

// Logits-like outputs, where the argmax is the answer (top-1 agreement).
bool is_logits(const std::string& name) {
  return name.find("logits") != std::string::npos;
}

TraceReport::Accuracy accuracy_against(const at::Tensor& reference, const at::Tensor& out,
                                       bool logits) {
  TraceReport::Accuracy a;
  if (reference.sizes() != out.sizes() || reference.numel() == 0 || !reference.is_floating_point())
    return a;
  const at::Tensor x = reference.to(at::kDouble).reshape({-1}),
                   y = out.to(at::kDouble).reshape({-1});
  a.cosine = at::cosine_similarity(x, y, 0, 1e-12).item<double>();
  a.max_abs_diff = (x - y).abs().max().item<double>();
  if (logits && reference.dim() >= 2 && reference.size(-1) > 1) {
    const at::Tensor rx = reference.reshape({-1, reference.size(-1)}),
                     ry = out.reshape({-1, out.size(-1)});
    a.top1 = at::eq(rx.argmax(-1), ry.argmax(-1)).to(at::kDouble).mean().item<double>();
  }
  return a;
}

// Times each stage into the report's `stages` and passes it to on_stage as it ends.
class StageClock {
 public:
  StageClock(TraceReport& report, const std::function<void(const TraceStage&)>& on_stage)
      : report_(report), on_stage_(on_stage) {}
  void start() { t0_ = Clock::now(); }
  void end(const char* name, std::string detail) {
    report_.stages.push_back({name, ms_since(t0_), std::move(detail)});
    if (on_stage_) on_stage_(report_.stages.back());
  }

 private:
  TraceReport& report_;
  const std::function<void(const TraceStage&)>& on_stage_;
  Clock::time_point t0_ = Clock::now();
};

// The output's checks (before anything is loaded): a file name, and nothing in the way.
void check_output(const std::string& output, bool force) {
  if (output.empty()) throw Error("trace needs an output: -o OUT.pt");
  std::error_code ec;
  if (fs::is_directory(output, ec))
    throw Error(context(output, "is a folder; give a file name such as model.pt"));
  if (fs::exists(output, ec) && !force)
    throw Error(context(output, "already exists (use --force to replace it)"));
  check_writable_destination(output);
}

// Command-line values first: cheap to check, and nothing should be loaded for a typo.
models::Precision check_options(const std::string& output, const TraceOptions& opts) {
  if (opts.batch_size <= 0)
    throw Error("--batch-size must be positive (got " + std::to_string(opts.batch_size) + ")");
  if (opts.max_length && *opts.max_length <= 0)
    throw Error("--max-length must be positive (got " + std::to_string(*opts.max_length) + ")");
  for (int64_t l : opts.lengths)
    if (l <= 0) throw Error("--lengths must be positive (got " + std::to_string(l) + ")");
  if (opts.target_length && *opts.target_length < 2)
    throw Error("--target-length must be at least 2, the start token and one new token (got " +
                std::to_string(*opts.target_length) + ")");
  if (!(opts.atol > 0)) throw Error("--atol must be positive");
  if (opts.dynamic && !opts.lengths.empty())
    throw Error("--dynamic traces one method for every shape; --lengths is for static traces");
  if (!opts.cache.empty() && opts.cache != "static" && opts.cache != "none")
    throw Error("--cache must be static or none (got \"" + opts.cache + "\")");
  const models::Precision precision = models::parse_precision(opts.dtype, opts.quantize);
  if (precision == models::Precision::BFloat16 && !opts.allow_slow_bf16 &&
      !opts.native_bf16.value_or(cpu_has_native_bf16()))
    throw Error("--dtype bfloat16: this CPU (" + cpu_name() +
                ") has no native bf16 (AVX512-BF16, AMX-BF16), where libtorch's bf16 matmuls run "
                "many times slower than float32 (73x measured on BERT-base); "
                "--allow-slow-bf16 traces it anyway");
  if (!(opts.min_cosine > -1 && opts.min_cosine <= 1))
    throw Error("--min-cosine must be in (-1, 1]");
  check_output(output, opts.force);
  return precision;
}

// The task to build: sentence-embedding is feature-extraction's trace (the base
// model), which run pools and normalizes as the folder's sentence-transformers
// files say. Error when the family lacks the task.
std::string build_task_for(const ModelConfig& config, const std::string& task) {
  const std::string build_task = task == "sentence-embedding" ? "feature-extraction" : task;
  if (build_task.empty()) return build_task;
  const auto tasks = models::supported_tasks(config.model_type);
  if (std::find(tasks.begin(), tasks.end(), build_task) != tasks.end()) return build_task;
  std::string list;
  for (const auto& x : tasks) list += (list.empty() ? "" : ", ") + x;
  throw Error("task \"" + task + "\" is not supported for model type \"" + config.model_type +
              "\"; supported: " + list);
}

// The traced lengths, ascending: --lengths and --max-length (default 128, or the
// largest of --lengths, capped by the model's positions). Error past the positions.
std::set<int64_t> traced_lengths(const ModelConfig& config, const TraceOptions& opts) {
  const int64_t limit = position_limit(config);
  std::set<int64_t> lengths(opts.lengths.begin(), opts.lengths.end());
  int64_t max_length = opts.max_length.value_or(0);
  if (!opts.max_length) {
    max_length = lengths.empty() ? 128 : *lengths.rbegin();
    if (limit > 0 && max_length > limit && opts.lengths.empty()) max_length = limit;
  }
  lengths.insert(max_length);
  max_length = *lengths.rbegin();
  if (limit > 0 && max_length > limit)
    throw Error("--max-length " + std::to_string(max_length) + " exceeds the model's " +
                std::to_string(limit) + " positions (max_position_embeddings in " + config.path +
                ")");
  return lengths;
}

// The method traced at a length: the largest is `forward`, the others forward_<L>.
std::string method_name(int64_t length, int64_t max_length) {
  return length == max_length ? "forward" : "forward_" + std::to_string(length);
}

// The folder's sentence-transformers modules, read as `run` reads them from the artifact.
struct StModules {
  std::map<std::string, std::string> weights;  // each Dense's: <path>/model.safetensors -> bytes
  std::string warning;                         // why `run` will not pool it, or ""
};

// The task the artifact will have: --task, else the one architectures[0]
// performs ("" when there is none: the build says why).
std::string artifact_task(const ModelConfig& config, const std::string& task_option) {
  if (!task_option.empty() || config.architectures.empty()) return task_option;
  try {
    return models::task_for_architecture(config.model_type, config.architectures[0]);
  } catch (const Error&) {
    return "";
  }
}

// For a trace `run` may pool (sentence-embedding, feature-extraction) of a folder
// with a modules.json: the weights the artifact carries. A module hfjit cannot
// run stops a sentence-embedding trace; a feature-extraction one only warns.
StModules sentence_transformers_modules(const std::string& dir, const ModelConfig& config,
                                        const std::string& task_option) {
  std::error_code ec;
  const std::string task = artifact_task(config, task_option);
  if ((task != "sentence-embedding" && task != "feature-extraction") ||
      !fs::is_regular_file(fs::path(dir) / "modules.json", ec))
    return {};
  try {
    const st::Modules modules = st::read_modules(st::FolderFiles(dir));
    if (config.hidden_size > 0) modules.check_dimensions(config.hidden_size);
    return {modules.weight_files(), ""};
  } catch (const Error& e) {
    if (task == "sentence-embedding") throw;
    StModules warn;
    warn.warning = std::string(e.what()) + "; `hfjit run` of this artifact needs --task " +
                   "feature-extraction";
    return warn;
  }
}

// What stage "resolve" finds: the model folder, its config, what to build, at which lengths.
struct Resolved {
  ModelDir dir;
  ModelConfig config;
  std::string build_task;     // sentence-embedding builds feature-extraction's model
  std::set<int64_t> lengths;  // ascending; the last is max_length
  int64_t max_length = 0;
  StModules st;
};

// Stage "resolve": the model folder (a hub id is downloaded), config.json, task and lengths.
Resolved resolve(const std::string& model, const std::string& output, const TraceOptions& opts,
                 StageClock& clock) {
  clock.start();
  ModelDir dir = resolve_model(model, opts.revision);
  if (same_path(dir.path, output)) throw Error(context(output, "output is the input"));
  ModelConfig config = load_config(dir.path);
  std::string build_task = build_task_for(config, opts.task);
  std::set<int64_t> lengths = traced_lengths(config, opts);
  const int64_t max_length = *lengths.rbegin();
  StModules st = sentence_transformers_modules(dir.path, config, opts.task);
  clock.end("resolve", dir.path);
  return {std::move(dir),     std::move(config), std::move(build_task),
          std::move(lengths), max_length,        std::move(st)};
}

// --keep-tied: tied weights arrive cloned; each clone shares its source's storage again.
void share_tied(models::BuiltModel& built) {
  auto params = built.module->named_parameters(/*recurse=*/true);
  for (const auto& [name, source] : built.load.tied) {
    at::Tensor* p = params.find(name);
    at::Tensor* s = params.find(source);
    if (p && s) p->set_data(*s);
  }
}

// Stages "load" and "build": the checkpoint, then the native model in eval mode. The
// checkpoint (a mapping) lives only until the model owns its weights, so peak memory
// is one copy of the weights, not two.
models::BuiltModel load_and_build(const Resolved& res, const TraceOptions& opts,
                                  StageClock& clock) {
  clock.start();
  models::BuiltModel built = [&] {
    Checkpoint ckpt = Checkpoint::load(res.dir.path);
    clock.end("load", std::to_string(ckpt.tensors().size()) + " tensors, " +
                          std::to_string(ckpt.total_bytes() / 1000000) + " MB");
    clock.start();
    return models::build_model(res.config, ckpt, res.build_task);
  }();
  built.module->eval();
  if (opts.task == "sentence-embedding") built.task = opts.task;
  if (opts.keep_tied) share_tied(built);
  clock.end("build", built.hf_class + (built.load.tied.empty() ? ""
                                       : opts.keep_tied        ? ", tied weights kept shared"
                                                               : ", tied weights cloned"));
  return built;
}

// The built model's description in the report: type, task, class, inputs, outputs, untied weights.
void report_model(const models::BuiltModel& built, TraceReport& r) {
  r.model_type = built.model_type;
  r.task = built.task;
  r.hf_class = built.hf_class;
  r.input_names = built.input_names;
  r.output_names = built.output_names;
  for (const auto& [name, source] : built.load.tied) r.untied.push_back(name);
}

// Whether the files bundled for `run` include a tokenizer.
bool has_tokenizer(const std::vector<std::string>& files) {
  return std::any_of(files.begin(), files.end(), [](const std::string& f) {
    return f == "tokenizer.json" || f == "vocab.txt" || f == "vocab.json" || f == "spiece.model" ||
           f == "tokenizer.model" || f == "sentencepiece.bpe.model" || f == "spm.model";
  });
}

// One verification shape: a traced method called at [batch, length].
struct Check {
  std::string method;
  int64_t batch, length;
};

// The verification shapes. Static: each method at its shape. Dynamic: forward at
// three lengths and two batch sizes.
std::vector<Check> verification_checks(const Resolved& res, const TraceOptions& opts) {
  std::vector<Check> checks;
  const int64_t max_length = res.max_length;
  if (opts.dynamic) {
    for (int64_t len : std::set<int64_t>{max_length, std::max<int64_t>(2, max_length / 2),
                                         std::min<int64_t>(max_length, 7)})
      for (int64_t b : {opts.batch_size, opts.batch_size + 1})
        checks.push_back({"forward", b, len});
  } else {
    for (int64_t len : res.lengths)
      checks.push_back({method_name(len, max_length), opts.batch_size, len});
  }
  return checks;
}

// bf16 / int8: the float32 model's outputs on the unpadded verification inputs
// (per check: random ids, then real text where the model has a tokenizer), the
// reference for the converted trace. Empty without conversion.
struct Float32Reference {
  struct Case {
    std::vector<at::Tensor> inputs, outputs;
  };
  std::vector<std::vector<Case>> checks;
};

// Text for the converted trace's accuracy check: random ids alone flatter a
// quantized model (real text has the outlier activations that int8 loses).
// Prose in several scripts, numbers, code, a URL, emoji, shouting.
constexpr const char* kCheckText[] = {
    "The committee rejected the quarterly results before lunch, and nobody was surprised.",
    "How do I reset my password if I no longer have access to my e-mail?",
    "Absolutely loved it, would buy again! Shipping took forever though.",
    "Der schnelle braune Fuchs springt \u00fcber den faulen Hund.",
    "\u6211\u4eca\u5929\u65e9\u4e0a\u559d\u4e86\u4e24\u676f\u5496\u5561\u3002",
    "\u041c\u044b \u043f\u043e\u0435\u0434\u0435\u043c \u043d\u0430 \u0434\u0430\u0447\u0443 "
    "\u0432 \u0441\u0443\u0431\u0431\u043e\u0442\u0443.",
    "Order #4471: 3 x $19.99, total $59.97 (tax 8.25%), due 28/04/2026.",
    "for (int i = 0; i < n; ++i) { sum += v[i] * w[i]; }",
    "See https://example.org/docs/v2/index.html?lang=en#install for details.",
    "THE BATTERY DIES AFTER TWO HOURS!!! \U0001F621\U0001F50B",
    "\u00bfD\u00f3nde est\u00e1 la estaci\u00f3n de tren m\u00e1s cercana?",
    "In 1969, Apollo 11 landed on the Moon; Armstrong stepped out at 02:56 UTC.",
};

// The model's own tokenizer, set to truncate, for text_inputs; null without
// one, or for inputs other than ids, attention mask and token types.
std::unique_ptr<Tokenizer> check_tokenizer(const Resolved& res,
                                           const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (n != "input_ids" && n != "attention_mask" && n != "token_type_ids") return nullptr;
  try {
    std::unique_ptr<Tokenizer> tok = load_tokenizer(res.dir.path);
    if (tok) tok->set_padding(std::nullopt);
    return tok;
  } catch (const Error&) {
    return nullptr;
  }
}

// One row per batch entry, each `length` tokens of kCheckText (from a
// different sentence on, repeated as needed) in `tok`; attention mask full,
// token types 0. Nothing when the tokenizer makes ids past vocab_size.
std::optional<std::vector<at::Tensor>> text_inputs(const Resolved& res, Tokenizer& tok,
                                                   const std::vector<std::string>& names,
                                                   int64_t batch, int64_t length) {
  TruncationParams trunc;
  trunc.max_length = static_cast<size_t>(length);
  tok.set_truncation(trunc);
  constexpr size_t kCount = std::size(kCheckText);
  std::string all;
  for (const char* t : kCheckText) all += std::string(t) + " ";
  // Tokens the whole set makes, for how often to repeat it.
  const size_t per_round = std::max<size_t>(1, tok.encode(all, false).size());
  const size_t rounds = static_cast<size_t>(length) / per_round + 2;
  at::Tensor ids = at::full({batch, length}, res.config.pad_token_id.value_or(0), at::kLong);
  at::Tensor mask = at::zeros({batch, length}, at::kLong);
  for (int64_t b = 0; b < batch; ++b) {
    std::string text;
    for (size_t i = 0; i < rounds * kCount; ++i)
      text += std::string(kCheckText[(static_cast<size_t>(b) + i) % kCount]) + " ";
    const Encoding e = tok.encode(text);
    const int64_t n = std::min<int64_t>(length, static_cast<int64_t>(e.ids.size()));
    for (int64_t i = 0; i < n; ++i) {
      if (e.ids[i] < 0 || e.ids[i] >= res.config.vocab_size) return std::nullopt;
      ids[b][i] = e.ids[i];
    }
    mask[b].slice(0, 0, n).fill_(1);
  }
  std::vector<at::Tensor> out;
  for (const auto& n : names)
    out.push_back(n == "input_ids"        ? ids
                  : n == "attention_mask" ? mask
                                          : at::zeros({batch, length}, at::kLong));
  return out;
}

// Stage "convert" (bf16 / int8 only): keeps the float32 reference when verifying,
// then converts the model in place.
Float32Reference convert_model(models::BuiltModel& built, const Resolved& res,
                               models::Precision precision, const std::vector<Check>& checks,
                               DummyInputs& dummy, bool verify, StageClock& clock) {
  Float32Reference ref;
  if (precision == models::Precision::Float32) return ref;
  clock.start();
  if (verify) {
    torch::NoGradGuard no_grad;
    const std::unique_ptr<Tokenizer> tok = check_tokenizer(res, built.input_names);
    for (const auto& c : checks) {
      std::vector<Float32Reference::Case> cases;
      cases.push_back({dummy.full(c.batch, c.length), {}});
      if (tok)
        if (auto text = text_inputs(res, *tok, built.input_names, c.batch, c.length))
          cases.push_back({std::move(*text), {}});
      for (auto& k : cases) k.outputs = built.forward(k.inputs);
      ref.checks.push_back(std::move(cases));
    }
  }
  const int64_t n = models::convert(*built.module, precision);
  clock.end("convert", precision == models::Precision::Int8
                           ? std::to_string(n) + " linear layers to int8 (" +
                                 std::to_string(int8_weight_bits()) +
                                 "-bit weights, per-token 8-bit activations)"
                           : std::to_string(n) + " tensors to bfloat16");
  return ref;
}

// The traced module and its methods by length. Of each dummy call's outputs only
// the shapes and dtypes are kept, for the metadata: holding the tensors (a
// [B, L, vocab] logits each) would add to the peak while saving.
struct Traced {
  torch::jit::Module module;
  std::map<int64_t, std::string> methods;
  std::map<int64_t, std::vector<std::pair<std::vector<int64_t>, at::ScalarType>>> outputs;
};

// Stage "trace": a method per length, on dummy inputs of --batch-size (--dynamic: any shape).
Traced trace_methods(const models::BuiltModel& built, const Resolved& res, const TraceOptions& opts,
                     DummyInputs& dummy, StageClock& clock) {
  clock.start();
  Tracer tracer(built);
  Traced traced;
  {
    std::optional<models::DynamicShapes> dynamic;
    if (opts.dynamic) dynamic.emplace();
    for (int64_t len : res.lengths) {
      const std::string method = method_name(len, res.max_length);
      for (const at::Tensor& o : tracer.add_method(method, dummy.full(opts.batch_size, len)))
        traced.outputs[len].emplace_back(o.sizes().vec(), o.scalar_type());
      traced.methods[len] = method;
    }
  }
  traced.module = tracer.module();
  clock.end("trace", std::to_string(res.lengths.size()) + " method" +
                         (res.lengths.size() > 1 ? "s" : "") + ", batch " +
                         std::to_string(opts.batch_size));
  return traced;
}

// Stage "optimize" (--optimize): weights folded into the graphs as constants, then
// the inference passes (conv/linear folding, MKLDNN layouts where they pay). The
// module's `training` attributes (false) are what let freeze() run at all.
void optimize(Traced& traced, StageClock& clock) {
  clock.start();
  std::vector<std::string> others;
  for (const auto& [len, method] : traced.methods)
    if (method != "forward") others.push_back(method);
  try {
    traced.module = torch::jit::freeze(traced.module, others);
    traced.module = torch::jit::optimize_for_inference(traced.module, others);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw Error("--optimize failed: " + first_line(msg));
  }
  clock.end("optimize", "frozen, optimized for inference");
}

// The tolerance of one output against eager mode.
double tolerance(models::Precision precision, double atol, const at::Tensor& eager) {
  // bf16: the TorchScript interpreter rounds some arithmetic differently
  // from eager mode (Python's torch.jit.trace of transformers' GPT-2 in
  // bf16 is 0.073 off its eager logits too, and ours 0.082 on padded
  // input), and the rounding compounds over the layers. So here the
  // check only catches a broken trace (errors of the output's own
  // magnitude): 1/8 of max |output| on top of atol. The accuracy that
  // matters, against float32, is checked with --min-cosine.
  if (precision != models::Precision::BFloat16) return atol;
  return atol + std::ldexp(eager.abs().max().item<double>(), -3);
}

// printf's %g of `v` at `digits` significant digits.
std::string g_format(double v, int digits = 6) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// Each output of one traced call against the eager model's: finite, and within
// tolerance (VerifyError otherwise); the largest differences into the report.
void compare_with_eager(const std::vector<std::string>& names, const std::vector<at::Tensor>& eager,
                        const std::vector<at::Tensor>& traced, const Check& c, bool padded,
                        models::Precision precision, double atol, TraceReport& r) {
  const std::string shape =
      "input [" + std::to_string(c.batch) + ", " + std::to_string(c.length) + "]";
  if (eager.size() != traced.size())
    throw VerifyError("verification failed: the trace returns " + std::to_string(traced.size()) +
                      " outputs, the eager model " + std::to_string(eager.size()));
  for (size_t i = 0; i < eager.size(); ++i) {
    const std::string& name = names[i];
    // A NaN or inf output (a broken checkpoint, an overflow) makes any comparison meaningless.
    if (!at::isfinite(traced[i]).all().item<bool>())
      throw VerifyError("verification failed: output \"" + name + "\" of " + c.method +
                        " is not finite (NaN or inf) on " +
                        (padded ? "a padded " : "an unpadded ") + shape +
                        "; check the weights; nothing written");
    const double d = max_abs_diff(eager[i], traced[i]);
    r.max_abs_diff[name] = std::max(r.max_abs_diff[name], d);
    const double tol = tolerance(precision, atol, eager[i]);
    if (!(d <= tol))
      throw VerifyError("verification failed: output \"" + name + "\" of " + c.method +
                        " differs from the eager model by " + g_format(d, 3) + " (atol " +
                        std::to_string(tol) + ", " + (padded ? "padded " : "unpadded ") + shape +
                        "); nothing written");
  }
}

// The lever's cost: each output of the converted trace against the float32 model;
// the worst accuracy into the report, VerifyError under --min-cosine.
void compare_with_float32(const std::vector<std::string>& names,
                          const std::vector<at::Tensor>& reference,
                          const std::vector<at::Tensor>& traced, models::Precision precision,
                          double min_cosine, TraceReport& r) {
  for (size_t i = 0; i < traced.size() && i < reference.size(); ++i) {
    const std::string& name = names[i];
    TraceReport::Accuracy a = accuracy_against(reference[i], traced[i], is_logits(name));
    auto [it, fresh] = r.accuracy.emplace(name, a);
    if (!fresh) {
      it->second.cosine = std::min(it->second.cosine, a.cosine);
      it->second.max_abs_diff = std::max(it->second.max_abs_diff, a.max_abs_diff);
      if (a.top1 >= 0)
        it->second.top1 = std::min(it->second.top1 < 0 ? 1.0 : it->second.top1, a.top1);
    }
    if (!(a.cosine >= min_cosine)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6f", a.cosine);
      throw VerifyError("verification failed: output \"" + name + "\" of the " +
                        models::precision_label(precision) + " trace has cosine " + buf +
                        " to the float32 model (--min-cosine " + std::to_string(min_cosine) +
                        "); nothing written");
    }
  }
}

// The largest difference from the eager model over every output verified.
double worst_diff(const TraceReport& r) {
  double worst = 0;
  for (const auto& [k, v] : r.max_abs_diff) worst = std::max(worst, v);
  return worst;
}

// The end of every verify stage: the report marked verified, and the stage's line
// "max abs diff W<what>, atol A<after>".
void end_verify(TraceReport& r, StageClock& clock, const std::string& what, double atol,
                const std::string& after = "") {
  r.verified = true;
  clock.end("verify", "max abs diff " + g_format(worst_diff(r), 3) + what + ", atol " +
                          g_format(atol) + after);
}

// Stage "verify": the trace against the eager model at every check, on fresh
// inputs, one unpadded and one padded; the converted trace against float32 too.
void verify(const models::BuiltModel& built, Traced& traced, const std::vector<Check>& checks,
            const Float32Reference& ref, DummyInputs& dummy, models::Precision precision,
            const TraceOptions& opts, TraceReport& r, StageClock& clock) {
  clock.start();
  torch::NoGradGuard no_grad;
  for (size_t ci = 0; ci < checks.size(); ++ci) {
    const Check& c = checks[ci];
    // Unpadded: the float32 reference's inputs (random ids, real text) when converted.
    std::vector<Float32Reference::Case> unpadded;
    if (ref.checks.empty())
      unpadded.push_back({dummy.full(c.batch, c.length), {}});
    else
      unpadded = ref.checks[ci];
    for (const auto& k : unpadded) {
      std::vector<at::Tensor> eager = built.forward(k.inputs);
      std::vector<at::Tensor> out = run_method(traced.module, c.method, k.inputs);
      compare_with_eager(built.output_names, eager, out, c, false, precision, opts.atol, r);
      if (!k.outputs.empty())
        compare_with_float32(built.output_names, k.outputs, out, precision, opts.min_cosine, r);
    }
    std::vector<at::Tensor> in = dummy.padded(c.batch, c.length);
    compare_with_eager(built.output_names, built.forward(in),
                       run_method(traced.module, c.method, in), c, true, precision, opts.atol, r);
  }
  const std::string what = " over " + std::to_string(r.max_abs_diff.size()) + " outputs at " +
                           std::to_string(checks.size()) + " shapes";
  std::string after;
  if (!ref.checks.empty())
    after = ref.checks.front().size() > 1 ? "; float32 compared on random ids and real text"
                                          : "; float32 compared on random ids (no tokenizer)";
  end_verify(r, clock, what, opts.atol, after);
}

// meta.json's "methods", "inputs" and "outputs": the traced methods and forward's signature.
void describe_methods(const Traced& traced, const models::BuiltModel& built, int64_t batch_size,
                      int64_t max_length, json& meta) {
  json methods = json::array();
  for (const auto& [len, method] : traced.methods)
    methods.push_back({{"name", method}, {"length", len}});
  meta["methods"] = methods;
  json inputs = json::array();
  for (const auto& n : built.input_names)
    inputs.push_back({{"name", n}, {"dtype", "int64"}, {"shape", {batch_size, max_length}}});
  meta["inputs"] = inputs;
  json outputs = json::array();
  const auto& out = traced.outputs.at(max_length);
  for (size_t i = 0; i < built.output_names.size() && i < out.size(); ++i)
    outputs.push_back({{"name", built.output_names[i]},
                       {"dtype", dtype_string(out[i].second)},
                       {"shape", out[i].first}});
  meta["outputs"] = outputs;
}

// meta.json's "verification": whether the trace was verified, and how closely.
json verification_json(const TraceReport& r, const TraceOptions& opts) {
  json verification = {{"verified", r.verified}, {"atol", opts.atol}};
  json diffs = json::object();
  for (const auto& [k, v] : r.max_abs_diff) diffs[k] = v;
  verification["max_abs_diff"] = diffs;
  if (!r.accuracy.empty()) {
    verification["against_float32"] = accuracy_json(r.accuracy);
    verification["min_cosine"] = opts.min_cosine;
  }
  return verification;
}

// hfjit/meta.json: what the artifact holds and everything `run` needs to use it.
json artifact_meta(const std::string& model, const Resolved& res, const models::BuiltModel& built,
                   const Traced& traced, int64_t pad_id, const std::vector<std::string>& files,
                   models::Precision precision, const TraceOptions& opts, const TraceReport& r,
                   bool describe = true) {
  json meta;
  meta["format"] = "hfjit";
  meta["format_version"] = 1;
  meta["hfjit_version"] = version();
  meta["torch_version"] = torch_version();
  meta["source"] = {{"model", model}, {"revision", res.dir.revision}};
  meta["model_type"] = built.model_type;
  meta["task"] = built.task;
  meta["hf_class"] = built.hf_class;
  meta["batch_size"] = opts.batch_size;
  meta["max_length"] = res.max_length;
  if (describe) describe_methods(traced, built, opts.batch_size, res.max_length, meta);
  meta["pad_token_id"] = pad_id;
  meta["vocab_size"] = res.config.vocab_size;
  meta["tie_mode"] = built.load.tied.empty() ? "none" : opts.keep_tied ? "shared" : "cloned";
  meta["untied"] = r.untied;
  meta["dtype"] = r.dtype;
  meta["quantization"] = r.quantization;
  if (precision == models::Precision::Int8) meta["int8_weight_bits"] = int8_weight_bits();
  meta["dynamic"] = opts.dynamic;
  meta["optimized"] = opts.optimize;
  json labels = json::object();
  for (const auto& [id, label] : res.config.id2label) labels[std::to_string(id)] = label;
  meta["labels"] = labels;
  meta["files"] = files;
  meta["verification"] = verification_json(r, opts);
  return meta;
}

// Stage "save": the module with meta.json, config.json, the folder's files for
// `run` and the `carried` ones (name -> bytes) as extra files, written
// atomically (TorchScriptFile::save).
void save_artifact(Traced& traced, const json& meta, const Resolved& res,
                   const std::vector<std::string>& files,
                   const std::map<std::string, std::string>& carried, const std::string& output,
                   bool force, TraceReport& r, StageClock& clock) {
  clock.start();
  TorchScriptFile ts{traced.module, {}};
  ts.extra_files["hfjit/meta.json"] = meta.dump(2) + "\n";
  ts.extra_files["config.json"] = read_text_file(res.config.path);
  for (const auto& f : files)
    ts.extra_files[f] = read_text_file((fs::path(res.dir.path) / f).string());
  ts.extra_files.insert(carried.begin(), carried.end());
  for (const auto& [name, contents] : ts.extra_files) r.extra_files.push_back(name);
  std::error_code ec;
  if (fs::exists(output, ec) && !force)
    throw Error(context(output, "already exists (use --force to replace it)"));
  ts.save(output);
  r.file_bytes = fs::file_size(output);
  clock.end("save", output + " (" + std::to_string(r.file_bytes / 1000) + " kB)");
}

// ------------------------------------------------------------ text generation
// A causal LM with a static cache (the Llama family's text-generation) is
// traced as a prefill method per prompt length and one decode step, sharing
// the weights: each takes input_ids [batch, length], attention_mask [batch,
// max_length] (the cache slots holding tokens of the row), position_ids
// [batch, length], cache_position [length] (the slots written) and the cache
// [layers, 2, batch, kv_heads, max_length, head_dim], and returns the last
// position's logits [batch, vocab] and the cache, updated in place.

// The prompt lengths a generation trace prefills at: --lengths (each below the
// cache length), else powers of two from 16 up to half the cache length.
std::vector<int64_t> prefill_lengths(const TraceOptions& opts, int64_t max_length) {
  std::set<int64_t> out;
  for (int64_t l : opts.lengths) {
    if (l >= max_length)
      throw Error("--lengths " + std::to_string(l) + ": a prefill length must be below the " +
                  "cache length --max-length " + std::to_string(max_length) +
                  " (the rest is room for new tokens)");
    out.insert(l);
  }
  if (out.empty()) {
    for (int64_t l = 16; l <= max_length / 2; l *= 2) out.insert(l);
    if (out.empty()) out.insert(std::max<int64_t>(1, max_length / 2));
  }
  return {out.begin(), out.end()};
}

std::string prefill_name(int64_t length) {
  return "prefill_" + std::to_string(length);
}

// One step's inputs: `ids` [batch, length] written at slots start .. start +
// length - 1; `mask` [batch, max_length]; positions as transformers' generate
// counts them (cumsum of the mask - 1, 0 on padding).
std::vector<at::Tensor> cached_step(const at::Tensor& ids, const at::Tensor& mask, int64_t start,
                                    const at::Tensor& cache) {
  const int64_t length = ids.size(1);
  const at::Tensor positions =
      (mask.cumsum(1) - 1).masked_fill(mask == 0, 0).narrow(1, start, length).contiguous();
  return {ids, mask, positions, at::arange(start, start + length, at::kLong), cache};
}

// Whether to trace a static-cache generation artifact (--cache, else the family's default).
bool static_cache(const models::BuiltModel& built, const TraceOptions& opts) {
  const std::optional<models::CacheLayout> layout = built.module->cache_layout();
  if (opts.cache == "static" && !layout)
    throw Error("--cache static: " + built.hf_class + " (" + built.task +
                ") has no static key/value cache; causal LMs (text-generation) of GPT-2 and the "
                "Llama family have one");
  if (!layout || opts.cache == "none") return false;
  return opts.cache == "static" || layout->by_default;
}

// What a generation trace does not do (yet): one line naming the option.
void refuse_generation_options(models::Precision precision, const TraceOptions& opts) {
  const char* option = precision != models::Precision::Float32 ? "--dtype/--quantize"
                       : opts.dynamic                          ? "--dynamic"
                       : opts.optimize                         ? "--optimize"
                       : opts.for_triton                       ? "--triton"
                                                               : nullptr;
  if (option)
    throw Error(std::string(option) +
                ": text-generation of this family is traced with a static key/value cache "
                "(prefill and decode methods), in float32, for `hfjit run` and `bench`; trace "
                "without " +
                option);
}

// Stage "trace" of a generation artifact: the prefill methods and "decode".
Traced trace_generation(const models::BuiltModel& built, const Resolved& res,
                        const TraceOptions& opts, const std::vector<int64_t>& prefill,
                        DummyInputs& dummy, StageClock& clock) {
  clock.start();
  Tracer tracer(built);
  Traced traced;
  const int64_t batch = opts.batch_size, max_length = res.max_length;
  const models::CacheLayout layout = *built.module->cache_layout();
  const at::ScalarType dtype = built.module->parameters().front().scalar_type();
  auto fn = [&](const std::vector<at::Tensor>& in) { return built.forward_cached(in); };
  auto trace_step = [&](const std::string& name, int64_t length, int64_t start) {
    const at::Tensor mask = at::ones({batch, max_length}, at::kLong);
    const at::Tensor cache = at::zeros(layout.shape(batch, max_length), at::TensorOptions(dtype));
    for (const at::Tensor& o :
         tracer.add_method(name, cached_step(dummy.full(batch, length)[0], mask, start, cache),
                           models::kCachedInputNames, fn))
      traced.outputs[length].emplace_back(o.sizes().vec(), o.scalar_type());
    traced.methods[length] = name;
  };
  for (int64_t p : prefill) trace_step(prefill_name(p), p, 0);
  trace_step("decode", 1, prefill.front());
  traced.module = tracer.module();
  clock.end("trace", std::to_string(prefill.size()) + " prefill method" +
                         (prefill.size() > 1 ? "s" : "") + " and decode, batch " +
                         std::to_string(batch) + ", cache of " + std::to_string(max_length));
  return traced;
}

// Stage "verify" of a generation artifact, on fresh random prompts:
//  - each prefill method and then decode steps against the eager model's same
//    steps, rows left-padded by different amounts (as generate pads them): logits
//    and the whole cache;
//  - the cache itself: prefill then decode steps on unpadded rows against the
//    eager model without a cache, run over the whole sequence so far.
void verify_generation(const models::BuiltModel& built, Traced& traced,
                       const std::vector<int64_t>& prefill, const Resolved& res, DummyInputs& dummy,
                       const TraceOptions& opts, TraceReport& r, StageClock& clock) {
  clock.start();
  torch::NoGradGuard no_grad;
  const int64_t batch = opts.batch_size, max_length = res.max_length;
  const models::CacheLayout layout = *built.module->cache_layout();
  const at::ScalarType dtype = built.module->parameters().front().scalar_type();
  const models::Precision precision = models::Precision::Float32;
  size_t steps_checked = 0;
  auto compare = [&](const std::vector<at::Tensor>& eager, const std::vector<at::Tensor>& out,
                     const std::string& method, int64_t length, bool padded) {
    compare_with_eager(models::kCachedOutputNames, eager, out, Check{method, batch, length}, padded,
                       precision, opts.atol, r);
    ++steps_checked;
  };
  for (int64_t p : prefill) {
    const int64_t steps = std::min<int64_t>(3, max_length - p);
    for (bool padded : {true, false}) {
      std::vector<at::Tensor> prompt = padded ? dummy.padded(batch, p) : dummy.full(batch, p);
      // dummy.padded pads the tail; generate pads on the left: flip each row.
      at::Tensor ids = prompt[0].flip(1), row_mask = prompt[1].flip(1);
      at::Tensor mask = at::zeros({batch, max_length}, at::kLong);
      mask.narrow(1, 0, p).copy_(row_mask);
      at::Tensor eager_cache = at::zeros(layout.shape(batch, max_length), at::TensorOptions(dtype));
      at::Tensor traced_cache = eager_cache.clone();
      std::vector<at::Tensor> in = cached_step(ids, mask, 0, eager_cache);
      std::vector<at::Tensor> eager = built.forward_cached(in);
      in[4] = traced_cache;
      compare(eager, run_method(traced.module, prefill_name(p), in), prefill_name(p), p, padded);
      at::Tensor sequence = ids;
      for (int64_t t = 0; t < steps; ++t) {
        const int64_t slot = p + t;
        const at::Tensor next = eager[0].argmax(-1, /*keepdim=*/true);
        mask.narrow(1, slot, 1).fill_(1);
        sequence = at::cat({sequence, next}, 1);
        in = cached_step(next, mask, slot, eager_cache);
        eager = built.forward_cached(in);
        if (!padded) {  // the cache against the cache-free model over the whole sequence
          const at::Tensor full = built.forward({sequence, mask.narrow(1, 0, slot + 1)})[0];
          compare_with_eager({"logits"}, {full.select(1, -1)}, {eager[0]},
                             Check{"forward (no cache)", batch, slot + 1}, false, precision,
                             opts.atol, r);
        }
        in[4] = traced_cache;
        compare(eager, run_method(traced.module, "decode", in), "decode", 1, padded);
      }
    }
  }
  end_verify(r, clock,
             " over " + std::to_string(steps_checked) +
                 " steps (prefill and decode, left-padded and not; the cache against the model "
                 "without one)",
             opts.atol);
}

// meta.json's "generation": what `run` needs to drive the methods.
json generation_meta(const Traced& traced, const std::vector<int64_t>& prefill,
                     const models::BuiltModel& built, int64_t batch, int64_t max_length) {
  const models::CacheLayout layout = *built.module->cache_layout();
  json g;
  g["max_length"] = max_length;
  json methods = json::array();
  for (int64_t p : prefill) methods.push_back({{"name", prefill_name(p)}, {"length", p}});
  g["prefill"] = methods;
  g["decode"] = "decode";
  g["cache"] = {{"shape", layout.shape(batch, max_length)},
                {"dtype", dtype_string(traced.outputs.at(1).at(1).second)}};
  return g;
}

// meta.json of a generation artifact: "generation", and "methods", "inputs" and
// "outputs" describing the steps (inputs and outputs at the decode step's shapes).
void describe_generation(const Traced& traced, const std::vector<int64_t>& prefill,
                         const models::BuiltModel& built, int64_t batch, int64_t max_length,
                         json& meta) {
  meta["generation"] = generation_meta(traced, prefill, built, batch, max_length);
  json methods = json::array();
  for (const auto& [len, method] : traced.methods)
    methods.push_back({{"name", method}, {"length", len}});
  meta["methods"] = methods;
  const std::vector<int64_t> cache = meta["generation"]["cache"]["shape"];
  const std::vector<std::vector<int64_t>> in_shapes = {
      {batch, 1}, {batch, max_length}, {batch, 1}, {1}, cache};
  json inputs = json::array();
  for (size_t i = 0; i < models::kCachedInputNames.size(); ++i)
    inputs.push_back(
        {{"name", models::kCachedInputNames[i]},
         {"dtype", i == 4 ? meta["generation"]["cache"]["dtype"].get<std::string>() : "int64"},
         {"shape", in_shapes[i]}});
  meta["inputs"] = inputs;
  json outputs = json::array();
  const auto& out = traced.outputs.at(1);
  for (size_t i = 0; i < models::kCachedOutputNames.size() && i < out.size(); ++i)
    outputs.push_back({{"name", models::kCachedOutputNames[i]},
                       {"dtype", dtype_string(out[i].second)},
                       {"shape", out[i].first}});
  meta["outputs"] = outputs;
}

// ------------------------------------------------------------ encoder-decoders
// An encoder-decoder (MarianMT, T5) is traced as two methods sharing the
// weights, both shape-polymorphic in the batch and the source length:
//   encode(input_ids [B, S], attention_mask [B, S]) -> (cross,)
//       cross [layers, 2, B, heads, S, head_dim]: every decoder layer's
//       cross-attention keys and values, computed once per input
//   decode(decoder_input_ids [R, 1], cache_position [1], cache, cross,
//          encoder_attention_mask [R, S]) -> (logits [R, vocab], cache)
//       cache [layers, 2, R, heads, T, head_dim], updated in place at the slot
// R is the rows decoded (inputs x beams); T (--target-length) is fixed.

models::Seq2SeqModel* seq2seq_model(const models::BuiltModel& built) {
  return dynamic_cast<models::Seq2SeqModel*>(built.module.get());
}

// The decoder cache's slots: --target-length, else 128 (capped by the decoder's
// positions, Marian's sinusoidal table). Error past them.
int64_t target_length(const Resolved& res, const TraceOptions& opts) {
  const int64_t limit = position_limit(res.config);
  int64_t t = opts.target_length.value_or(128);
  if (!opts.target_length && limit > 0) t = std::min(t, limit);
  if (t < 2)
    throw Error("--target-length " + std::to_string(t) +
                ": the decoder needs at least 2 slots (the start token and one new token)");
  if (limit > 0 && t > limit)
    throw Error("--target-length " + std::to_string(t) + " exceeds the model's " +
                std::to_string(limit) + " decoder positions (max_position_embeddings)");
  return t;
}

// The options an encoder-decoder trace does not take: one line naming the option.
void refuse_seq2seq_options(models::Precision precision, const TraceOptions& opts) {
  const char* option = precision != models::Precision::Float32 ? "--dtype/--quantize"
                       : !opts.lengths.empty()                 ? "--lengths"
                       : opts.optimize                         ? "--optimize"
                       : opts.for_triton                       ? "--triton"
                       : !opts.cache.empty()                   ? "--cache"
                                                               : nullptr;
  if (option)
    throw Error(std::string(option) +
                ": an encoder-decoder is traced as an encode method and a decoder step over a "
                "static cache, shape-polymorphic in batch and source length, in float32; trace "
                "without " +
                option);
}

// A decoder step's inputs: `ids` [R, 1] at cache slot `slot`.
std::vector<at::Tensor> decoder_step(const at::Tensor& ids, int64_t slot, const at::Tensor& cache,
                                     const at::Tensor& cross, const at::Tensor& mask) {
  return {ids, at::full({1}, slot, at::kLong), cache, cross, mask};
}

std::vector<at::Tensor> eager_decode(models::Seq2SeqModel& m, const std::vector<at::Tensor>& in) {
  return m.decode({in[0], in[1], in[2], in[3], in[4]});
}

at::Tensor empty_decoder_cache(models::Seq2SeqModel& m, int64_t rows, int64_t target) {
  const models::CacheLayout l = m.decoder_cache();
  return at::zeros({l.layers, 2, rows, l.kv_heads, target, l.head_dim}, at::kFloat);
}

// Stage "trace" of an encoder-decoder: "encode" and "decode", under DynamicShapes.
Traced trace_seq2seq(const models::BuiltModel& built, const TraceOptions& opts, int64_t source,
                     int64_t target, DummyInputs& dummy, StageClock& clock) {
  clock.start();
  models::Seq2SeqModel& m = *seq2seq_model(built);
  Tracer tracer(built);
  Traced traced;
  const int64_t batch = opts.batch_size, length = std::min<int64_t>(source, 7);
  {
    models::DynamicShapes dynamic;
    const std::vector<at::Tensor> src = dummy.padded(batch, length);
    const std::vector<at::Tensor> cross = tracer.add_method(
        "encode", src, models::kEncodeInputNames, [&](const std::vector<at::Tensor>& in) {
          return std::vector<at::Tensor>{m.encode(in[0], in[1])};
        });
    traced.outputs[0].emplace_back(cross[0].sizes().vec(), cross[0].scalar_type());
    const std::vector<at::Tensor> step =
        decoder_step(dummy.full(batch, 1)[0], std::min<int64_t>(2, target - 1),
                     empty_decoder_cache(m, batch, target), cross[0], src[1]);
    for (const at::Tensor& o :
         tracer.add_method("decode", step, models::kDecodeInputNames,
                           [&](const std::vector<at::Tensor>& in) { return eager_decode(m, in); }))
      traced.outputs[1].emplace_back(o.sizes().vec(), o.scalar_type());
  }
  traced.methods = {{0, "encode"}, {1, "decode"}};
  traced.module = tracer.module();
  clock.end("trace", "encode and decode (any batch and source length up to " +
                         std::to_string(source) + "), decoder cache of " + std::to_string(target));
  return traced;
}

// Stage "verify" of an encoder-decoder, on fresh random sources at two batch
// sizes and three lengths, padded and not:
//  - encode against the eager model;
//  - greedy decoder steps over rows expanded as beams expand them (each input
//    twice): the traced step against the eager one (logits and the whole
//    cache), and the eager step against the full forward without a cache.
void verify_seq2seq(const models::BuiltModel& built, Traced& traced, int64_t source, int64_t target,
                    DummyInputs& dummy, const TraceOptions& opts, TraceReport& r,
                    StageClock& clock) {
  clock.start();
  torch::NoGradGuard no_grad;
  models::Seq2SeqModel& m = *seq2seq_model(built);
  const models::Precision precision = models::Precision::Float32;
  size_t steps_checked = 0;
  const int64_t steps = std::min<int64_t>(4, target - 1);
  for (int64_t len :
       std::set<int64_t>{source, std::max<int64_t>(2, source / 2), std::min<int64_t>(source, 5)})
    for (int64_t b : {opts.batch_size, opts.batch_size + 1})
      for (bool padded : {true, false}) {
        const std::vector<at::Tensor> src = padded ? dummy.padded(b, len) : dummy.full(b, len);
        const Check enc{"encode", b, len};
        const at::Tensor cross = m.encode(src[0], src[1]);
        compare_with_eager({"cross"}, {cross}, run_method(traced.module, "encode", src), enc,
                           padded, precision, opts.atol, r);
        const at::Tensor beams = at::arange(b, at::kLong).repeat_interleave(2);
        const at::Tensor rows_cross = cross.index_select(2, beams);
        const at::Tensor rows_mask = src[1].index_select(0, beams);
        at::Tensor eager_cache = empty_decoder_cache(m, 2 * b, target);
        at::Tensor traced_cache = eager_cache.clone();
        at::Tensor sequence = dummy.full(2 * b, 1)[0];
        for (int64_t t = 0; t < steps; ++t) {
          const at::Tensor ids = sequence.narrow(1, t, 1).contiguous();
          std::vector<at::Tensor> in = decoder_step(ids, t, eager_cache, rows_cross, rows_mask);
          const std::vector<at::Tensor> eager = eager_decode(m, in);
          const at::Tensor full =
              built.forward({src[0].index_select(0, beams), rows_mask, sequence})[0].select(1, -1);
          const Check step{"decode", 2 * b, len};
          // A different computation (the whole sequence at once): atol relative to
          // the logits' magnitude (a random opus-mt-size Marian's reach 30).
          const double scale = std::max(1.0, full.abs().max().item<double>());
          compare_with_eager({"logits (no cache)"}, {full}, {eager[0]},
                             Check{"forward (no cache)", 2 * b, len}, padded, precision,
                             opts.atol * scale, r);
          in[2] = traced_cache;
          compare_with_eager(models::kCachedOutputNames, eager,
                             run_method(traced.module, "decode", in), step, padded, precision,
                             opts.atol, r);
          ++steps_checked;
          sequence = at::cat({sequence, eager[0].argmax(-1, /*keepdim=*/true)}, 1);
        }
      }
  end_verify(r, clock,
             ": encode at 3 lengths x 2 batch sizes, " + std::to_string(steps_checked) +
                 " decoder steps (against the eager step and the model without a cache)",
             opts.atol);
}

// meta.json of an encoder-decoder: "seq2seq" (what `run` needs to drive the
// methods), and "methods", "inputs" and "outputs" at batch --batch-size and the
// longest source.
void describe_seq2seq(const Traced& traced, const models::BuiltModel& built, int64_t batch,
                      int64_t source, int64_t target, json& meta) {
  const models::CacheLayout l = seq2seq_model(built)->decoder_cache();
  json cache_meta;
  cache_meta["layers"] = l.layers;
  cache_meta["heads"] = l.kv_heads;
  cache_meta["head_dim"] = l.head_dim;
  cache_meta["dtype"] = dtype_string(traced.outputs.at(1).at(1).second);
  json s;
  s["encode"] = "encode";
  s["decode"] = "decode";
  s["max_length"] = source;
  s["target_length"] = target;
  s["cache"] = cache_meta;
  meta["seq2seq"] = s;
  meta["dynamic"] = true;
  json methods = json::array();
  methods.push_back({{"name", "encode"}, {"length", source}});
  methods.push_back({{"name", "decode"}, {"length", 1}});
  meta["methods"] = methods;
  const std::vector<int64_t> cross = {l.layers, 2, batch, l.kv_heads, source, l.head_dim};
  const std::vector<int64_t> cache = {l.layers, 2, batch, l.kv_heads, target, l.head_dim};
  json inputs = json::array();
  auto input = [&](const std::string& method, const std::string& name, const char* dtype,
                   const std::vector<int64_t>& shape) {
    inputs.push_back({{"method", method}, {"name", name}, {"dtype", dtype}, {"shape", shape}});
  };
  input("encode", "input_ids", "int64", {batch, source});
  input("encode", "attention_mask", "int64", {batch, source});
  input("decode", "decoder_input_ids", "int64", {batch, 1});
  input("decode", "cache_position", "int64", {1});
  input("decode", "cache", "float32", cache);
  input("decode", "cross", "float32", cross);
  input("decode", "encoder_attention_mask", "int64", {batch, source});
  meta["inputs"] = inputs;
  json outputs = json::array();
  auto output = [&](const std::string& method, const std::string& name,
                    const std::vector<int64_t>& shape) {
    outputs.push_back({{"method", method}, {"name", name}, {"dtype", "float32"}, {"shape", shape}});
  };
  output("encode", "cross", cross);
  output("decode", "logits", {batch, seq2seq_model(built)->vocab_size()});
  output("decode", "cache", cache);
  meta["outputs"] = outputs;
}

}  // namespace

nlohmann::json accuracy_json(const std::map<std::string, TraceReport::Accuracy>& accuracy) {
  nlohmann::json acc = nlohmann::json::object();
  for (const auto& [k, a] : accuracy) {
    acc[k] = {{"cosine", a.cosine}, {"max_abs_diff", a.max_abs_diff}};
    if (a.top1 >= 0) acc[k]["top1_agreement"] = a.top1;
  }
  return acc;
}

std::vector<std::string> artifact_files(const std::string& model_dir) {
  // What load_tokenizer reads, and more.
  std::vector<std::string> names = tokenizer_file_names();
  static const char* kOtherFiles[] = {
      // sentence-transformers
      "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
      // decoding defaults (eos_token_id) for text generation
      "generation_config.json"};
  std::vector<std::string> out;
  const fs::path dir(model_dir);
  std::error_code ec;
  names.insert(names.end(), std::begin(kOtherFiles), std::end(kOtherFiles));
  for (const std::string& f : names)
    if (fs::is_regular_file(dir / f, ec)) out.push_back(f);
  // The configuration of each sentence-transformers module (1_Pooling/config.json, ...).
  if (fs::is_regular_file(dir / "modules.json", ec)) {
    try {
      auto mods = nlohmann::json::parse(read_text_file((dir / "modules.json").string()));
      for (const auto& m : mods) {
        std::string path = m.value("path", "");
        if (path.empty() || path.find("..") != std::string::npos || path[0] == '/') continue;
        if (fs::is_regular_file(dir / path / "config.json", ec))
          out.push_back(path + "/config.json");
      }
    } catch (const std::exception&) {
      throw Error(context((dir / "modules.json").string(), "is not valid JSON"));
    }
  }
  return out;
}

TraceReport trace_model(const std::string& model, const std::string& output,
                        const TraceOptions& opts,
                        const std::function<void(const TraceStage&)>& on_stage) {
  // A fixed mmap threshold: blocks of 1 MiB and more (weights, activations)
  // go back to the system when freed. glibc's default threshold grows with
  // every large free, after which such blocks stay in the heap; the save
  // stage then held about 170 MiB more on BERT-base (docs/benchmarks.md).
  // Here, not in the CLI, so every caller of trace_model gets that peak.
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  TraceReport r;
  r.model = model;
  r.output = output;
  StageClock clock(r, on_stage);

  const models::Precision precision = check_options(output, opts);
  r.dtype = models::precision_dtype(precision);
  r.quantization = models::precision_quantization(precision);

  const Resolved res = resolve(model, output, opts, clock);
  r.lengths.assign(res.lengths.begin(), res.lengths.end());
  r.batch_size = opts.batch_size;

  models::BuiltModel built = load_and_build(res, opts, clock);
  report_model(built, r);
  const std::vector<std::string> files = artifact_files(res.dir.path);
  std::vector<std::string> listed = files;
  for (const auto& [name, bytes] : res.st.weights) listed.push_back(name);
  if (!res.st.warning.empty()) r.warnings.push_back(res.st.warning);
  if (!has_tokenizer(files))
    r.warnings.push_back(res.dir.path +
                         " has no tokenizer files; `hfjit run` will need --tokenizer DIR");

  // Dummy inputs avoid special tokens, as real text mostly does.
  DummyInputs dummy(res.config, res.dir.path, built.input_names, opts.seed);
  if (opts.target_length && !seq2seq_model(built))
    throw Error("--target-length: " + built.hf_class +
                " is not an encoder-decoder (it bounds the decoder of translation, "
                "summarization and text2text-generation models; --max-length bounds inputs)");
  if (seq2seq_model(built)) {  // encoder-decoder: encode and a decoder step
    refuse_seq2seq_options(precision, opts);
    const int64_t target = target_length(res, opts);
    DummyInputs source_dummy(res.config, res.dir.path, models::kEncodeInputNames, opts.seed);
    Traced traced = trace_seq2seq(built, opts, res.max_length, target, source_dummy, clock);
    if (opts.verify)
      verify_seq2seq(built, traced, res.max_length, target, source_dummy, opts, r, clock);
    r.input_names = models::kDecodeInputNames;
    r.output_names = models::kCachedOutputNames;
    json meta = artifact_meta(model, res, built, traced, dummy.pad_id(), listed, precision, opts, r,
                              /*describe=*/false);
    describe_seq2seq(traced, built, opts.batch_size, res.max_length, target, meta);
    save_artifact(traced, meta, res, files, res.st.weights, output, opts.force, r, clock);
    return r;
  }
  if (static_cache(built, opts)) {  // text generation with a static cache
    refuse_generation_options(precision, opts);
    const std::vector<int64_t> prefill = prefill_lengths(opts, res.max_length);
    r.lengths = prefill;
    Traced traced = trace_generation(built, res, opts, prefill, dummy, clock);
    if (opts.verify) verify_generation(built, traced, prefill, res, dummy, opts, r, clock);
    r.output_names = models::kCachedOutputNames;
    r.input_names = models::kCachedInputNames;
    json meta = artifact_meta(model, res, built, traced, dummy.pad_id(), listed, precision, opts, r,
                              /*describe=*/false);
    describe_generation(traced, prefill, built, opts.batch_size, res.max_length, meta);
    save_artifact(traced, meta, res, files, res.st.weights, output, opts.force, r, clock);
    return r;
  }
  const std::vector<Check> checks = verification_checks(res, opts);
  const Float32Reference reference =
      convert_model(built, res, precision, checks, dummy, opts.verify, clock);
  Traced traced = trace_methods(built, res, opts, dummy, clock);
  if (opts.optimize) optimize(traced, clock);
  if (opts.verify) verify(built, traced, checks, reference, dummy, precision, opts, r, clock);

  const json meta =
      artifact_meta(model, res, built, traced, dummy.pad_id(), listed, precision, opts, r);
  save_artifact(traced, meta, res, files, res.st.weights, output, opts.force, r, clock);
  return r;
}

}  // namespace hfjit
