#include "results/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "core/error.h"

namespace vdlab {

namespace fs = std::filesystem;

AtomicFile::AtomicFile(std::string final_path) : final_(std::move(final_path)) {
  // The pid keeps two writers (which must not happen, but may after a requeue) from sharing a temp name.
  temp_ = final_ + ".tmp-" + std::to_string(::getpid());
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

int remove_stale_temp_files(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos && fs::remove(entry.path(), ec)) ++removed;
  return removed;
}

}  // namespace vdlab
