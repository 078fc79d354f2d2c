#pragma once
// Write-then-rename: a result file either exists complete or not at all. Writers write to temp_path()
// and call commit(); a writer that dies (an exception, SIGKILL) leaves only a temp file, which nothing
// reads and the next run removes. A write that fails (a full disk, a read-only folder) is an IoError
// naming the final path and the system's reason, and leaves no file behind.
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
  // fsyncs the temp file, renames it over the final path and fsyncs the folder. Throws IoError (and
  // renames nothing) when the temp file is missing or its data cannot be flushed to the disk.
  void commit();

 private:
  std::string final_, temp_;
  bool committed_ = false;
};

// `text` as the whole content of `path`, atomically; IoError naming the path when any byte of it cannot
// be written (an unchecked stream would commit a truncated file on a full disk).
void write_file_atomically(const std::string& path, const std::string& text);

// Creates `dir` when missing and checks a file can be created in it: IoError "<dir>: cannot write here
// (<reason>)" otherwise, so that a command given a read-only folder stops before any work.
void check_writable_dir(const std::string& dir);

// "<what> (<strerror(errno)>)" for a failed system call's IoError.
std::string with_system_reason(const std::string& what, int error_number);

// ".tmp-<host>-": temp files are "<final>.tmp-<host>-<pid>".
std::string temp_marker();
// Removes temp files in `dir` left by writers on this host whose process is gone.
int remove_stale_temp_files(const std::string& dir);
// The same in `dir` and every folder below it.
int remove_stale_temp_files_below(const std::string& dir);

}  // namespace vdlab
