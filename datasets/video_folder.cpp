// video-folder: real videos on disk in the UCF-101 layout: one folder per class, and split lists
// (trainlist01.txt / testlist01.txt, "Class/file.avi [label]" per line, classInd.txt "1 Class") in the
// root or in root/ucfTrainTestlist. Without split lists, split "all" takes every video under the root.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "datasets/clip_source.h"
#include "datasets/video_io.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> kExtensions = {".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v"};

// "ApplyEyeMakeup" -> "apply eye makeup"; "playing_guitar" -> "playing guitar".
std::string caption_of(const std::string& cls) {
  std::string out;
  for (std::size_t i = 0; i < cls.size(); ++i) {
    const char c = cls[i];
    if (c == '_' || c == '-') {
      out += ' ';
      continue;
    }
    if (std::isupper(static_cast<unsigned char>(c)) && i > 0 && std::islower(static_cast<unsigned char>(cls[i - 1])))
      out += ' ';
    out += char(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

class VideoFolder : public ClipSource {
 public:
  explicit VideoFolder(const Params& p) : config_(p.json()) {
    root_ = p.get<std::string>("root");
    if (root_.empty()) p.fail("root", "missing: the folder that holds the class folders");
    if (!fs::is_directory(root_)) throw IoError(p.field("root") + ": " + root_ + ": no such folder");
    split_ = p.get<std::string>("split");
    options_.frames = p.get<int>("frames");
    options_.stride = p.get<int>("stride");
    options_.start = p.get<int>("start");
    options_.size = p.get<int>("size");
    if (options_.frames < 1) p.fail("frames", "must be at least 1");
    if (options_.stride < 1) p.fail("stride", "must be at least 1");
    const bool skip_bad = p.get<std::string>("on_error") == "skip";
    const int limit = p.get<int>("clips");

    std::vector<std::string> files = list_files(p);
    if (limit > 0 && int(files.size()) > limit) files.resize(std::size_t(limit));
    // Probe every file now, so a bad one is reported before any work and indices stay stable.
    const int needed = options_.start + (options_.frames - 1) * options_.stride + 1;
    // With on_error: skip every file is decoded once here: a truncated file opens and reports its full
    // frame count, and only decoding shows the damage. Without it the cheap probe catches unopenable and
    // short files, and a file that fails to decode later is an error naming it (get()).
    for (const auto& rel : files) {
      const std::string path = (fs::path(root_) / rel).string();
      std::string problem;
      try {
        const int n = count_frames(path);
        if (n > 0 && n < needed)
          problem = path + ": has " + std::to_string(n) + " frames, a clip needs " + std::to_string(needed);
        else if (skip_bad)
          (void)read_video(path, options_);
      } catch (const IoError& e) {
        problem = e.what();
      }
      if (!problem.empty()) {
        if (!skip_bad) throw IoError(problem + " (set dataset.on_error: skip to leave such files out)");
        log_warn("video-folder: skipping " + problem);
        skipped_.push_back({{"id", rel}, {"reason", problem}});
        continue;
      }
      items_.push_back(rel);
    }
    if (!skipped_.empty())
      log_warn("video-folder: " + std::to_string(skipped_.size()) + " of " + std::to_string(files.size()) +
               " videos of split '" + split_ + "' skipped (on_error: skip)");
    if (items_.empty()) throw IoError(p.field("root") + ": " + root_ + ": no usable videos for split '" + split_ + "'");
  }

  std::size_t size() const override { return items_.size(); }
  std::vector<std::string> class_names() const override { return classes_; }
  Json skipped_items() const override { return skipped_; }
  Json describe() const override { return config_; }

  Clip get(std::size_t index) const override {
    const std::string& rel = items_.at(index);
    Clip c;
    c.id = rel;
    try {
      c.video = read_video((fs::path(root_) / rel).string(), options_);
    } catch (const IoError& e) {
      throw IoError(std::string(e.what()) + " (set dataset.on_error: skip to leave such files out)");
    }
    const std::string cls = fs::path(rel).parent_path().filename().string();
    auto it = std::find(classes_.begin(), classes_.end(), cls);
    c.label = it == classes_.end() ? -1 : int(it - classes_.begin());
    c.caption = caption_of(cls);
    return c;
  }

  // The files' bytes and the read settings identify the split exactly, without decoding anything.
  std::string content_hash() const override {
    Sha256 h;
    h.update(config_.dump());
    for (const auto& rel : items_) {
      h.update(rel);
      h.update(sha256_file((fs::path(root_) / rel).string()));
    }
    return h.hex();
  }

 private:
  std::vector<std::string> list_files(const Params& p) {
    const std::string index = p.get<std::string>("split_index");
    std::string dir = p.get<std::string>("split_dir");
    if (dir.empty()) dir = fs::exists(fs::path(root_) / "ucfTrainTestlist") ? root_ + "/ucfTrainTestlist" : root_;
    // Classes: classInd.txt when present, else the sorted class folders.
    std::ifstream ind(fs::path(dir) / "classInd.txt");
    std::string line;
    while (std::getline(ind, line)) {
      std::istringstream ss(line);
      int number = 0;
      std::string name;
      if (ss >> number >> name) classes_.push_back(name);
    }
    if (classes_.empty()) {
      for (const auto& e : fs::directory_iterator(root_))
        if (e.is_directory() && e.path().filename() != "ucfTrainTestlist") classes_.push_back(e.path().filename().string());
      std::sort(classes_.begin(), classes_.end());
    }
    std::vector<std::string> files;
    if (split_ == "all") {
      for (const auto& e : fs::recursive_directory_iterator(root_))
        if (e.is_regular_file() && kExtensions.count(e.path().extension().string()))
          files.push_back(fs::relative(e.path(), root_).string());
      std::sort(files.begin(), files.end());
      return files;
    }
    const fs::path list = fs::path(dir) / (split_ + "list" + index + ".txt");
    std::ifstream in(list);
    if (!in) throw IoError(p.field("split") + ": split list " + list.string() + " not found (UCF-101 layout; or use split: all)");
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      std::string rel;
      if (ss >> rel) files.push_back(rel);
    }
    return files;
  }

  Json config_;
  std::string root_, split_;
  ReadOptions options_;
  std::vector<std::string> classes_, items_;
  Json skipped_ = Json::array();  // [{id, reason}] left out by on_error: skip
};

}  // namespace

void register_video_folder(DatasetRegistry& registry) {
  registry.add({"video-folder",
                "real videos read with OpenCV in the UCF-101 layout (class folders, trainlist01.txt / testlist01.txt)",
                {{"root", "", "folder holding one folder per class"},
                 {"split", "test", "train or test (from the split lists), or all (every video under root)",
                  {"train", "test", "all"}},
                 {"split_index", "01", "which split lists: trainlist<index>.txt / testlist<index>.txt"},
                 {"split_dir", "", "folder of the split lists; default root, or root/ucfTrainTestlist"},
                 {"clips", 0, "at most this many videos; 0 = all"},
                 {"frames", 16, "frames per clip"},
                 {"stride", 1, "take every stride-th frame"},
                 {"start", 0, "first frame of the clip"},
                 {"size", 64, "resize the shorter side to this and centre-crop a square; 0 = keep"},
                 {"on_error", "fail", "an unreadable or too short video: fail (a clear error) or skip (logged)",
                  {"fail", "skip"}}},
                [](const Params& p) -> ClipSourcePtr { return std::make_shared<VideoFolder>(p); }});
}

}  // namespace vdlab
