// hfjit trace MODEL -o OUT.pt [--task T] [--max-length N] [--batch-size B] [--lengths L,...]
//             [--keep-tied] [--atol X] [--no-verify] [--force] [--json] [--revision R] [--seed S]
//             [--triton REPO [--triton-name NAME] [--triton-instances N]]

#include <spdlog/spdlog.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "format.h"
#include "hfjit/error.h"
#include "hfjit/trace.h"
#include "hfjit/triton.h"

namespace hfjit::cmd {
namespace {

struct TraceArgs {
  std::string model;
  std::string output;
  int64_t max_length = 0;
  bool no_verify = false;
  bool json = false;
  TraceOptions opts;
  TritonOptions triton;  // triton.repo empty: no repository
};

void print_json(const TraceReport& r, const std::string& triton_dir) {
  nlohmann::ordered_json j;
  j["model"] = r.model;
  j["output"] = r.output;
  j["model_type"] = r.model_type;
  j["task"] = r.task;
  j["class"] = r.hf_class;
  j["batch_size"] = r.batch_size;
  j["lengths"] = r.lengths;
  j["inputs"] = r.input_names;
  j["outputs"] = r.output_names;
  j["verified"] = r.verified;
  j["max_abs_diff"] = r.max_abs_diff;
  j["dtype"] = r.dtype;
  j["quantization"] = r.quantization;
  if (!r.accuracy.empty()) j["against_float32"] = accuracy_json(r.accuracy);
  j["untied"] = r.untied;
  j["file_bytes"] = r.file_bytes;
  j["extra_files"] = r.extra_files;
  nlohmann::ordered_json stages = nlohmann::ordered_json::object();
  for (const auto& s : r.stages) stages[s.name] = s.ms;
  j["stage_ms"] = stages;
  j["warnings"] = r.warnings;
  if (!triton_dir.empty()) j["triton"] = triton_dir;
  std::printf("%s\n", j.dump().c_str());
}

}  // namespace

Command add_trace(CLI::App& app) {
  auto a = std::make_shared<TraceArgs>();
  app.add_option("model", a->model, "Model folder or cached hub id")->required();
  app.add_option("-o,--output", a->output, "The .pt file to write")->required();
  app.add_option("--task", a->opts.task,
                 "Task (default: from config.json's architectures): feature-extraction, fill-mask, "
                 "text-classification, token-classification, question-answering, text-generation, "
                 "translation, summarization, text2text-generation");
  app.add_option("--max-length", a->max_length,
                 "Sequence length to trace at (default 128, capped by the model)");
  app.add_option("--batch-size", a->opts.batch_size, "Batch size to trace at (default 1)");
  app.add_option("--target-length", a->opts.target_length,
                 "Encoder-decoders: decoder cache slots, the start token and the new tokens "
                 "(default 128, capped by the model); --max-length bounds the source");
  app.add_option(
         "--lengths", a->opts.lengths,
         "Also trace these lengths as methods forward_<L> sharing the weights (e.g. 16,32,64)")
      ->delimiter(',');
  app.add_flag("--keep-tied", a->opts.keep_tied,
               "Keep tied weights as one shared tensor instead of clones");
  app.add_option("--cache", a->opts.cache,
                 "text-generation: static (prefill and decode methods over a static key/value "
                 "cache; the Llama family's default) or none (the full forward; GPT-2's default)");
  app.add_flag("--dynamic", a->opts.dynamic,
               "One shape-polymorphic trace: any batch size and length up to --max-length");
  app.add_flag("--optimize", a->opts.optimize,
               "Freeze and optimize for inference (verified like the rest)");
  app.add_option("--dtype", a->opts.dtype,
                 "float32 (default) or bfloat16: weights and compute in bf16, outputs float32");
  app.add_flag("--allow-slow-bf16", a->opts.allow_slow_bf16,
               "bfloat16 on a CPU without native bf16 (AVX512-BF16, AMX-BF16): trace it anyway");
  app.add_option("--quantize", a->opts.quantize,
                 "none (default) or int8: dynamic int8 quantization of the Linear layers");
  app.add_option(
      "--min-cosine", a->opts.min_cosine,
      "bf16/int8: fail unless every output's cosine to float32 is at least this (default 0.99)");
  app.add_option("--atol", a->opts.atol, "Verification tolerance (default 1e-5)");
  app.add_flag("--no-verify", a->no_verify, "Skip comparing the trace with the eager model");
  app.add_flag("--force", a->opts.force, "Replace the output if it exists");
  app.add_flag("--json", a->json, "Print a JSON summary on stdout");
  app.add_option("--revision", a->opts.revision, "Hub revision (branch or commit) for a hub id");
  app.add_option("--seed", a->opts.seed, "Seed of the dummy and verification inputs (default 0)");
  app.add_option("--triton", a->triton.repo,
                 "Also write a Triton model repository entry REPO/<name> (docs/serving.md)");
  app.add_option(
      "--triton-name", a->triton.name,
      "The model's name in the repository (default: the output's file name without .pt)");
  app.add_option("--triton-instances", a->triton.instances,
                 "Model instances on the CPU (instance_group count, default 1)");
  CLI::App* self = &app;
  return [a, self]() {
    if (self->count("--max-length")) a->opts.max_length = a->max_length;
    a->opts.verify = !a->no_verify;
    for (const char* o : {"--triton-name", "--triton-instances"})
      if (self->count(o) && a->triton.repo.empty())
        throw Error(std::string(o) + " needs --triton REPO");
    a->triton.force = a->opts.force;
    a->opts.for_triton = !a->triton.repo.empty();
    if (!a->triton.repo.empty()) check_triton_options(a->triton, a->output);  // before any work
    TraceReport r = trace_model(a->model, a->output, a->opts, [](const TraceStage& s) {
      spdlog::info("{:<8} {:>9.1f} ms  {}", s.name, s.ms, s.detail);
    });
    for (const auto& w : r.warnings) spdlog::warn("{}", w);
    std::string triton_dir;
    if (!a->triton.repo.empty()) triton_dir = write_triton_repo(a->output, a->triton);
    if (a->json) {
      print_json(r, triton_dir);
    } else {
      std::string lengths;
      for (int64_t l : r.lengths) lengths += (lengths.empty() ? "" : ",") + std::to_string(l);
      std::printf("traced %s (%s, %s) at batch %lld x length %s -> %s (%s)%s\n", r.hf_class.c_str(),
                  r.model_type.c_str(), r.task.c_str(), static_cast<long long>(r.batch_size),
                  lengths.c_str(), r.output.c_str(), human_bytes(r.file_bytes).c_str(),
                  r.verified ? ", verified" : ", NOT verified");
      for (const auto& [name, acc] : r.accuracy)
        std::printf(
            "  %s vs float32: cosine %s, max abs diff %s%s\n", name.c_str(),
            fixed(acc.cosine, 6).c_str(), fixed(acc.max_abs_diff, 4).c_str(),
            acc.top1 >= 0 ? (", top-1 agreement " + fixed(100 * acc.top1, 1) + "%").c_str() : "");
      if (!triton_dir.empty())
        std::printf("Triton model repository entry: %s (config.pbtxt, 1/model.pt)\n",
                    triton_dir.c_str());
    }
    return 0;
  };
}

}  // namespace hfjit::cmd
