// libFuzzer: a whole torch.save zip: the directory, then its data.pkl through
// the unpickler, then each tensor's storage record looked up and bounded, as
// Checkpoint::load does before it makes any view.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "hfjit/error.h"
#include "hfjit/io/pickle.h"
#include "hfjit/io/zip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    if (!hfjit::looks_like_zip(data, size)) return 0;
    std::map<std::string, hfjit::ZipEntry> entries;
    for (const auto& e : hfjit::read_zip_directory(data, size, "fuzz.bin")) {
      if (e.offset + e.size > size) __builtin_trap();  // the reader promises this
      entries[e.name] = e;
    }
    for (const auto& [name, e] : entries) {
      if (name.size() < 9 || name.compare(name.size() - 9, 9, "/data.pkl") != 0 || e.compressed)
        continue;
      const std::string prefix = name.substr(0, name.size() - 8);
      for (const auto& t : hfjit::unpickle_state_dict(data + e.offset, e.size, name)) {
        auto rec = entries.find(prefix + "data/" + t.storage_key);
        if (rec == entries.end()) continue;
        (void)rec->second.size;
      }
    }
  } catch (const hfjit::Error&) {
  }
  return 0;
}
