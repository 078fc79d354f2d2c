#include "core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace vdlab {

namespace fs = std::filesystem;

AtomicFile::AtomicFile(std::string final_path) : AtomicFile(std::move(final_path), false) {}

AtomicFile::AtomicFile(std::string final_path, bool keep_extension) : final_(std::move(final_path)) {
  // Host and pid keep two writers (which must not happen, but may after a requeue) from sharing a temp
  // name, and let a later run tell a dead writer's leftovers from a live writer's file.
  temp_ = final_ + temp_marker() + std::to_string(::getpid());
  if (keep_extension) temp_ += fs::path(final_).extension().string();
  const fs::path parent = fs::path(final_).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
}

AtomicFile::~AtomicFile() {
  if (!committed_) std::remove(temp_.c_str());
}

namespace {
void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

void AtomicFile::commit() {
  fsync_path(temp_, O_RDONLY);
  if (std::rename(temp_.c_str(), final_.c_str()) != 0) throw IoError(final_ + ": cannot rename temp file into place");
  committed_ = true;
  const fs::path parent = fs::path(final_).parent_path();
  fsync_path(parent.empty() ? "." : parent.string(), O_RDONLY | O_DIRECTORY);
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

}  // namespace vdlab
