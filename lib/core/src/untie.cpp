#include "hfjit/untie.h"

#include <ATen/ATen.h>
#include <torch/script.h>

#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <set>

#include "hfjit/checkpoint.h"
#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/io/zip.h"
#include "hfjit/torchscript_file.h"

namespace fs = std::filesystem;

namespace hfjit {

UntieReport untie_torchscript(const std::string& input, const std::string& output,
                              const UntieOptions& opts) {
  UntieReport report;
  report.input = input;
  report.output = output;
  report.kind = "torchscript";
  TorchScriptFile ts = TorchScriptFile::load(input, opts.trust);
  torch::jit::Module& module = ts.module;

  // Group every parameter and buffer by the storage it views.
  std::map<const void*, std::vector<std::pair<std::string, at::Tensor>>> by_storage;
  auto collect = [&](auto named) {
    for (const auto& item : named)
      if (item.value.defined() && item.value.numel() > 0)
        by_storage[item.value.storage().data()].emplace_back(item.name, item.value);
  };
  collect(module.named_parameters(true));
  collect(module.named_buffers(true));
  std::vector<std::pair<std::string, at::Tensor>> to_clone;
  for (auto& [ptr, members] : by_storage) {
    std::set<std::string> seen;  // a tensor reachable by two paths is listed twice
    for (size_t i = 1; i < members.size(); ++i) {
      const auto& [name, t] = members[i];
      report.untied.push_back({name, members[0].first, t.sizes().vec(),
                               dtype_name(from_scalar_type(t.scalar_type(), name)),
                               static_cast<uint64_t>(t.numel() * t.element_size()),
                               "shared storage"});
      to_clone.emplace_back(name, t);
    }
  }
  if (opts.dry_run && output.empty()) return report;
  check_untie_output(input, output, opts.force);
  if (opts.dry_run) return report;

  for (const auto& [name, t] : to_clone) {
    torch::jit::Module owner = module;
    std::string attr = name;
    for (size_t dot; (dot = attr.find('.')) != std::string::npos; attr = attr.substr(dot + 1))
      owner = owner.attr(attr.substr(0, dot)).toModule();
    owner.setattr(attr, t.clone());
  }
  ts.save(output);
  report.bytes_written = fs::file_size(output);
  report.written = true;
  return report;
}

UntieReport untie(const std::string& input, const std::string& output, const UntieOptions& opts) {
  std::error_code ec;
  if (fs::is_regular_file(input, ec)) return untie_torchscript(input, output, opts);
  return untie_folder(input, output, opts);
}

}  // namespace hfjit
