#pragma once
// A reader for the uncompressed ("stored") zip archives that torch.save and
// torch.jit.save write, over bytes in memory (usually a mapping). ZIP64 is
// understood. Compressed entries are listed but flagged: callers that need
// their bytes (tensor records) refuse them.

#include <cstdint>
#include <string>
#include <vector>

namespace hfjit {

struct ZipEntry {
  std::string name;
  uint64_t offset = 0;      // of the entry's data in the archive
  uint64_t size = 0;        // stored bytes
  bool compressed = false;  // torch.jit.save deflates its code; tensor records are never compressed
};

// Parses the central directory; every entry's data is checked to lie inside
// `size`. Throws Error naming `where`. Needs no libtorch; fuzzable.
std::vector<ZipEntry> read_zip_directory(const uint8_t* data, size_t size,
                                         const std::string& where);

// True when the bytes start like a zip archive (local file header signature).
bool looks_like_zip(const uint8_t* data, size_t size);

}  // namespace hfjit
