// hfjit untie of a model folder: needs no libtorch, so the front-end binary
// runs it without loading libtorch (cmd/front.cpp).

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <list>
#include <nlohmann/json.hpp>
#include <set>

#include "hfjit/config.h"
#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/io/model_dir.h"
#include "hfjit/io/raw_checkpoint.h"
#include "hfjit/io/safetensors.h"
#include "hfjit/tie.h"
#include "hfjit/timing.h"
#include "hfjit/untie.h"

namespace fs = std::filesystem;

namespace hfjit {

void check_untie_output(const std::string& input, const std::string& output, bool force) {
  if (output.empty()) throw Error("no output given (-o OUT)");
  if (same_path(input, output))
    throw Error(context(output, "output is the input; choose another path"));
  std::error_code ec;
  if (fs::is_directory(input, ec)) {
    fs::path in = fs::weakly_canonical(input, ec);
    fs::path out = fs::weakly_canonical(output, ec);
    auto [a, b] = std::mismatch(in.begin(), in.end(), out.begin(), out.end());
    if (a == in.end()) throw Error(context(output, "output is inside the input folder " + input));
  }
  if (fs::exists(fs::symlink_status(output, ec)) && !force)
    throw Error(context(output, "already exists (use --force to replace it)"));
  check_writable_destination(output);
}

namespace {

void copy_tree(const fs::path& from, const fs::path& to, const std::set<std::string>& skip_top) {
  for (const auto& entry : fs::directory_iterator(from)) {
    const std::string name = entry.path().filename().string();
    if (skip_top.count(name)) continue;
    if (entry.is_directory()) {
      fs::create_directory(to / name);
      copy_tree(entry.path(), to / name, {});
    } else if (entry.is_regular_file()) {  // follows links: hub snapshots link to blobs
      fs::copy_file(entry.path(), to / name);
    }
  }
}

}  // namespace

UntieReport untie_folder(const std::string& input, const std::string& output,
                         const UntieOptions& opts) {
  const auto t0 = Clock::now();
  ModelDir dir = resolve_model(input, opts.revision);
  if (!(opts.dry_run && output.empty())) check_untie_output(dir.path, output, opts.force);
  ModelConfig config = load_config(dir.path);
  RawCheckpoint ckpt = RawCheckpoint::load(dir.path);
  std::vector<TiedGroup> groups = find_tied_groups(ckpt, config);
  spdlog::debug("loaded {} tensors ({:.1f} MB) from {} in {:.1f} ms", ckpt.tensors().size(),
                ckpt.total_bytes() / 1e6, dir.path, ms_since(t0));

  UntieReport report;
  report.input = input;
  report.output = output;
  report.kind = "folder";
  for (const TiedGroup& g : groups) {
    const RawTensor& src = ckpt.at(g.source);
    for (size_t i = 1; i < g.names.size(); ++i)
      report.untied.push_back(
          {g.names[i], g.source, src.shape, dtype_name(src.dtype), src.nbytes(), g.reason});
  }
  if (opts.dry_run) return report;

  TempDir tmp(output);
  // Every tensor as its own bytes; the missing members of tied groups take
  // their source's bytes. Contiguous tensors are copied file to file by the
  // kernel (or written straight from the mapping where it cannot).
  std::vector<TensorBytes> out;
  std::list<std::vector<uint8_t>> keep;  // contiguous copies of strided views
  auto add = [&](const std::string& name, const RawTensor& t) {
    if (t.is_contiguous()) {
      const uint64_t skip = static_cast<uint64_t>(t.offset) * dtype_size(t.dtype);
      out.push_back({name, t.dtype, t.shape, t.data(), t.nbytes(), t.file.get(),
                     t.storage_file_offset + skip});
    } else {
      const std::vector<uint8_t>& c = keep.emplace_back(contiguous_bytes(t));
      out.push_back({name, t.dtype, t.shape, c.data(), c.size()});
    }
  };
  for (const auto& [name, t] : ckpt.tensors()) add(name, t);
  for (const TiedGroup& g : groups)
    for (size_t i = 0; i < g.names.size(); ++i)
      if (!g.present[i]) add(g.names[i], ckpt.at(g.source));
  std::map<std::string, std::string> metadata = ckpt.metadata();
  metadata.emplace("format", "pt");
  const std::string weights = (fs::path(tmp.temp_path()) / "model.safetensors").string();
  const auto t1 = Clock::now();
  write_safetensors(weights, out, metadata, [](const TensorBytes& t) {
    if (t.source != nullptr) release_pages(t.data, t.nbytes);
  });
  report.bytes_written = fs::file_size(weights);
  const double write_ms = ms_since(t1);
  spdlog::debug("wrote model.safetensors ({:.1f} MB) in {:.1f} ms ({:.0f} MB/s)",
                report.bytes_written / 1e6, write_ms,
                report.bytes_written / 1e3 / std::max(write_ms, 1e-3));

  // config.json, keys kept in their order.
  auto cfg =
      nlohmann::ordered_json::parse(read_text_file((fs::path(dir.path) / "config.json").string()));
  // T5 and its kin rescale the decoder output by d_model^-0.5 only while the
  // embeddings are tied, so they keep the flag: the file still stores lm_head
  // as its own bytes, and torchscript: true makes transformers clone it.
  static const std::set<std::string> kScaledWhenTied = {"t5", "mt5", "umt5", "longt5",
                                                        "switch_transformers"};
  if (kScaledWhenTied.count(config.model_type) && config.tie_word_embeddings.value_or(true)) {
    report.notes.push_back(
        config.model_type +
        ": tie_word_embeddings kept true, since the model scales its decoder output "
        "only when tied; lm_head.weight is stored as its own tensor and "
        "torchscript: true makes transformers clone it");
  } else {
    cfg["tie_word_embeddings"] = false;
  }
  cfg["torchscript"] = true;
  write_file_atomic((fs::path(tmp.temp_path()) / "config.json").string(), cfg.dump(2) + "\n");

  std::set<std::string> skip = {"config.json", "model.safetensors"};
  for (const auto& f : ckpt.files().files) skip.insert(fs::path(f).filename().string());
  if (!ckpt.files().index.empty()) skip.insert(fs::path(ckpt.files().index).filename().string());
  copy_tree(dir.path, tmp.temp_path(), skip);
  tmp.commit(opts.force);
  report.written = true;
  return report;
}

}  // namespace hfjit
