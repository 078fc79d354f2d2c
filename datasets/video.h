#pragma once
// A video as the harness passes it between datasets, metrics and result files: uint8 RGB frames,
// laid out [frames, height, width, 3] (row-major, channels last, as OpenCV and image files have them).
// Tensors ([C, F, H, W] floats in [-1, 1]) exist only inside methods; see methods/video_tensor.h.
#include <cstdint>
#include <string>
#include <vector>

namespace vdlab {

struct Video {
  int frames = 0, height = 0, width = 0;
  static constexpr int channels = 3;
  std::vector<std::uint8_t> data;  // frames * height * width * 3

  Video() = default;
  Video(int f, int h, int w) : frames(f), height(h), width(w), data(std::size_t(f) * h * w * 3, 0) {}

  std::size_t frame_size() const { return std::size_t(height) * width * 3; }
  std::uint8_t* frame(int f) { return data.data() + f * frame_size(); }
  const std::uint8_t* frame(int f) const { return data.data() + f * frame_size(); }
  std::uint8_t& at(int f, int y, int x, int c) { return data[((std::size_t(f) * height + y) * width + x) * 3 + c]; }
  std::uint8_t at(int f, int y, int x, int c) const { return data[((std::size_t(f) * height + y) * width + x) * 3 + c]; }
};

// One item of a dataset split: the video and what is known about it.
struct Clip {
  std::string id;       // stable within the split ("shapes/test/000017", a file path, ...)
  Video video;
  std::string caption;  // may be empty
  int label = -1;       // class index, -1 when unknown
  // Named motion labels (speed in pixels per frame, direction in degrees, ...); may be empty.
  std::vector<std::pair<std::string, double>> motion;
};

}  // namespace vdlab
