#include "hfjit/torchscript_file.h"

#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "hfjit/error.h"
#include "hfjit/io/file.h"
#include "hfjit/io/zip.h"

namespace hfjit {
namespace {

// The archive's extra files (name without "extra/" -> its zip entry), after
// checking that `file` is a TorchScript archive.
std::map<std::string, ZipEntry> extra_entries(const MappedFile& file, const std::string& path) {
  if (!looks_like_zip(file.data(), file.size()))
    throw Error(context(path, "not a TorchScript file (not a zip archive)"));
  std::map<std::string, ZipEntry> extra;
  bool has_code = false;
  for (auto& e : read_zip_directory(file.data(), file.size(), path)) {
    auto slash = e.name.find('/');
    if (slash == std::string::npos) continue;
    std::string rest = e.name.substr(slash + 1);
    if (rest == "constants.pkl" || rest.rfind("code/", 0) == 0) has_code = true;
    if (rest.rfind("extra/", 0) == 0) extra[rest.substr(6)] = std::move(e);
  }
  if (!has_code)
    throw Error(context(path,
                        "not a TorchScript file (a zip without TorchScript code; "
                        "torch.save checkpoints are not TorchScript)"));
  return extra;
}

// The first class in the archive's code that defines __setstate__, or "".
// torch::jit::load calls it on the pickled object as it unpickles, so code
// there would run before hfjit could inspect anything.
std::string class_with_setstate(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    for (const std::string& name : reader.getAllRecords()) {
      if (name.rfind("code/", 0) != 0 || !name.ends_with(".py")) continue;
      auto [data, size] = reader.getRecord(name);
      const std::string_view code(static_cast<const char*>(data.get()), size);
      const size_t def = code.find("def __setstate__(");
      if (def == std::string_view::npos) continue;
      // "code/__torch__/a/b.py" holds classes __torch__.a.b.<Name>: name the one around the def.
      std::string where = name.substr(5, name.size() - 8);
      std::replace(where.begin(), where.end(), '/', '.');
      const size_t cls = code.rfind("class ", def);
      if (cls != std::string_view::npos) {
        const size_t end = code.find_first_of("(:", cls);
        where += "." + std::string(code.substr(cls + 6, end - cls - 6));
      }
      return where;
    }
  } catch (const c10::Error&) {
    // An archive libtorch cannot read: torch::jit::load says why, below.
  }
  return "";
}

}  // namespace

std::map<std::string, std::string> TorchScriptFile::read_extra_files(const std::string& path) {
  auto file = MappedFile::open(path);
  std::map<std::string, std::string> out;
  for (const auto& [name, e] : extra_entries(*file, path)) {
    if (e.compressed)
      return load(path).extra_files;  // torch.jit.save stores them; the slow path otherwise
    out[name] = std::string(reinterpret_cast<const char*>(file->data()) + e.offset, e.size);
  }
  return out;
}

TorchScriptFile TorchScriptFile::load(const std::string& path, bool trust) {
  auto file = MappedFile::open(path);
  TorchScriptFile ts;
  for (const auto& [name, e] : extra_entries(*file, path)) ts.extra_files[name] = "";
  if (!trust) {
    const std::string cls = class_with_setstate(path);
    if (!cls.empty())
      throw Error(context(path, "its code (" + cls +
                                    ") defines __setstate__, which libtorch runs while loading; "
                                    "load it only if you trust the file (--trust)"));
  }
  torch::jit::ExtraFilesMap extra(ts.extra_files.begin(), ts.extra_files.end());
  try {
    ts.module = torch::jit::load(path, at::kCPU, extra);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw Error(context(path, "cannot load TorchScript: " + first_line(msg)));
  } catch (const std::exception& e) {
    // The TorchScript compiler's ErrorReport (an unknown operator, a syntax
    // error in the archive's code) is a std::exception of its own.
    throw Error(context(path, "cannot load TorchScript: " + first_line(e.what())));
  }
  ts.extra_files.clear();
  ts.extra_files.insert(extra.begin(), extra.end());
  return ts;
}

void TorchScriptFile::save(const std::string& path) const {
  check_writable_destination(path);
  AtomicFile out(path);
  out.close();
  torch::jit::ExtraFilesMap extra(extra_files.begin(), extra_files.end());
  try {
    // Through a stream, so the archive's top folder is "archive" (as for any
    // stream save) instead of a name derived from the temporary file's: the
    // bytes then depend only on the module, not on the temporary name.
    std::ofstream os(out.temp_path(), std::ios::binary | std::ios::trunc);
    module.save(os, extra);
    os.close();
    if (!os) throw Error(context(path, "cannot save TorchScript: write failed"));
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw Error(context(path, "cannot save TorchScript: " + first_line(msg)));
  }
  out.commit();
}

}  // namespace hfjit
