// Fuzz target: a video-folder split list (and optionally its classInd.txt) over a UCF-101-style root
// that holds one short real video per class and a file that is not a video.
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/log.h"
#include "datasets/clip_source.h"
#include "datasets/video_io.h"
#include "fuzz/scratch.h"
#include "fuzz/targets.h"

namespace vdlab::fuzz {

namespace {

namespace fs = std::filesystem;

// Made once per process: Walking/v_Walking_g01_c01.mp4 and Trees/v_Trees_g01_c01.mp4 (4 frames of a
// moving square, written by vdlab's own video writer) and Trees/notes.txt.
const fs::path& video_root() {
  static const fs::path root = [] {
    const fs::path r = scratch_dir() / "ucf";
    fs::create_directories(r / "Walking");
    fs::create_directories(r / "Trees");
    Video v(4, 16, 16);
    for (int f = 0; f < v.frames; ++f)
      for (int y = 4; y < 10; ++y)
        for (int x = 2 + 2 * f; x < 8 + 2 * f; ++x) v.at(f, y, x, 0) = 255;
    write_video(v, (r / "Walking" / "v_Walking_g01_c01.mp4").string());
    write_video(v, (r / "Trees" / "v_Trees_g01_c01.mp4").string());
    std::ofstream(r / "Trees" / "notes.txt") << "not a video\n";
    return r;
  }();
  return root;
}

}  // namespace

void fuzz_split_list(const std::uint8_t* data, std::size_t size) {
  set_log_level(LogLevel::error);
  const fs::path& root = video_root();
  const std::string all(reinterpret_cast<const char*>(data), size);
  const std::size_t feed = all.find('\f');
  const std::string class_index = feed == std::string::npos ? "" : all.substr(0, feed);
  const std::string list = feed == std::string::npos ? all : all.substr(feed + 1);
  fs::remove(root / "classInd.txt");
  if (feed != std::string::npos) std::ofstream(root / "classInd.txt", std::ios::binary) << class_index;
  std::ofstream(root / "testlist01.txt", std::ios::binary | std::ios::trunc) << list;
  try {
    const ClipSourcePtr split = make_dataset(
        {{"name", "video-folder"}, {"root", root.string()}, {"split", "test"}, {"frames", 2}, {"size", 0}, {"clips", 4}});
    for (std::size_t i = 0; i < split->size(); ++i) (void)split->get(i);
    (void)split->class_names();
  } catch (const Error&) {
    // A clear error naming the list or the video is a correct answer.
  }
}

}  // namespace vdlab::fuzz
