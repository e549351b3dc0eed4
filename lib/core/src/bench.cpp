#include "hfjit/bench.h"

#include <spdlog/spdlog.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "hfjit/checkpoint.h"
#include "hfjit/cpu_kernels.h"
#include "hfjit/error.h"
#include "hfjit/families.h"
#include "hfjit/graph_check.h"
#include "hfjit/io/artifact_meta.h"
#include "hfjit/io/model_dir.h"
#include "hfjit/models/convert.h"
#include "hfjit/timing.h"
#include "hfjit/torchscript_file.h"
#include "hfjit/tracer.h"

namespace fs = std::filesystem;

namespace hfjit {
namespace {

// FLOPs of one forward of a transformer encoder/decoder stack, estimated from
// its shape: 2 x (weights of the matrices applied per token) x tokens, plus
// the attention products (QK^T and AV: 4 x length^2 x hidden per layer).
struct FlopModel {
  double matrix_params = 0;  // parameters of 2-D weights outside the embeddings
  int64_t layers = 0;
  int64_t hidden = 0;
  double gflop(int64_t batch, int64_t length) const {
    double tokens = static_cast<double>(batch * length);
    double attn =
        4.0 * static_cast<double>(layers) * static_cast<double>(length) * length * hidden * batch;
    return (2.0 * matrix_params * tokens + attn) / 1e9;
  }
};

template <typename Named>
FlopModel flop_model(const Named& params, int64_t layers, int64_t hidden) {
  FlopModel f;
  f.layers = layers;
  f.hidden = hidden;
  for (const auto& p : params) {
    const std::string& name = p.first;
    const at::Tensor& t = p.second;
    if (t.dim() != 2) continue;
    if (is_embedding_table(name)) continue;  // lookups, not matmuls (the family table's embeddings)
    f.matrix_params += static_cast<double>(t.numel());
  }
  return f;
}

// Runs `fn` warm-up times, then until `iterations` or `min_time_s` (at least 5 runs).
std::vector<double> time_calls(const std::function<void()>& fn, const BenchOptions& o,
                               const std::function<void(int, int)>& progress) {
  for (int i = 0; i < o.warmup; ++i) fn();
  std::vector<double> ms;
  const auto start = Clock::now();
  const int target = o.iterations > 0 ? o.iterations : 5;
  while (true) {
    auto t = Clock::now();
    fn();
    ms.push_back(ms_since(t));
    const int n = static_cast<int>(ms.size());
    if (progress) progress(n, o.iterations > 0 ? o.iterations : 0);
    if (o.iterations > 0) {
      if (n >= o.iterations) break;
    } else if (n >= target && ms_since(start) >= o.min_time_s * 1000) {
      break;
    }
  }
  return ms;
}

BenchPoint make_point(const std::string& mode, int64_t batch, int64_t length, int64_t run_batch,
                      int64_t run_length, std::vector<double> ms, const FlopModel& flops) {
  BenchPoint p;
  p.mode = mode;
  p.batch_size = batch;
  p.length = length;
  p.run_batch_size = run_batch;
  p.run_length = run_length;
  p.threads = at::get_num_threads();
  p.iterations = static_cast<int>(ms.size());
  LatencyStats s = latency_stats(std::move(ms));
  p.min_ms = s.min;
  p.mean_ms = s.mean;
  p.p50_ms = s.p50;
  p.p90_ms = s.p90;
  p.p99_ms = s.p99;
  p.seqs_per_s = batch * 1000.0 / s.p50;
  p.tokens_per_s = batch * length * 1000.0 / s.p50;
  p.peak_rss_mb = peak_rss_mb();
  p.gflop = flops.gflop(run_batch, run_length);  // what each call computes, padding included
  p.gflops_per_s = p.gflop * 1000.0 / s.p50;
  return p;
}

void check_positive(const std::vector<int64_t>& v, const char* what) {
  for (int64_t x : v)
    if (x <= 0)
      throw Error(std::string(what) + " must be positive (got " + std::to_string(x) + ")");
}

// The vocabulary a plain TorchScript file's ids must stay under: its
// config.json's vocab_size, else the rows of its smallest token-embedding
// table, else 2.
int64_t plain_vocab_size(const TorchScriptFile& ts) {
  auto it = ts.extra_files.find("config.json");
  if (it != ts.extra_files.end()) {
    auto cfg = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    if (cfg.is_object() && cfg.contains("vocab_size") && cfg["vocab_size"].is_number_integer() &&
        cfg["vocab_size"].get<int64_t>() > 1)
      return cfg["vocab_size"].get<int64_t>();
  }
  int64_t vocab = 0;
  for (const auto& p : ts.module.named_parameters(true)) {
    const std::string& n = p.name;
    // The family table's embedding tables, or any other "*embedding.weight".
    const bool table = is_embedding_table(n) || n.ends_with("embed_tokens.weight") ||
                       n.ends_with("embedding.weight");
    if (table && p.value.dim() == 2 && p.value.size(0) > 1 &&
        (vocab == 0 || p.value.size(0) < vocab))
      vocab = p.value.size(0);
  }
  return vocab > 1 ? vocab : 2;
}

// A TorchScript file hfjit did not write (Python's torch.jit.trace or
// script): its forward's argument names say which inputs to make; the shape
// is what the user asks (default 1 x 128), run as it is.
std::vector<BenchPoint> bench_plain(
    const std::string& path, TorchScriptFile& ts, const BenchOptions& o,
    const std::function<void(const BenchPoint&)>& on_point,
    const std::function<void(int, int, const std::string&)>& on_progress) {
  auto forward = ts.module.find_method("forward");
  if (!forward) throw Error(context(path, "has no forward method"));
  std::vector<std::string> names;
  for (const auto& a : forward->function().getSchema().arguments()) {
    if (a.name() == "self") continue;
    if (a.name() != "input_ids" && a.name() != "attention_mask" && a.name() != "token_type_ids")
      throw Error(
          context(path, "forward takes an input '" + a.name() + "' that hfjit bench cannot make"));
    names.push_back(a.name());
  }
  if (names.empty())
    throw Error(context(path, "forward takes no inputs that hfjit bench can make"));
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (const auto& p : ts.module.named_parameters(true)) params.emplace_back(p.name, p.value);
  const FlopModel flops = flop_model(params, 0, 0);
  DummyInputs dummy(names, plain_vocab_size(ts), 0, o.seed);
  const std::vector<int64_t> batches =
      o.batch_sizes.empty() ? std::vector<int64_t>{1} : o.batch_sizes;
  const std::vector<int64_t> lengths = o.lengths.empty() ? std::vector<int64_t>{128} : o.lengths;
  std::vector<BenchPoint> out;
  torch::NoGradGuard no_grad;
  for (int64_t b : batches) {
    for (int64_t len : lengths) {
      std::vector<c10::IValue> in;
      for (auto& t : dummy.full(b, len)) in.emplace_back(t);
      try {
        (*forward)(in);  // a shape the trace cannot take fails here, once, with libtorch's reason
      } catch (const c10::Error& e) {
        throw Error(context(
            path,
            "forward failed on a [" + std::to_string(b) + ", " + std::to_string(len) +
                "] batch: " + first_line(e.what_without_backtrace()) +
                " (a fixed-shape trace runs only at its traced --batch-sizes and --lengths)"));
      }
      const std::string label = "torchscript b" + std::to_string(b) + " l" + std::to_string(len);
      auto ms = time_calls([&] { (*forward)(in); }, o,
                           [&](int i, int n) {
                             if (on_progress) on_progress(i, n, label);
                           });
      out.push_back(make_point("torchscript", b, len, b, len, std::move(ms), flops));
      if (on_point) on_point(out.back());
    }
  }
  return out;
}

// The parts of whole generations as they are timed: the first call (a prefill
// or an encode) and each decode step, recorded on every run, warm-up included.
struct GenerationParts {
  std::vector<double> first_ms, step_ms;
  std::vector<std::vector<double>> by_step;  // [decode step][run]
  explicit GenerationParts(int64_t steps)
      : by_step(static_cast<size_t>(std::max<int64_t>(steps, 0))) {}
  void step(size_t s, double ms) {
    step_ms.push_back(ms);
    by_step[s].push_back(ms);
  }
  // The timed runs' parts (the last `timed`) into `point`, which counts
  // `batch` rows and `new_tokens` tokens a generation.
  void fill(BenchPoint& point, size_t timed, int64_t batch, int64_t new_tokens) {
    auto keep_last = [timed](std::vector<double>& v, size_t per_run) {
      v.erase(v.begin(), v.end() - static_cast<std::ptrdiff_t>(timed * per_run));
    };
    keep_last(first_ms, 1);
    keep_last(step_ms, by_step.size());
    point.new_tokens = new_tokens;
    point.tokens_per_s = batch * new_tokens * 1000.0 / point.p50_ms;
    point.seqs_per_s = batch * 1000.0 / point.p50_ms;
    point.prefill_ms = latency_stats(first_ms).p50;
    point.decode_ms = step_ms.empty() ? 0 : latency_stats(step_ms).p50;
    for (auto& v : by_step) {
      keep_last(v, 1);
      point.decode_ms_by_step.push_back(latency_stats(v).p50);
    }
  }
};

// Times `generate` (at least one warm-up) as `label`, and the point of mode
// `mode` with its parts.
BenchPoint time_generations(const std::function<void()>& generate, GenerationParts& parts,
                            const std::string& mode, int64_t batch, int64_t length,
                            int64_t run_length, int64_t new_tokens, const BenchOptions& o,
                            const std::function<void(int, int, const std::string&)>& on_progress) {
  const std::string label = mode + " b" + std::to_string(batch) + " l" + std::to_string(length);
  BenchOptions once = o;
  once.warmup = std::max(o.warmup, 1);
  auto ms = time_calls(generate, once, [&](int i, int n) {
    if (on_progress) on_progress(i, n, label);
  });
  const size_t timed = ms.size();
  BenchPoint point = make_point(mode, batch, length, batch, run_length, std::move(ms), FlopModel{});
  parts.fill(point, timed, batch, new_tokens);
  return point;
}

// The methods an artifact's metadata lists, present in its module.
void require_methods(const std::string& path, TorchScriptFile& ts,
                     const std::vector<std::string>& names) {
  for (const std::string& name : names)
    if (!ts.module.find_method(name))
      throw Error(context(path, "has no method '" + name + "' that its metadata lists"));
}

// A generation artifact: whole greedy generations (prefill, then decode steps
// into the static cache) at each prompt length; also the prefill alone, each
// decode step, and each step's position (a flat series is the point of a static cache).
std::vector<BenchPoint> bench_generation(
    const std::string& path, TorchScriptFile& ts, const ArtifactMeta& meta, const BenchOptions& o,
    const std::function<void(const BenchPoint&)>& on_point,
    const std::function<void(int, int, const std::string&)>& on_progress) {
  const ArtifactGeneration& g = *meta.generation;
  const int64_t batch = meta.batch_size, max_length = g.max_length;
  for (int64_t b : o.batch_sizes)
    if (b != batch)
      throw Error(context(path, "a generation artifact runs at its traced batch size " +
                                    std::to_string(batch) + ", not " + std::to_string(b)));
  std::vector<std::string> methods{g.decode};
  for (const auto& m : g.prefill) methods.push_back(m.name);
  require_methods(path, ts, methods);
  std::vector<int64_t> lengths = o.lengths;
  if (lengths.empty())
    for (const auto& m : g.prefill) lengths.push_back(m.length);
  DummyInputs dummy({"input_ids"}, std::max<int64_t>(meta.vocab_size, 2),
                    meta.pad_token_id.value_or(0), o.seed);
  const at::ScalarType dtype = cache_scalar_type(g.cache_dtype);
  const CpuKernels k = select_cpu_kernels(ts.module, generation_linear(o.linear), batch);
  spdlog::debug("{}: Linear kernels: {}", path, describe(k));
  const std::string mode = k.linears > 0 ? "generate-onednn" : "generate";
  std::vector<BenchPoint> out;
  torch::NoGradGuard no_grad;
  for (int64_t len : lengths) {
    // As run takes a prompt: the smallest prefill that holds it, else chunks of the longest.
    const PrefillPlan plan = plan_prefill(g, len);
    const int64_t p = plan.slots, chunk = plan.method->length;
    if (p > max_length)
      throw Error("length " + std::to_string(len) + " takes " + std::to_string(p) +
                  " slots in prefill chunks of " + std::to_string(chunk) +
                  ", more than the cache of " + std::to_string(max_length) + " of " + path);
    const int64_t fits = max_length - p + 1;  // the first from the prefill, one per free slot
    if (o.new_tokens > fits)
      throw Error("--new-tokens " + std::to_string(o.new_tokens) + " does not fit the cache of " +
                  path + " after a prefill of " + std::to_string(p) + " (at most " +
                  std::to_string(fits) + ")");
    const int64_t new_tokens = o.new_tokens > 0 ? o.new_tokens : std::min<int64_t>(128, fits);
    const at::Tensor ids = dummy.full(batch, p)[0];
    at::Tensor mask = at::zeros({batch, max_length}, at::kLong);
    const at::Tensor prompt_mask = mask.narrow(1, p - len, len);
    const at::Tensor positions =
        at::arange(0, p, at::kLong).sub(p - len).clamp_min(0).expand({batch, p}).contiguous();
    at::Tensor cache = at::zeros(g.cache_shape, at::TensorOptions(dtype));
    GenerationParts parts(new_tokens - 1);
    auto generate = [&] {
      mask.zero_();
      prompt_mask.fill_(1);
      auto t = Clock::now();
      at::Tensor logits;
      for (int64_t start = 0; start < p; start += chunk)
        logits = run_method(ts.module, plan.method->name,
                            {ids.narrow(1, start, chunk).contiguous(), mask,
                             positions.narrow(1, start, chunk).contiguous(),
                             at::arange(start, start + chunk, at::kLong), cache})[0];
      parts.first_ms.push_back(ms_since(t));
      at::Tensor position = at::full({batch, 1}, len - 1, at::kLong);
      for (int64_t s = 0; s + 1 < new_tokens; ++s) {
        t = Clock::now();
        const at::Tensor next = logits.argmax(-1, true);
        mask.narrow(1, p + s, 1).fill_(1);
        position = position + 1;
        logits = run_method(ts.module, g.decode,
                            {next, mask, position, at::full({1}, p + s, at::kLong), cache})[0];
        parts.step(static_cast<size_t>(s), ms_since(t));
      }
      logits.argmax(-1);
    };
    out.push_back(
        time_generations(generate, parts, mode, batch, len, p, new_tokens, o, on_progress));
    if (on_point) on_point(out.back());
  }
  return out;
}

// An encoder-decoder artifact: whole greedy generations at each batch size and
// source length (random ids, no eos: every generation makes all its tokens):
// the encode call, then one decode step per new token into the decoder's cache.
std::vector<BenchPoint> bench_seq2seq(
    const std::string& path, TorchScriptFile& ts, const ArtifactMeta& meta, const BenchOptions& o,
    const std::function<void(const BenchPoint&)>& on_point,
    const std::function<void(int, int, const std::string&)>& on_progress) {
  const ArtifactSeq2Seq& a = *meta.seq2seq;
  require_methods(path, ts, {a.encode, a.decode});
  const std::vector<int64_t> batches =
      o.batch_sizes.empty() ? std::vector<int64_t>{meta.batch_size} : o.batch_sizes;
  const std::vector<int64_t> lengths =
      o.lengths.empty() ? std::vector<int64_t>{a.max_length} : o.lengths;
  for (int64_t len : lengths)
    if (len > a.max_length)
      throw Error(context(path, "takes sources up to " + std::to_string(a.max_length) +
                                    " tokens, not " + std::to_string(len) +
                                    " (trace it with a larger --max-length)"));
  // Slot 0 holds the decoder's start token, each step's token the next slot.
  if (o.new_tokens > a.target_length)
    throw Error("--new-tokens " + std::to_string(o.new_tokens) + " exceeds the " +
                std::to_string(a.target_length) + " decoder slots of " + path +
                " (trace it with a larger --target-length)");
  const int64_t new_tokens =
      o.new_tokens > 0 ? o.new_tokens : std::min<int64_t>(128, a.target_length);
  const int64_t pad = meta.pad_token_id.value_or(0);
  DummyInputs dummy({"input_ids"}, std::max<int64_t>(meta.vocab_size, 2), pad, o.seed);
  const at::ScalarType dtype = cache_scalar_type(a.cache_dtype);
  // As run: the decoder step multiplies batch rows (greedy, one beam).
  const CpuKernels k = select_cpu_kernels(ts.module, o.linear, batches.front());
  spdlog::debug("{}: Linear kernels: {}", path, describe(k));
  const std::string mode = k.linears > 0 ? "seq2seq-onednn" : "seq2seq";
  std::vector<BenchPoint> out;
  torch::NoGradGuard no_grad;
  for (int64_t batch : batches)
    for (int64_t len : lengths) {
      const at::Tensor ids = dummy.full(batch, len)[0];
      const at::Tensor mask = at::ones({batch, len}, at::kLong);
      at::Tensor cache =
          at::zeros({a.layers, 2, batch, a.heads, a.target_length, a.head_dim}, dtype);
      GenerationParts parts(new_tokens);
      auto generate = [&] {
        auto t = Clock::now();
        const at::Tensor cross = run_method(ts.module, a.encode, {ids, mask})[0];
        parts.first_ms.push_back(ms_since(t));
        at::Tensor next = at::full({batch, 1}, pad, at::kLong);
        for (int64_t s = 0; s < new_tokens; ++s) {
          t = Clock::now();
          const at::Tensor logits = run_method(
              ts.module, a.decode, {next, at::full({1}, s, at::kLong), cache, cross, mask})[0];
          next = logits.argmax(-1, true);
          parts.step(static_cast<size_t>(s), ms_since(t));
        }
      };
      out.push_back(
          time_generations(generate, parts, mode, batch, len, len, new_tokens, o, on_progress));
      if (on_point) on_point(out.back());
    }
  return out;
}

// A model folder of an encoder-decoder: bench times its trace.
[[noreturn]] void refuse_seq2seq_folder(const std::string& where, const std::string& what) {
  throw Error(context(where, "is an encoder-decoder (" + what +
                                 "): hfjit bench times its trace; run `hfjit trace " + where +
                                 " -o model.pt`, then `hfjit bench model.pt`"));
}

std::vector<BenchPoint> bench_artifact(
    const std::string& path, const BenchOptions& o,
    const std::function<void(const BenchPoint&)>& on_point,
    const std::function<void(int, int, const std::string&)>& on_progress) {
  TorchScriptFile ts = TorchScriptFile::load(path, o.trust);
  if (!o.trust) check_pure_compute(ts.module, path);
  auto it = ts.extra_files.find("hfjit/meta.json");
  if (it == ts.extra_files.end()) return bench_plain(path, ts, o, on_point, on_progress);
  const ArtifactMeta meta = parse_artifact_meta(it->second, path);
  if (!meta.hfjit) throw Error(context(path, "hfjit/meta.json does not say \"format\": \"hfjit\""));
  if (meta.generation) return bench_generation(path, ts, meta, o, on_point, on_progress);
  if (meta.seq2seq) return bench_seq2seq(path, ts, meta, o, on_point, on_progress);
  const int64_t traced_batch = meta.batch_size;
  // "traced", or "traced-bf16" / "traced-int8" for the levers' artifacts.
  std::string mode = "traced";
  if (meta.dtype == "bfloat16") mode += "-bf16";
  if (meta.quantization != "none") mode += "-int8";
  warn_int8_weight_bits(meta.int8_weight_bits, path);
  {
    int64_t longest = 0;
    for (const auto& m : meta.methods) longest = std::max(longest, m.length);
    const CpuKernels k = select_cpu_kernels(ts.module, o.linear, traced_batch * longest);
    spdlog::debug("{}: Linear kernels: {}", path, describe(k));
    if (k.linears > 0) mode += "-onednn";
  }
  std::map<int64_t, std::string> methods;
  for (const auto& m : meta.methods) methods[m.length] = m.name;
  if (methods.empty()) throw Error(context(path, "hfjit/meta.json lists no traced methods"));
  for (const auto& [len, name] : methods)
    if (!ts.module.find_method(name))
      throw Error(context(path, "has no method '" + name + "' that its metadata lists"));
  const std::vector<std::string>& names = meta.input_names;
  for (const std::string& name : names)
    if (name != "input_ids" && name != "attention_mask" && name != "token_type_ids")
      throw Error(
          context(path, "forward takes an input '" + name + "' that hfjit bench cannot make"));
  nlohmann::json cfg = nlohmann::json::object();
  if (ts.extra_files.count("config.json")) {
    cfg = nlohmann::json::parse(ts.extra_files["config.json"], nullptr, /*allow_exceptions=*/false);
    if (!cfg.is_object()) throw Error(context(path, "config.json is not a JSON object"));
  }
  // Only for the FLOP estimate: a missing or odd field counts as unknown (0).
  auto int_field = [&](std::initializer_list<const char*> keys) -> int64_t {
    for (const char* k : keys)
      if (cfg.contains(k) && cfg[k].is_number_integer()) return cfg[k].get<int64_t>();
    return 0;
  };
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (const auto& p : ts.module.named_parameters(true)) params.emplace_back(p.name, p.value);
  // --quantize int8 keeps a Linear's weight as the buffer "weight_int8".
  for (const auto& b : ts.module.named_buffers(true))
    if (b.name.ends_with("weight_int8")) params.emplace_back(b.name, b.value);
  int64_t layers = int_field({"num_hidden_layers", "n_layer", "n_layers"});
  int64_t hidden = int_field({"hidden_size", "n_embd", "dim"});
  FlopModel flops = flop_model(params, layers, hidden);
  DummyInputs dummy(names, std::max<int64_t>(meta.vocab_size, 2), meta.pad_token_id.value_or(0),
                    o.seed);

  std::vector<int64_t> batches =
      o.batch_sizes.empty() ? std::vector<int64_t>{traced_batch} : o.batch_sizes;
  std::vector<int64_t> lengths = o.lengths;
  if (lengths.empty())
    for (const auto& [len, name] : methods) lengths.push_back(len);
  std::vector<BenchPoint> out;
  torch::NoGradGuard no_grad;
  for (int64_t b : batches) {
    // A --dynamic artifact takes any batch size; a static one pads to its own.
    if (!meta.dynamic && b > traced_batch)
      throw Error("batch size " + std::to_string(b) + " exceeds the traced batch size " +
                  std::to_string(traced_batch) + " of " + path + " (trace with --batch-size)");
    for (int64_t len : lengths) {
      auto m = methods.lower_bound(len);
      if (m == methods.end())
        throw Error("length " + std::to_string(len) + " exceeds the longest traced length " +
                    std::to_string(methods.rbegin()->first) + " of " + path);
      // A static trace runs at its traced shape: b real rows padded to the
      // traced batch, the length padded to the method's. A --dynamic one
      // (a single shape-polymorphic forward) runs at exactly b x len.
      const int64_t run_batch = meta.dynamic ? b : traced_batch;
      const int64_t run_length = meta.dynamic ? len : m->first;
      std::vector<at::Tensor> in = dummy.full(run_batch, run_length);
      std::string label = mode + " b" + std::to_string(b) + " l" + std::to_string(len);
      auto ms = time_calls([&] { run_method(ts.module, m->second, in); }, o,
                           [&](int i, int n) {
                             if (on_progress) on_progress(i, n, label);
                           });
      out.push_back(make_point(mode, b, len, run_batch, run_length, std::move(ms), flops));
      if (on_point) on_point(out.back());
    }
  }
  return out;
}

std::vector<BenchPoint> bench_folder(
    const std::string& model, const BenchOptions& o,
    const std::function<void(const BenchPoint&)>& on_point,
    const std::function<void(int, int, const std::string&)>& on_progress) {
  ModelDir dir = resolve_model(model, o.revision);
  ModelConfig config = load_config(dir.path);
  // --compare also times the speed levers (trace --dtype bfloat16, --quantize
  // int8), each converted from its own copy of the weights.
  struct Variant {
    std::string mode;
    models::BuiltModel built;
  };
  const std::vector<std::string> inputs = models::input_names(config.model_type);
  if (std::find(inputs.begin(), inputs.end(), "decoder_input_ids") != inputs.end())
    refuse_seq2seq_folder(dir.path, config.model_type);
  std::vector<Variant> variants;
  models::BuiltModel built = [&] {
    Checkpoint ckpt = Checkpoint::load(dir.path);
    if (o.compare)
      for (models::Precision p : {models::Precision::BFloat16, models::Precision::Int8}) {
        // bf16 without native bf16 is what trace refuses: many times slower, not a lever.
        if (p == models::Precision::BFloat16 && !cpu_has_native_bf16()) continue;
        models::BuiltModel v = models::build_model(config, ckpt);
        v.module->eval();
        models::convert(*v.module, p);
        variants.push_back({std::string("traced-") + models::precision_label(p), std::move(v)});
      }
    return models::build_model(config, ckpt);
  }();
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (const auto& p : built.module->named_parameters(true))
    params.emplace_back(p.key(), p.value());
  FlopModel flops = flop_model(params, config.num_hidden_layers, config.hidden_size);
  DummyInputs dummy(config, dir.path, built.input_names, o.seed);
  std::vector<int64_t> batches = o.batch_sizes.empty() ? std::vector<int64_t>{1} : o.batch_sizes;
  std::vector<int64_t> lengths = o.lengths.empty() ? std::vector<int64_t>{128} : o.lengths;
  std::vector<BenchPoint> out;
  torch::NoGradGuard no_grad;
  for (int64_t b : batches) {
    for (int64_t len : lengths) {
      if (config.max_position_embeddings > 0 && len > config.max_position_embeddings)
        throw Error("length " + std::to_string(len) + " exceeds the model's " +
                    std::to_string(config.max_position_embeddings) + " positions");
      std::vector<at::Tensor> in = dummy.full(b, len);
      std::string label = "eager b" + std::to_string(b) + " l" + std::to_string(len);
      auto progress = [&](int i, int n) {
        if (on_progress) on_progress(i, n, label);
      };
      auto ms = time_calls([&] { built.forward(in); }, o, progress);
      out.push_back(make_point("eager", b, len, b, len, std::move(ms), flops));
      if (on_point) on_point(out.back());
      if (o.compare) {
        Tracer tracer(built);
        tracer.add_method("forward", in);
        label = "traced b" + std::to_string(b) + " l" + std::to_string(len);
        auto tms = time_calls([&] { run_method(tracer.module(), "forward", in); }, o, progress);
        out.push_back(make_point("traced", b, len, b, len, std::move(tms), flops));
        if (on_point) on_point(out.back());
        // The same trace on oneDNN's Linear kernels (what run and a .pt's bench use by default).
        Tracer ot(built);
        ot.add_method("forward", in);
        torch::jit::Module onednn = ot.module();
        if (select_cpu_kernels(onednn, LinearKernel::Auto, b * len).linears > 0) {
          label = "traced-onednn b" + std::to_string(b) + " l" + std::to_string(len);
          auto oms = time_calls([&] { run_method(onednn, "forward", in); }, o, progress);
          out.push_back(make_point("traced-onednn", b, len, b, len, std::move(oms), flops));
          if (on_point) on_point(out.back());
        }
        for (auto& v : variants) {
          Tracer vt(v.built);
          vt.add_method("forward", in);
          // As run and a .pt's bench run it: int8 on hfjit's fused Linear.
          torch::jit::Module vm = vt.module();
          select_cpu_kernels(vm, o.linear, b * len);
          label = v.mode + " b" + std::to_string(b) + " l" + std::to_string(len);
          auto vms = time_calls([&] { run_method(vm, "forward", in); }, o, progress);
          out.push_back(make_point(v.mode, b, len, b, len, std::move(vms), flops));
          if (on_point) on_point(out.back());
        }
      }
    }
  }
  return out;
}

}  // namespace

LatencyStats latency_stats(std::vector<double> ms) {
  LatencyStats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  auto rank = [&](double q) {
    size_t k = static_cast<size_t>(std::ceil(q * static_cast<double>(ms.size())));
    return ms[std::min(ms.size() - 1, k == 0 ? 0 : k - 1)];
  };
  s.min = ms.front();
  s.mean = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  s.p50 = rank(0.5);
  s.p90 = rank(0.9);
  s.p99 = rank(0.99);
  return s;
}

double peak_rss_mb() {
  struct rusage u {};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double peak_gflops(int64_t n, double min_time_s) {
  torch::NoGradGuard no_grad;
  at::Tensor a = at::randn({n, n}), b = at::randn({n, n}), c = at::empty({n, n});
  at::mm_out(c, a, b);  // warm-up
  std::vector<double> ms;
  const auto start = Clock::now();
  while (ms.size() < 3 || ms_since(start) < min_time_s * 1000) {
    auto t = Clock::now();
    at::mm_out(c, a, b);
    ms.push_back(ms_since(t));
  }
  double best = *std::min_element(ms.begin(), ms.end());
  return 2.0 * static_cast<double>(n) * n * n / (best / 1000.0) / 1e9;
}

std::vector<BenchPoint> run_bench(
    const std::string& model, const BenchOptions& opts,
    const std::function<void(const BenchPoint&)>& on_point,
    const std::function<void(int, int, const std::string&)>& on_progress) {
  check_positive(opts.batch_sizes, "--batch-sizes");
  check_positive(opts.lengths, "--lengths");
  if (opts.new_tokens < 0) throw Error("--new-tokens must be positive");
  if (opts.iterations < 0) throw Error("--iterations must not be negative");
  if (!(opts.min_time_s >= 0)) throw Error("--min-time must not be negative");
  hold_freed_memory();
  std::error_code ec;
  if (fs::is_regular_file(model, ec)) {
    if (opts.compare)
      throw Error(
          "--compare needs a model folder or hub id (eager and traced from the same weights)");
    return bench_artifact(model, opts, on_point, on_progress);
  }
  return bench_folder(model, opts, on_point, on_progress);
}

}  // namespace hfjit
