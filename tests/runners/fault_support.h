#pragma once
// Fault injection helpers: starting vdlab as a child process and killing it, judging every file a
// killed command left behind, and small mounts (a full tmpfs, a read-only one) for the disk faults.
//
// What a file left in an output or cache folder must be (a "partial" file is one that is not):
//   - under a final name (no temp marker): a complete, readable result of its kind:
//       .h5   opens with HDF5 and every dataset reads back in full (cell files: read_cell with samples)
//       .pt   loads as a LibTorch archive
//       .json parses
//       .png  starts with the PNG signature and ends with the IEND chunk
//       .pdf  starts with %PDF and ends with %%EOF
//       .mp4  decodes to at least one frame
//       .md .csv .tex .svg .html .log .error: not empty and ending in a newline (every vdlab writer ends
//             its text with one; the check is run on an uninterrupted run's folder too, which passes)
//       locks (*.lock, "lock"): empty by design
//     anything else (a .corrupt file, an unknown kind) counts as partial;
//   - a temp file ("<final>.tmp-<host>-<pid>", or the ".tmp" copy a video stage starts from) is allowed
//     after a kill only if the next run removes it or never reads it: after a rerun to completion, any
//     temp file still in the folder counts as partial.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <H5Cpp.h>
#include <torch/serialize.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/hash.h"
#include "core/hdf5_util.h"
#include "core/params.h"
#include "datasets/video_io.h"
#include "results/cell_file.h"
#include "runners/cli_support.h"

namespace vdlab::testing {

namespace fault_fs = std::filesystem;

// ---- seeded trials --------------------------------------------------------------------------------

// Trials per scenario: $VDLAB_KILL_TRIALS, else `fallback` (small, for CI).
inline int kill_trials(int fallback) {
  const char* v = std::getenv("VDLAB_KILL_TRIALS");
  return v && *v ? std::max(1, std::atoi(v)) : fallback;
}

inline std::uint64_t kill_seed() {
  const char* v = std::getenv("VDLAB_KILL_SEED");
  return v && *v ? std::strtoull(v, nullptr, 10) : 20261201ull;
}

// splitmix64: the same delays on every machine and standard library for a seed.
class SplitMix {
 public:
  explicit SplitMix(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)

