#include "hfjit/io/zip.h"

#include "hfjit/error.h"

namespace hfjit {
namespace {

uint64_t le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr uint64_t kMaxEntries = 1u << 20;

}  // namespace

bool looks_like_zip(const uint8_t* data, size_t size) {
  return size >= 4 && le(data, 4) == kLocalSig;
}

std::vector<ZipEntry> read_zip_directory(const uint8_t* data, size_t size,
                                         const std::string& where) {
  auto fail = [&](const std::string& what) { return Error(context(where, what)); };
  if (size < 22) throw fail("not a zip archive (too short)");
  // The end record is in the last 22 + 65535 bytes (its comment is at most 64 KiB).
  size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  size_t eocd = SIZE_MAX;
  for (size_t i = size - 22 + 1; i-- > lowest;) {
    if (le(data + i, 4) == kEndSig) {
      eocd = i;
      break;
    }
  }
  if (eocd == SIZE_MAX) throw fail("not a zip archive (no end of central directory)");
  uint64_t count = le(data + eocd + 10, 2);
  uint64_t cd_size = le(data + eocd + 12, 4);
  uint64_t cd_offset = le(data + eocd + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (eocd < 20 || le(data + eocd - 20, 4) != kEnd64LocatorSig)
      throw fail("zip64 archive without a zip64 end locator");
    uint64_t e64 = le(data + eocd - 20 + 8, 8);
    if (e64 > size || size - e64 < 56 || le(data + e64, 4) != kEnd64Sig)
      throw fail("zip64 end of central directory is out of range");
    count = le(data + e64 + 32, 8);
    cd_size = le(data + e64 + 40, 8);
    cd_offset = le(data + e64 + 48, 8);
  }
  if (count > kMaxEntries)
    throw fail("zip archive lists too many entries (" + std::to_string(count) + ")");
  if (cd_offset > size || cd_size > size - cd_offset)
    throw fail("zip central directory is out of range");

  std::vector<ZipEntry> entries;
  entries.reserve(count);
  uint64_t p = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (cd_end - p < 46 || le(data + p, 4) != kCentralSig)
      throw fail("zip central directory is corrupt");
    const uint64_t method = le(data + p + 10, 2);
    uint64_t csize = le(data + p + 20, 4);
    uint64_t usize = le(data + p + 24, 4);
    const uint64_t name_len = le(data + p + 28, 2);
    const uint64_t extra_len = le(data + p + 30, 2);
    const uint64_t comment_len = le(data + p + 32, 2);
    uint64_t local = le(data + p + 42, 4);
    if (cd_end - p - 46 < name_len + extra_len + comment_len)
      throw fail("zip central directory is corrupt");
    std::string name(reinterpret_cast<const char*>(data + p + 46), name_len);
    // ZIP64 extra field: the 64-bit values present are those whose 32-bit field is all ones.
    const uint8_t* x = data + p + 46 + name_len;
    for (uint64_t k = 0; k + 4 <= extra_len;) {
      uint64_t id = le(x + k, 2), len = le(x + k + 2, 2);
      if (k + 4 + len > extra_len) break;
      if (id == 1) {
        const uint8_t* f = x + k + 4;
        uint64_t used = 0;
        auto next = [&](uint64_t* v) {
          if (used + 8 > len) throw fail("zip64 extra field of \"" + name + "\" is truncated");
          *v = le(f + used, 8);
          used += 8;
        };
        if (usize == 0xFFFFFFFF) next(&usize);
        if (csize == 0xFFFFFFFF) next(&csize);
        if (local == 0xFFFFFFFF) next(&local);
      }
      k += 4 + len;
    }
    if (method != 0 && method != 8)
      throw fail("zip entry \"" + name + "\" uses compression method " + std::to_string(method) +
                 " (only stored and deflated entries exist in PyTorch archives)");
    if (method == 0 && csize != usize)
      throw fail("zip entry \"" + name + "\" has inconsistent sizes");
    if (local > size || size - local < 30 || le(data + local, 4) != kLocalSig)
      throw fail("zip entry \"" + name + "\" has a bad local header offset");
    uint64_t start = local + 30 + le(data + local + 26, 2) + le(data + local + 28, 2);
    if (start > size || csize > size - start)
      throw fail("zip entry \"" + name + "\" extends beyond the end of the file");
    entries.push_back({std::move(name), start, csize, method != 0});
    p += 46 + name_len + extra_len + comment_len;
  }
  return entries;
}

}  // namespace hfjit
