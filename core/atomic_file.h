#pragma once
// Write-then-rename: a result file either exists complete or not at all. Writers write to temp_path()
// and call commit(); a writer that dies (an exception, SIGKILL) leaves only a temp file, which nothing
// reads and the next run removes.
#include <string>

namespace vdlab {

class AtomicFile {
 public:
  explicit AtomicFile(std::string final_path);
  // With keep_extension, the temp name ends in the final path's extension ("<final>.tmp-<host>-<pid>.mp4"),
  // for writers that choose the format by the file name (OpenCV's video and image writers).
  AtomicFile(std::string final_path, bool keep_extension);
  ~AtomicFile();  // removes the temp file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& temp_path() const { return temp_; }
  const std::string& final_path() const { return final_; }
  // fsyncs the temp file, renames it over the final path and fsyncs the folder.
  void commit();

 private:
  std::string final_, temp_;
  bool committed_ = false;
};

// ".tmp-<host>-": temp files are "<final>.tmp-<host>-<pid>".
std::string temp_marker();
// Removes temp files in `dir` left by writers on this host whose process is gone.
int remove_stale_temp_files(const std::string& dir);

}  // namespace vdlab
