#include "hfjit/io/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hfjit/error.h"

namespace fs = std::filesystem;

namespace hfjit {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(context(path, "cannot open: " + errno_text()));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string e = errno_text();
    ::close(fd);
    throw Error(context(path, "cannot stat: " + e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(context(path, "not a regular file"));
  }
  size_t size = static_cast<size_t>(st.st_size);
  const uint8_t* data = nullptr;
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      std::string e = errno_text();
      ::close(fd);
      throw Error(context(path, "cannot map: " + e));
    }
    data = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return std::shared_ptr<MappedFile>(new MappedFile(
      path, data, size, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)));
}

int MappedFile::reopen() const {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_dev) != dev_ ||
      static_cast<uint64_t>(st.st_ino) != ino_ || static_cast<size_t>(st.st_size) != size_) {
    ::close(fd);
    return -1;
  }
  return fd;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::release(size_t offset, size_t length) const {
  if (data_ == nullptr || offset >= size_) return;
  release_pages(data_ + offset, std::min(length, size_ - offset));
}

void release_pages(const void* data, size_t size) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

TempDir::TempDir(const std::string& path) : path_(path) {
  fs::path p(path);
  while (!p.empty() && p.filename().empty()) p = p.parent_path();  // "out/" -> "out"
  path_ = p.string();
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::string tmpl = (dir / ("." + p.filename().string() + ".tmp-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      throw Error(context(path, "output folder " + dir.string() + " does not exist"));
    throw Error(context(path, "cannot create output: " + errno_text()));
  }
  ::chmod(tmpl.c_str(), 0755);
  temp_ = tmpl;
}

TempDir::~TempDir() {
  if (!committed_ && !temp_.empty()) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
}

void TempDir::commit(bool replace_existing) {
  std::error_code ec;
  std::string old;
  if (fs::exists(fs::symlink_status(path_, ec))) {
    if (!replace_existing) throw Error(context(path_, "already exists"));
    old = temp_ + ".old";
    if (::rename(path_.c_str(), old.c_str()) != 0)
      throw Error(context(path_, "cannot move the existing output aside: " + errno_text()));
  }
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    std::string e = errno_text();
    if (!old.empty()) ::rename(old.c_str(), path_.c_str());
    throw Error(context(path_, "cannot rename into place: " + e));
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
}

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(context(path, "is a folder, expected a file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(context(path, "cannot open: " + errno_text()));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(context(path, "read failed"));
  return ss.str();
}

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::string tmpl = (dir / ("." + p.filename().string() + ".tmp-XXXXXX")).string();
  fd_ = ::mkstemp(tmpl.data());
  if (fd_ < 0) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw Error(context(path, "output folder does not exist"));
    throw Error(context(path, "cannot write: " + errno_text()));
  }
  ::fchmod(fd_, 0644);
  temp_ = tmpl;
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(context(path_, "write failed: " + errno_text()));
    }
    p += n;
    size -= static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
}

bool AtomicFile::copy_from(int source_fd, uint64_t offset, uint64_t size) {
  auto in = static_cast<loff_t>(offset);
  uint64_t copied = 0;
  while (copied < size) {
    ssize_t n = ::copy_file_range(source_fd, &in, fd_, nullptr, size - copied, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Nothing copied yet: let the caller write the bytes (another file
      // system, a kernel without it, a special file).
      if (copied == 0 && (n == 0 || errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                          errno == EOPNOTSUPP || errno == EBADF))
        return false;
      throw Error(context(path_, n == 0 ? "copy ended early (the input file shrank?)"
                                        : "write failed: " + errno_text()));
    }
    copied += static_cast<uint64_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
  return true;
}

void AtomicFile::write_at(uint64_t offset, const void* data, size_t size) {
  if (offset + size > written_)
    throw Error(context(path_, "write_at past the end of what was written"));
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::pwrite(fd_, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(context(path_, "write failed: " + errno_text()));
    }
    p += n;
    offset += static_cast<uint64_t>(n);
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::close() {
  if (fd_ < 0) return;
  if (::fsync(fd_) != 0) throw Error(context(path_, "fsync failed: " + errno_text()));
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) throw Error(context(path_, "close failed: " + errno_text()));
}

void AtomicFile::commit() {
  close();
  if (::rename(temp_.c_str(), path_.c_str()) != 0)
    throw Error(context(path_, "cannot rename into place: " + errno_text()));
  committed_ = true;
}

void write_file_atomic(const std::string& path, std::string_view contents) {
  AtomicFile f(path);
  f.write(contents);
  f.commit();
}

bool same_path(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (!fs::exists(a, ec) || !fs::exists(b, ec)) {
    return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
  }
  return fs::equivalent(a, b, ec);
}

void check_writable_destination(const std::string& path) {
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(context(path, "output folder " + dir.string() + " does not exist"));
  // Try it: permission bits do not stop root, read-only mounts and sysfs do.
  std::string probe = (dir / ".hfjit-probe-XXXXXX").string();
  int fd = ::mkstemp(probe.data());
  if (fd < 0)
    throw Error(
        context(path, "output folder " + dir.string() + " is not writable (" + errno_text() + ")"));
  ::close(fd);
  ::unlink(probe.c_str());
}
}  // namespace hfjit