 private:
  std::uint64_t state_;
};

// ---- child processes ----------------------------------------------------------------------------

// Starts vdlab with `args`, its stdout and stderr appended to `log`.
inline pid_t spawn_vdlab(const std::vector<std::string>& args, const fault_fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> argv;
    const std::string& exe = vdlab_binary();
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

inline int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs vdlab to the end; its exit code (-1 when killed by a signal) and how long it took.
struct Finished {
  int code = -1;
  double seconds = 0;
};
inline Finished run_vdlab(const std::vector<std::string>& args, const fault_fs::path& log) {
  const auto t0 = std::chrono::steady_clock::now();
  const int status = wait_status(spawn_vdlab(args, log));
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, seconds_since(t0)};
}

inline std::string read_text(const fault_fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// ---- judging files ------------------------------------------------------------------------------

inline bool is_temp_name(const std::string& name) { return name.find(".tmp") != std::string::npos; }

inline void read_every_dataset(const H5::Group& group) {
  for (hsize_t i = 0; i < group.getNumObjs(); ++i) {
    const std::string name = group.getObjnameByIdx(i);
    const H5G_obj_t type = group.getObjTypeByIdx(i);
    if (type == H5G_GROUP) {
      read_every_dataset(group.openGroup(name));
    } else if (type == H5G_DATASET) {
      H5::DataSet d = group.openDataSet(name);
      const H5::DataType t = d.getDataType();
      if (t.getClass() == H5T_STRING) {
        (void)h5::read_strings(group, name);
      } else {
        std::vector<char> buffer(d.getInMemDataSize());
        if (!buffer.empty()) d.read(buffer.data(), t);
      }
    }
  }
}

inline bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// "" when `path` is a complete, readable file of its kind (see the top of this file), else why not.
inline std::string why_incomplete(const fault_fs::path& path) {
  const std::string name = path.filename().string(), ext = path.extension().string();
  try {
    if (ext == ".lock" || name == "lock") return "";
    if (ext == ".h5") {
      if (path.parent_path().filename() == "cells") {
        (void)read_cell(path.string(), true);
        return "";
      }
      h5::quiet();
      H5::H5File file(path.string(), H5F_ACC_RDONLY);
      read_every_dataset(file.openGroup("/"));
      return "";
    }
    if (ext == ".pt") {
      torch::serialize::InputArchive archive;
      archive.load_from(path.string());
      return "";
    }
    const std::string bytes = read_text(path);
    if (ext == ".json") return Json::accept(bytes) ? "" : "not JSON";
    if (ext == ".png") {
      const std::string iend("IEND\xAE\x42\x60\x82", 8);
      return bytes.rfind("\x89PNG", 0) == 0 && ends_with(bytes, iend) ? "" : "not a whole PNG";
    }
    if (ext == ".pdf") return bytes.rfind("%PDF", 0) == 0 && bytes.find("%%EOF", bytes.size() > 32 ? bytes.size() - 32 : 0) != std::string::npos ? "" : "not a whole PDF";
    if (ext == ".mp4") return count_frames(path.string()) > 0 ? "" : "no frames";
    for (const char* text : {".md", ".csv", ".tex", ".svg", ".html", ".log", ".error"})
      if (ext == text) return !bytes.empty() && bytes.back() == '\n' ? "" : "empty or cut short (no final newline)";
    return "not a kind of file vdlab writes here";
  } catch (const H5::Exception& e) {
    return h5::describe(e);
  } catch (const std::exception& e) {
    return e.what();
  }
}

struct FolderCheck {
  std::vector<std::string> partial;  // "path: why"
  int temp_files = 0;
};

// Judges every regular file below each folder: temp files are counted, every other file must be whole.
inline FolderCheck check_folders(const std::vector<fault_fs::path>& dirs) {
  FolderCheck c;
  for (const auto& dir : dirs) {
    if (!fault_fs::exists(dir)) continue;
    for (const auto& e : fault_fs::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      if (is_temp_name(e.path().filename().string())) {
        ++c.temp_files;
        continue;
      }
      const std::string why = why_incomplete(e.path());
      if (!why.empty()) c.partial.push_back(e.path().string() + ": " + why);
    }
  }
  return c;
}

// The SHA-256 of every file below `dir` whose path passes `keep`: finished results, to find any that a
// kill (or the run after it) removed or changed.
template <class Keep>
std::map<std::string, std::string> snapshot(const fault_fs::path& dir, Keep keep) {
  std::map<std::string, std::string> files;
  if (!fault_fs::exists(dir)) return files;
  std::error_code ec;
  for (fault_fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec) || is_temp_name(it->path().filename().string()) || !keep(it->path())) continue;
    try {
      files[it->path().string()] = sha256_file(it->path().string());
    } catch (const std::exception&) {  // renamed away between the listing and the read: not finished
    }
  }
  return files;
}

inline int count_lost(const std::map<std::string, std::string>& before, std::vector<std::string>& what) {
  int lost = 0;
  for (const auto& [path, sha] : before) {
    std::error_code ec;
    if (!fault_fs::exists(path, ec)) {
      ++lost;
      what.push_back(path + ": gone");
    } else if (sha256_file(path) != sha) {
      ++lost;
      what.push_back(path + ": changed");
    }
  }
  return lost;
}

// ---- mounts -------------------------------------------------------------------------------------

// fresh_dir(name) for a test that mounts file systems below it: a mount a crashed earlier run left at
// one of `mount_points` (relative to the folder) is detached first, so the folder can be emptied.
inline fault_fs::path fresh_dir_for_mounts(const std::string& name, const std::vector<std::string>& mount_points) {
  for (const auto& m : mount_points) ::umount2((fault_fs::temp_directory_path() / name / m).c_str(), MNT_DETACH);
  return fresh_dir(name);
}

// A tmpfs mounted at `dir` for the lifetime of the object (root only): "" when mounted, else why not.
class TmpfsMount {
 public:
  TmpfsMount(const fault_fs::path& dir, const std::string& size) : dir_(dir) {
    fault_fs::create_directories(dir);
    if (::geteuid() != 0) {
      problem_ = "needs root to mount a tmpfs (CI runs the tests as root)";
      return;
    }
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
      problem_ = std::string("mount -t tmpfs failed: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  const std::string& problem() const { return problem_; }
  // Remounts read-only or writable again.
  bool set_read_only(bool ro) {
    return ::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT | (ro ? MS_RDONLY : 0), nullptr) == 0;
  }

 private:
  fault_fs::path dir_;
  bool mounted_ = false;
  std::string problem_;
};

}  // namespace vdlab::testing
