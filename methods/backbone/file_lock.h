#pragma once
// An exclusive advisory lock on a file (flock): two processes that need the same checkpoint do not both
// train it. The kernel releases the lock when its holder exits, killed or not, so a stale lock file never
// blocks anyone.
#include <string>

namespace vdlab {

class FileLock {
 public:
  // Opens (creating) `path`. Does not lock yet.
  explicit FileLock(std::string path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  bool try_lock();
  // Blocks until the lock is held; logs once that it waits for `what` when another process holds it.
  void lock(const std::string& what);
  void unlock();
  bool locked() const { return locked_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool locked_ = false;
};

}  // namespace vdlab
