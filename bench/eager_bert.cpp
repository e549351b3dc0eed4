// eager_bert: times the native BertModel (eager C++ forward, no trace) on a
// model folder, for scripts/bench/bench_eager.py to compare with transformers.
//
//   eager_bert MODEL_DIR REFERENCE.safetensors [THREADS] [ITERATIONS] [WARMUP]
//
// REFERENCE holds input_ids, attention_mask, token_type_ids and transformers'
// last_hidden_state and pooler_output for them. Prints one JSON line: the
// per-forward times in milliseconds (median, min, max) and the largest
// absolute difference from the reference outputs.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "hfjit/checkpoint.h"
#include "hfjit/config.h"
#include "hfjit/error.h"
#include "hfjit/models/registry.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: eager_bert MODEL_DIR REFERENCE.safetensors [THREADS] [ITERATIONS] "
                 "[WARMUP]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int threads = argc > 3 ? std::stoi(argv[3]) : 2;
  const int iterations = argc > 4 ? std::stoi(argv[4]) : 20;
  const int warmup = argc > 5 ? std::stoi(argv[5]) : 5;
  try {
    at::set_num_threads(threads);
    const hfjit::Checkpoint ref = hfjit::Checkpoint::load_file(argv[2]);
    const hfjit::models::BuiltModel model = hfjit::models::build_model(
        hfjit::load_config(dir), hfjit::Checkpoint::load(dir), "feature-extraction");
    std::vector<at::Tensor> inputs;
    for (const auto& name : model.input_names) inputs.push_back(ref.at(name).clone());

    c10::InferenceMode guard;
    std::vector<at::Tensor> outputs;
    for (int i = 0; i < warmup; ++i) outputs = model.forward(inputs);
    std::vector<double> ms;
    for (int i = 0; i < iterations; ++i) {
      const auto start = std::chrono::steady_clock::now();
      outputs = model.forward(inputs);
      const auto end = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    }
    std::sort(ms.begin(), ms.end());
    double diff = 0;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const at::Tensor& want = ref.at(model.output_names[i]);
      diff = std::max(diff, (outputs[i] - want).abs().max().item<double>());
    }
    std::printf(
        "{\"median_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f, \"iterations\": %d, "
        "\"threads\": %d, \"max_abs_diff\": %.3g}\n",
        ms[ms.size() / 2], ms.front(), ms.back(), iterations, at::get_num_threads(), diff);
  } catch (const hfjit::Error& e) {
    std::fprintf(stderr, "eager_bert: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
