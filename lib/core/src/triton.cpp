#include "hfjit/triton.h"

#include <filesystem>
#include <sstream>

#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/torchscript_file.h"

namespace hfjit {
namespace fs = std::filesystem;

namespace {

// Triton's names for the artifact's dtypes (model_config.proto's DataType).
std::string triton_type(const ArtifactTensor& t, const std::string& where) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {"int64", "TYPE_INT64"},  {"int32", "TYPE_INT32"},  {"float32", "TYPE_FP32"},
      {"float16", "TYPE_FP16"}, {"float64", "TYPE_FP64"}, {"bool", "TYPE_BOOL"}};
  for (const auto& [ours, theirs] : kTypes)
    if (t.dtype == ours) return theirs;
  // bfloat16 included: the libtorch backend has no TYPE_BF16 (hfjit's bf16
  // artifacts return float32).
  throw Error(where + ": " + t.name + " is " + (t.dtype.empty() ? "of no dtype" : t.dtype) +
              ", which Triton's PyTorch backend cannot return");
}

std::string dims(const std::vector<int64_t>& d) {
  std::string s = "[ ";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + " ]";
}

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 255 || n[0] == '.') return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return false;
  return true;
}

}  // namespace

std::string triton_model_name(const TritonOptions& o, const std::string& pt) {
  return o.name.empty() ? fs::path(pt).stem().string() : o.name;
}

void check_triton_options(const TritonOptions& o, const std::string& pt) {
  const std::string name = triton_model_name(o, pt);
  if (!valid_name(name))
    throw Error("--triton-name: \"" + name +
                "\" is not a model name Triton takes as a folder (letters, digits, _ - ., not "
                "starting with .)");
  if (o.instances < 1) throw Error("--triton-instances must be at least 1");
  const fs::path dir = fs::path(o.repo) / name;
  if (fs::exists(o.repo) && !fs::is_directory(o.repo))
    throw Error("--triton: " + o.repo + " is not a folder");
  if (fs::exists(dir) && !o.force) throw Error(dir.string() + " exists; use --force to replace it");
}

std::string triton_config(const ArtifactMeta& meta, const std::string& name, int instances) {
  const std::string where = "hfjit/meta.json";
  std::ostringstream c;
  c << "# Written by hfjit for Triton's PyTorch (libtorch) backend: docs/serving.md.\n";
  c << "name: \"" << name << "\"\n";
  c << "platform: \"pytorch_libtorch\"\n";
  // Static: the traced [batch, length] in full. --dynamic: Triton batches up
  // to the traced batch size; the length varies (-1) up to max_length.
  c << "max_batch_size: " << (meta.dynamic ? meta.batch_size : 0) << "\n";
  auto shape_of = [&](const ArtifactTensor& t) {
    std::vector<int64_t> d = t.shape;
    if (d.empty()) throw Error(where + ": " + t.name + " has no shape");
    if (!meta.dynamic) return d;
    d.erase(d.begin());  // the batch dimension, Triton's
    // The sequence dimension: [batch, length, ...] outputs and the inputs.
    if (!d.empty() && d[0] == meta.max_length) d[0] = -1;
    return d;
  };
  // The backend matches inputs to forward's arguments by name and outputs
  // by <name>__<index> (their place in the tuple forward returns).
  auto entries = [&](const char* field, const std::vector<ArtifactTensor>& tensors, bool indexed) {
    c << field << " [\n";
    for (size_t i = 0; i < tensors.size(); ++i) {
      const ArtifactTensor& t = tensors[i];
      c << "  {\n    name: \"" << t.name << (indexed ? "__" + std::to_string(i) : "")
        << "\"\n    data_type: " << triton_type(t, where) << "\n    dims: " << dims(shape_of(t))
        << "\n  }" << (i + 1 < tensors.size() ? "," : "") << "\n";
    }
    c << "]\n";
  };
  entries("input", meta.inputs, false);
  entries("output", meta.outputs, true);
  if (meta.dynamic) c << "dynamic_batching { }\n";
  c << "instance_group [\n  {\n    kind: KIND_CPU\n    count: " << instances << "\n  }\n]\n";
  // INFERENCE_MODE: no autograd bookkeeping (the default from Triton 23.06;
  // said for older ones). DISABLE_OPTIMIZED_EXECUTION false: libtorch's
  // profiling executor, as `hfjit run` and `bench` use it; it costs the
  // first calls (docs/benchmarks.md) and merges int8 artifacts' repeated
  // input quantizations. ENABLE_NVFUSER false: a GPU fuser, gone from
  // Triton 23.12, ignored since.
  c << "parameters [\n";
  const std::pair<const char*, const char*> params[] = {{"INFERENCE_MODE", "true"},
                                                        {"DISABLE_OPTIMIZED_EXECUTION", "false"},
                                                        {"ENABLE_NVFUSER", "false"}};
  for (size_t i = 0; i < std::size(params); ++i)
    c << "  {\n    key: \"" << params[i].first << "\"\n    value: { string_value: \""
      << params[i].second << "\" }\n  }" << (i + 1 < std::size(params) ? "," : "") << "\n";
  c << "]\n";
  return c.str();
}

std::string write_triton_repo(const std::string& pt, const TritonOptions& o) {
  check_triton_options(o, pt);
  const std::string name = triton_model_name(o, pt);
  auto extra = TorchScriptFile::read_extra_files(pt);
  auto it = extra.find("hfjit/meta.json");
  if (it == extra.end()) throw Error(pt + ": not an hfjit artifact (no hfjit/meta.json)");
  const ArtifactMeta meta = parse_artifact_meta(it->second, pt);
  const std::string config = triton_config(meta, name, o.instances);

  fs::create_directories(o.repo);
  const fs::path dir = fs::path(o.repo) / name;
  TempDir tmp(dir.string());
  const fs::path staged(tmp.temp_path());
  fs::create_directories(staged / "1");
  write_file_atomic((staged / "config.pbtxt").string(), config);
  // The model: a hard link where the file system allows, else a copy.
  std::error_code ec;
  fs::create_hard_link(pt, staged / "1" / "model.pt", ec);
  if (ec) fs::copy_file(pt, staged / "1" / "model.pt");
  // The tokenizer and model configuration files, for clients (Triton reads
  // only config.pbtxt and the version folders).
  for (const auto& [file, contents] : extra)
    if (file.find('/') == std::string::npos) write_file_atomic((staged / file).string(), contents);
  tmp.commit(o.force);
  return dir.string();
}

}  // namespace hfjit
