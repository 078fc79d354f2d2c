#pragma once
// Videos, weights folders and contexts for the metric tests.
#include <filesystem>
#include <functional>
#include <string>

#include "datasets/video.h"
#include "fixture_support.h"
#include "metrics/metric.h"

namespace vdlab::test {

inline std::string extractor_fixture(const std::string& name) { return metrics_fixture("extractors/" + name); }

inline std::string clip_vocab() { return std::string(VDLAB_SHARED_DIR) + "/data/bpe_simple_vocab_16e6.txt.gz"; }

// A fresh folder under the build tree, removed first if it exists.
inline std::string scratch_dir(const std::string& name) {
  const std::string dir = std::string(VDLAB_BINARY_DIR) + "/test-scratch/metrics/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A weights folder holding the scripted test modules under the standard file names.
inline std::string test_weights_dir(const std::string& name, const std::string& image = "image_extractor.pt") {
  const std::string dir = scratch_dir(name);
  namespace fs = std::filesystem;
  fs::copy_file(extractor_fixture(image), dir + "/inception-2015-12-05.pt");
  fs::copy_file(extractor_fixture("video_extractor.pt"), dir + "/i3d_torchscript.pt");
  fs::copy_file(extractor_fixture("clip_extractor.pt"), dir + "/clip-vit-b32.pt");
  fs::copy_file(clip_vocab(), dir + "/bpe_simple_vocab_16e6.txt.gz");
  return dir;
}

// A video whose pixel (f, y, x, c) is fn(f, y, x, c).
inline Video make_video(int frames, int h, int w, const std::function<int(int, int, int, int)>& fn) {
  Video v(frames, h, w);
  for (int f = 0; f < frames; ++f)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) v.at(f, y, x, c) = std::uint8_t(std::clamp(fn(f, y, x, c), 0, 255));
  return v;
}

// A set of `n` varied videos (gradients and moving bars), deterministic in `seed`.
inline VideoSet varied_set(int n, int frames, int size, int seed) {
  VideoSet s;
  for (int i = 0; i < n; ++i) {
    const double a = counter_uniform(std::uint64_t(seed), std::uint64_t(i) * 4);
    const double b = counter_uniform(std::uint64_t(seed), std::uint64_t(i) * 4 + 1);
    const double speed = 1.0 + 2.0 * counter_uniform(std::uint64_t(seed), std::uint64_t(i) * 4 + 2);
    s.videos.push_back(make_video(frames, size, size, [&](int f, int y, int x, int c) {
      const int bar = int(std::lround(x - speed * f)) % 8;
      return int(100 + 60 * a * (c + 1) * y / size + 50 * b * (c == 1) + (bar < 3 ? 60 : 0) + 7 * ((x * y + i) % 5));
    }));
    s.captions.push_back("a moving bar number " + std::to_string(i));
  }
  return s;
}

}  // namespace vdlab::test
