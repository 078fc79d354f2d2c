#include "core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace vdlab {

namespace fs = std::filesystem;

std::string with_system_reason(const std::string& what, int error_number) {
  return what + " (" + std::strerror(error_number) + ")";
}

namespace {

void create_folder(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(dir.string() + ": cannot create folder (" + ec.message() + ")");
}

}  // namespace

AtomicFile::AtomicFile(std::string final_path) : AtomicFile(std::move(final_path), false) {}

AtomicFile::AtomicFile(std::string final_path, bool keep_extension) : final_(std::move(final_path)) {
  // Host and pid keep two writers (which must not happen, but may after a requeue) from sharing a temp
  // name, and let a later run tell a dead writer's leftovers from a live writer's file.
  temp_ = final_ + temp_marker() + std::to_string(::getpid());
  if (keep_extension) temp_ += fs::path(final_).extension().string();
  const fs::path parent = fs::path(final_).parent_path();
  if (!parent.empty()) create_folder(parent);
}

AtomicFile::~AtomicFile() {
  if (!committed_) std::remove(temp_.c_str());
}

void AtomicFile::commit() {
  // The data must be on the disk before the name points at it: a file system that defers allocation
  // reports a full disk (or an I/O error) only here, and a rename before that would put a file whose
  // blocks never arrive under the final name.
  const int fd = ::open(temp_.c_str(), O_RDONLY);
  if (fd < 0) {
    if (errno == ENOENT) throw IoError(final_ + ": cannot write (its temp file " + temp_ + " was never created)");
    throw IoError(with_system_reason(final_ + ": cannot write", errno));
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    throw IoError(with_system_reason(final_ + ": cannot write", err));
  }
  ::close(fd);
  if (std::rename(temp_.c_str(), final_.c_str()) != 0)
    throw IoError(with_system_reason(final_ + ": cannot rename the temp file into place", errno));
  committed_ = true;
  const fs::path parent = fs::path(final_).parent_path();
  const int dir = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);  // the rename is done; a folder that cannot be synced loses nothing already written
    ::close(dir);
  }
}

void write_file_atomically(const std::string& path, const std::string& text) {
  AtomicFile out(path);
  const int fd = ::open(out.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw IoError(with_system_reason(path + ": cannot write", errno));
  std::size_t written = 0;
  int err = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    written += std::size_t(n);
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) throw IoError(with_system_reason(path + ": cannot write", err));
  out.commit();
}

void check_writable_dir(const std::string& dir) {
  create_folder(dir);
  // Named like a temp file, so a probe left by a killed process is removed as one.
  const std::string probe = (fs::path(dir) / ".writable").string() + temp_marker() + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw IoError(with_system_reason(dir + ": cannot write here", errno));
  ::close(fd);
  std::remove(probe.c_str());
}

std::string temp_marker() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return std::string(".tmp-") + host + "-";
}

int remove_stale_temp_files(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  const std::string marker = temp_marker();
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto at = name.find(marker);
    if (at == std::string::npos) continue;  // another host's writer: not ours to judge
    const pid_t pid = pid_t(std::atol(name.c_str() + at + marker.size()));
    const bool alive = pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
    if (!alive && fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

int remove_stale_temp_files_below(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int removed = remove_stale_temp_files(dir);
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) removed += remove_stale_temp_files(it->path().string());
  return removed;
}

}  // namespace vdlab
