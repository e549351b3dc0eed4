// hfjit bench MODEL.pt|MODEL [--batch-sizes 1,8] [--lengths 32,128] [--iterations N | --min-time S]
//             [--warmup N] [--compare] [--json | --csv] [--peak]

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "format.h"
#include "hfjit/bench.h"
#include "hfjit/error.h"
#include "linear_option.h"

namespace hfjit::cmd {
namespace {

struct BenchArgs {
  std::string model;
  BenchOptions opts;
  bool json = false;
  bool csv = false;
  bool peak = false;
};

const char* kColumns[] = {"mode",   "batch_size", "length",       "threads",
                          "min_ms", "mean_ms",    "p50_ms",       "p90_ms",
                          "p99_ms", "seqs_per_s", "tokens_per_s", "peak_rss_mb"};

nlohmann::ordered_json to_json(const BenchPoint& p) {
  return {{"mode", p.mode},
          {"batch_size", p.batch_size},
          {"length", p.length},
          {"threads", p.threads},
          {"min_ms", p.min_ms},
          {"mean_ms", p.mean_ms},
          {"p50_ms", p.p50_ms},
          {"p90_ms", p.p90_ms},
          {"p99_ms", p.p99_ms},
          {"seqs_per_s", p.seqs_per_s},
          {"tokens_per_s", p.tokens_per_s},
          {"peak_rss_mb", p.peak_rss_mb},
          {"run_batch_size", p.run_batch_size},
          {"run_length", p.run_length},
          {"iterations", p.iterations},
          {"gflop", p.gflop},
          {"gflops_per_s", p.gflops_per_s}};
}

// An encoder-decoder's point (mode seq2seq...): its first call is the encode.
bool is_seq2seq(const BenchPoint& p) {
  return p.mode.rfind("seq2seq", 0) == 0;
}

// A generation point: the whole generation's latencies and new tokens per second, then the parts.
nlohmann::ordered_json to_json_generation(const BenchPoint& p) {
  nlohmann::ordered_json j = to_json(p);
  j.erase("gflop");
  j.erase("gflops_per_s");
  j["new_tokens"] = p.new_tokens;
  j[is_seq2seq(p) ? "encode_ms" : "prefill_ms"] = p.prefill_ms;
  j["decode_ms"] = p.decode_ms;
  j["decode_ms_by_step"] = p.decode_ms_by_step;
  return j;
}

std::vector<std::string> row(const BenchPoint& p) {
  return {p.mode,
          std::to_string(p.batch_size),
          std::to_string(p.length),
          std::to_string(p.threads),
          fixed(p.min_ms, 2),
          fixed(p.mean_ms, 2),
          fixed(p.p50_ms, 2),
          fixed(p.p90_ms, 2),
          fixed(p.p99_ms, 2),
          fixed(p.seqs_per_s, 1),
          fixed(p.tokens_per_s, 0),
          fixed(p.peak_rss_mb, 0)};
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  app.add_option("model", a->model,
                 "A .pt written by hfjit trace, or a model folder / hub id (eager)");
  app.add_option("--batch-sizes", a->opts.batch_sizes,
                 "Batch sizes (default: the traced one, or 1)")
      ->delimiter(',');
  app.add_option("--lengths", a->opts.lengths,
                 "Sequence lengths (default: the traced ones, or 128)")
      ->delimiter(',');
  app.add_option("--iterations", a->opts.iterations,
                 "Timed iterations per point (default: fill --min-time)");
  app.add_option("--min-time", a->opts.min_time_s, "Seconds to time each point for (default 1)");
  app.add_option("--warmup", a->opts.warmup, "Untimed iterations first (default 3)");
  app.add_option("--new-tokens", a->opts.new_tokens,
                 "A generation or encoder-decoder artifact: new tokens per generation (default "
                 "128, or what the cache holds)");
  app.add_flag(
      "--compare", a->opts.compare,
      "Model folder: eager, traced and the levers (traced-bf16, traced-int8) side by side");
  add_linear_option(app, a->opts.linear);
  app.add_flag("--json", a->json, "One JSON object per point on stdout");
  app.add_flag("--csv", a->csv, "CSV with a header line on stdout");
  app.add_flag("--peak", a->peak, "Time a 2048^3 fp32 matmul: the machine's GFLOP/s");
  app.add_option("--revision", a->opts.revision, "Hub revision for a hub id");
  app.add_option("--seed", a->opts.seed, "Seed of the synthetic inputs");
  app.add_flag(
      "--trust", a->opts.trust,
      "Run a .pt whose code calls operators off hfjit's pure-compute list (file, process, random)");
  return [a]() {
    if (a->json && a->csv) throw Error("--json and --csv are exclusive");
    if (a->model.empty() && !a->peak)
      throw Error("bench needs a model (a .pt or a folder), or --peak");
    double peak = 0;
    if (a->peak) {
      peak = peak_gflops();
      if (a->json)
        std::printf(
            "%s\n",
            nlohmann::ordered_json({{"mode", "peak"}, {"gflops_per_s", peak}}).dump().c_str());
      else if (!a->csv)
        std::printf("peak: %.1f GFLOP/s (fp32 2048x2048x2048 matmul)\n", peak);
      if (a->model.empty()) return 0;
    }
    const bool tty = ::isatty(2);
    if (a->csv) {
      std::string header;
      for (const char* c : kColumns) header += (header.empty() ? "" : ",") + std::string(c);
      std::printf("%s\n", header.c_str());
    }
    std::vector<BenchPoint> points = run_bench(
        a->model, a->opts,
        [&](const BenchPoint& p) {
          if (tty) std::fprintf(stderr, "\r\033[K");
          if (a->json) {
            std::printf("%s\n", (p.new_tokens ? to_json_generation(p) : to_json(p)).dump().c_str());
          } else if (a->csv) {
            auto r = row(p);
            std::string line;
            for (const auto& c : r) line += (line.empty() ? "" : ",") + c;
            std::printf("%s\n", line.c_str());
          }
          std::fflush(stdout);
        },
        [&](int done, int total, const std::string& label) {
          if (!tty) return;
          if (total > 0)
            std::fprintf(stderr, "\r\033[K%s  %d/%d", label.c_str(), done, total);
          else
            std::fprintf(stderr, "\r\033[K%s  %d iterations", label.c_str(), done);
        });
    if (!a->json && !a->csv) {
      Table t(std::vector<std::string>(std::begin(kColumns), std::end(kColumns)));
      for (const auto& p : points) t.add(row(p));
      std::printf("%s", t.render().c_str());
      for (const auto& p : points) {
        if (p.new_tokens) {
          std::printf(
              "%s b%lld l%lld: %lld new tokens: %s %.2f ms, decode %.2f ms/token "
              "(p50), %.1f new tokens/s\n",
              p.mode.c_str(), static_cast<long long>(p.batch_size),
              static_cast<long long>(p.length), static_cast<long long>(p.new_tokens),
              is_seq2seq(p) ? "encode" : "prefill", p.prefill_ms, p.decode_ms, p.tokens_per_s);
          continue;
        }
        std::printf(
            "%s b%lld l%lld: ~%.3g GFLOP per call, %.3g GFLOP/s at p50%s\n", p.mode.c_str(),
            static_cast<long long>(p.batch_size), static_cast<long long>(p.length), p.gflop,
            p.gflops_per_s,
            peak > 0 ? (" (" + fixed(100 * p.gflops_per_s / peak, 0) + "% of peak)").c_str() : "");
      }
    }
    return 0;
  };
}

}  // namespace hfjit::cmd
