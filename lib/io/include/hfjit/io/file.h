#pragma once
// Files: a read-only memory mapping, whole-file reads, and atomic writes
// (write to a temporary file in the destination folder, then rename, so a
// failure never leaves a half-written output and never touches an input).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hfjit {

// A private (copy-on-write) memory mapping of a whole file: writes to the
// memory never reach the file.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Opens the mapped file again for reading, or returns -1 when the path no
  // longer names the file that was mapped (replaced since) or cannot be opened.
  int reopen() const;
  // Tells the kernel a byte range will not be needed soon (drops it from RSS).
  void release(size_t offset, size_t length) const;

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size, uint64_t dev, uint64_t ino)
      : path_(std::move(path)), data_(data), size_(size), dev_(dev), ino_(ino) {}
  std::string path_;
  const uint8_t* data_;
  size_t size_;
  uint64_t dev_;
  uint64_t ino_;
};

std::string read_text_file(const std::string& path);

// Drops the whole pages inside [data, data + size) of a private file mapping
// from memory; they are read again from the file if touched. Only for pages
// nobody wrote to.
void release_pages(const void* data, size_t size);

// Writes a folder atomically: create() makes "<parent>/.<name>.tmp-XXXXXX";
// commit() renames it to `path` (replacing an existing `path` when asked).
// Destroying an uncommitted TempDir removes the temporary folder.
class TempDir {
 public:
  explicit TempDir(const std::string& path);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& temp_path() const { return temp_; }
  void commit(bool replace_existing);

 private:
  std::string path_;
  std::string temp_;
  bool committed_ = false;
};

// Writes a file atomically: open() creates "<dir>/.<name>.tmp-XXXXXX";
// commit() flushes and renames it over `path`. Destroying an uncommitted
// AtomicFile removes the temporary file.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // Appends `size` bytes of another file from `offset`, copied inside the
  // kernel (copy_file_range: no pages mapped or copied through user space).
  // Returns false, having written nothing, when the kernel cannot copy
  // between these two files (then write() the bytes instead).
  bool copy_from(int source_fd, uint64_t offset, uint64_t size);
  // Overwrites bytes already written (a header patched once the sizes are known).
  void write_at(uint64_t offset, const void* data, size_t size);
  uint64_t bytes_written() const { return written_; }
  const std::string& temp_path() const { return temp_; }
  // Closes the file without renaming, for writers that need a path (they
  // write temp_path() themselves); commit() still renames it into place.
  void close();
  void commit();

 private:
  std::string path_;
  std::string temp_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, std::string_view contents);

// Same file or folder (after resolving links), for "output equals input" checks.
bool same_path(const std::string& a, const std::string& b);

// The folder a path lives in must exist and be writable; otherwise an Error
// naming it. Call before doing expensive work.
void check_writable_destination(const std::string& path);

}  // namespace hfjit
