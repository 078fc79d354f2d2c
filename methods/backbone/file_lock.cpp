#include "methods/backbone/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/log.h"

namespace vdlab {

FileLock::FileLock(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError(path_ + ": cannot open lock file: " + std::strerror(errno));
}

FileLock::~FileLock() {
  if (fd_ >= 0) {
    if (locked_) ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

bool FileLock::try_lock() {
  if (locked_) return true;
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
    locked_ = true;
    return true;
  }
  if (errno != EWOULDBLOCK) throw IoError(path_ + ": cannot lock: " + std::strerror(errno));
  return false;
}

void FileLock::lock(const std::string& what) {
  if (try_lock()) return;
  log_info("waiting for another process " + what + " (lock " + path_ + ")");
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) throw IoError(path_ + ": cannot lock: " + std::strerror(errno));
  }
  locked_ = true;
}

void FileLock::unlock() {
  if (!locked_) return;
  ::flock(fd_, LOCK_UN);
  locked_ = false;
}

}  // namespace vdlab
