#include "hfjit/io/model_dir.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "hfjit/error.h"
#include "hfjit/io/file.h"

namespace fs = std::filesystem;

namespace hfjit {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

bool looks_like_hub_id(const std::string& s) {
  // "name" or "org/name": no leading '/', '.', no "..", at most one '/'.
  if (s.empty() || s[0] == '/' || s[0] == '.' || s.find("..") != std::string::npos) return false;
  if (std::count(s.begin(), s.end(), '/') > 1) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == '/'))
      return false;
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

bool is_commit_hash(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::vector<std::string> hub_cache_dirs() {
  std::vector<std::string> out;
  if (auto v = env("HF_HUB_CACHE"); !v.empty()) out.push_back(v);
  if (auto v = env("HF_HOME"); !v.empty()) out.push_back((fs::path(v) / "hub").string());
  if (auto v = env("HOME"); !v.empty())
    out.push_back((fs::path(v) / ".cache" / "huggingface" / "hub").string());
  return out;
}

ModelDir resolve_model(const std::string& model, const std::string& revision) {
  if (model.empty()) throw Error("model: empty name");
  std::error_code ec;
  if (fs::is_directory(model, ec)) {
    if (!revision.empty())
      throw Error(context(model, "--revision applies to hub ids, not to a local folder"));
    if (!is_file(fs::path(model) / "config.json"))
      throw Error(context(model, "not a model folder (no config.json)"));
    return {model, model, ""};
  }
  if (fs::exists(model, ec))
    throw Error(context(model, "is a file, expected a model folder or a hub id"));
  if (!looks_like_hub_id(model))
    throw Error(context(model, "no such folder, and not a hub id (expected org/name)"));

  const std::string rev = revision.empty() ? "main" : revision;
  std::string repo = "models--";
  for (char c : model) repo += c == '/' ? std::string("--") : std::string(1, c);
  std::vector<std::string> looked;
  for (const std::string& cache : hub_cache_dirs()) {
    fs::path root = fs::path(cache) / repo;
    looked.push_back(root.string());
    if (!fs::is_directory(root, ec)) continue;
    std::string commit = rev;
    if (!is_commit_hash(rev)) {
      fs::path ref = root / "refs" / rev;
      if (!is_file(ref)) continue;
      commit = trim(read_text_file(ref.string()));
      if (!is_commit_hash(commit))
        throw Error(context(ref.string(), "does not hold a commit hash"));
    }
    fs::path snap = root / "snapshots" / commit;
    if (fs::is_directory(snap, ec) && is_file(snap / "config.json"))
      return {snap.string(), model, commit};
  }
  std::string where;
  for (const auto& l : looked) where += (where.empty() ? "" : ", ") + l;
  if (looked.empty()) where = "no cache folder (set HF_HUB_CACHE or HF_HOME)";
  throw Error(context(model, "not a local folder and not in the Hugging Face cache at revision " +
                                 rev + " (looked in " + where + "); hfjit never downloads"));
}

WeightFiles find_weights(const std::string& dir) {
  const fs::path d(dir);
  WeightFiles w;
  struct Candidate {
    const char* single;
    const char* index;
    WeightFormat format;
  };
  const Candidate candidates[] = {
      {"model.safetensors", "model.safetensors.index.json", WeightFormat::Safetensors},
      {"pytorch_model.bin", "pytorch_model.bin.index.json", WeightFormat::PytorchBin}};
  for (const auto& c : candidates) {
    w.format = c.format;
    if (is_file(d / c.single)) {
      w.files = {(d / c.single).string()};
      return w;
    }
    if (!is_file(d / c.index)) continue;
    w.index = (d / c.index).string();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_text_file(w.index));
    } catch (const nlohmann::json::exception& e) {
      throw Error(context(w.index, "is not valid JSON"));
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error(context(w.index, "has no \"weight_map\" object"));
    std::set<std::string> seen;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string())
        throw Error(context(w.index, "weight_map entry \"" + it.key() + "\" is not a file name"));
      const std::string shard = it.value().get<std::string>();
      fs::path sp(shard);
      bool escapes = sp.is_absolute() || shard.empty();
      for (const auto& part : sp) escapes = escapes || part == "..";
      if (escapes)
        throw Error(context(w.index, "shard \"" + shard + "\" is outside the model folder"));
      if (seen.insert(shard).second) {
        if (!is_file(d / sp)) throw Error(context(w.index, "shard \"" + shard + "\" is missing"));
        w.files.push_back((d / sp).string());
      }
    }
    if (w.files.empty()) throw Error(context(w.index, "lists no shards"));
    std::sort(w.files.begin(), w.files.end());
    return w;
  }
  throw Error(context(dir,
                      "no weights found (looked for model.safetensors, "
                      "model.safetensors.index.json, pytorch_model.bin, "
                      "pytorch_model.bin.index.json)"));
}

}  // namespace hfjit
