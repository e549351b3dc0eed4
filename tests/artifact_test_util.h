#pragma once
// Helpers the libtorch test suites share (test_generation.cpp, test_seq2seq.cpp):
// inline, so that the sanitizer job's unity build sees one definition.

#include <ATen/ATen.h>
#include <torch/script.h>

#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "hfjit/io/artifact_meta.h"
#include "hfjit/run/runner.h"

namespace hfjit::test {

// A JSON list of equal-length integer lists as an int64 [rows, columns] tensor.
inline at::Tensor int_matrix(const nlohmann::json& rows) {
  std::vector<int64_t> flat;
  for (const auto& r : rows)
    for (const auto& v : r) flat.push_back(v.get<int64_t>());
  return at::tensor(flat, at::kLong).view({static_cast<int64_t>(rows.size()), -1});
}

// The parsed hfjit/meta.json of a .pt.
inline ArtifactMeta artifact_meta_of(const std::string& pt) {
  std::unordered_map<std::string, std::string> extra{{"hfjit/meta.json", ""}};
  torch::jit::load(pt, c10::nullopt, extra);
  return parse_artifact_meta(extra["hfjit/meta.json"], pt);
}

// Each text of a JSON list as run's input, named by its text.
inline std::vector<RunInput> run_inputs(const nlohmann::json& texts) {
  std::vector<RunInput> in;
  for (const auto& t : texts)
    in.push_back(RunInput{t.get<std::string>(), std::nullopt, std::nullopt, t.get<std::string>()});
  return in;
}

}  // namespace hfjit::test
