#pragma once
// Test videos written with OpenCV: a moving-bar MJPEG AVI, and the same cut in the middle of its frame
// data. A cut AVI still opens and its header still counts every frame (the index is optional for
// FFmpeg), so only decoding shows the damage: the case on_error must handle.
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace vdlab::test {

inline void write_test_avi(const std::string& path, int frames, int seed = 0) {
  cv::VideoWriter w(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 8.0, cv::Size(48, 32));
  if (!w.isOpened()) throw std::runtime_error(path + ": cannot write a test AVI");
  cv::RNG rng(std::uint64_t(seed) + 1);
  for (int f = 0; f < frames; ++f) {
    // Texture keeps each JPEG frame large against the file's fixed headers, so a cut lands mid-frames.
    cv::Mat img(32, 48, CV_8UC3);
    rng.fill(img, cv::RNG::UNIFORM, 0, 256);
    cv::rectangle(img, cv::Rect((2 * f + 5 * seed) % 40, 8, 8, 16), cv::Scalar(250, 250, 250), cv::FILLED);
    w.write(img);
  }
}

// `frames` frames written, then the file cut to half its size.
inline void write_truncated_avi(const std::string& path, int frames) {
  write_test_avi(path, frames, 3);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
}

}  // namespace vdlab::test
