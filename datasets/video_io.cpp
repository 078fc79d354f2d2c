#include "datasets/video_io.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/core/utils/logger.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"

namespace vdlab {

namespace {

// Resize the shorter side to `size` (area filter when shrinking) and centre-crop a square.
cv::Mat resize_crop(const cv::Mat& rgb, int size) {
  if (size <= 0) return rgb;
  const double scale = double(size) / std::min(rgb.rows, rgb.cols);
  cv::Mat resized;
  const int w = std::max(size, int(std::lround(rgb.cols * scale)));
  const int h = std::max(size, int(std::lround(rgb.rows * scale)));
  cv::resize(rgb, resized, cv::Size(w, h), 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return resized(cv::Rect((w - size) / 2, (h - size) / 2, size, size)).clone();
}

}  // namespace

namespace {
// OpenCV's own log lines would repeat, less clearly, the one error vdlab reports.
void quiet_opencv() {
  static const bool once = [] {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    return true;
  }();
  (void)once;
}
}  // namespace

int count_frames(const std::string& path) {
  quiet_opencv();
  cv::VideoCapture cap(path, cv::CAP_FFMPEG);
  if (!cap.isOpened()) throw IoError(path + ": cannot open video");
  return int(cap.get(cv::CAP_PROP_FRAME_COUNT));
}

Video read_video(const std::string& path, const ReadOptions& o) {
  quiet_opencv();
  if (!std::filesystem::exists(path)) throw IoError(path + ": no such file");
  cv::VideoCapture cap(path, cv::CAP_FFMPEG);
  if (!cap.isOpened()) throw IoError(path + ": cannot open video (not a video file, or a codec FFmpeg lacks)");
  std::vector<cv::Mat> frames;
  cv::Mat bgr;
  for (int index = 0; o.frames == 0 || int(frames.size()) < o.frames; ++index) {
    if (!cap.read(bgr) || bgr.empty()) break;
    if (index < o.start || (index - o.start) % std::max(1, o.stride) != 0) continue;
    cv::Mat rgb;
    if (bgr.channels() == 1) cv::cvtColor(bgr, rgb, cv::COLOR_GRAY2RGB);
    else cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    frames.push_back(resize_crop(rgb, o.size));
  }
  if (frames.empty()) throw IoError(path + ": no decodable frames (corrupt or empty video)");
  if (o.frames > 0 && int(frames.size()) < o.frames)
    throw IoError(path + ": has " + std::to_string(frames.size()) + " usable frames, clip needs " +
                  std::to_string(o.frames) + " (start " + std::to_string(o.start) + ", stride " +
                  std::to_string(o.stride) + ")");
  Video v(int(frames.size()), frames[0].rows, frames[0].cols);
  for (int f = 0; f < v.frames; ++f) {
    if (frames[f].rows != v.height || frames[f].cols != v.width) throw IoError(path + ": frame size changes mid-video");
    cv::Mat dst(v.height, v.width, CV_8UC3, v.frame(f));
    frames[f].copyTo(dst);
  }
  return v;
}

void encode_video(const Video& video, const std::string& path, double fps) {
  cv::VideoWriter writer;
  const cv::Size size(video.width, video.height);
  // FFmpeg only, as for reading: other backends may read the name as a pipeline description
  // (GStreamer's does when it lacks a known extension), and a path is a file name, never a command.
  if (!writer.open(path, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('a', 'v', 'c', '1'), fps, size) &&
      !writer.open(path, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), fps, size))
    throw IoError(path + ": cannot open a video writer");
  cv::Mat bgr;
  for (int f = 0; f < video.frames; ++f) {
    cv::Mat rgb(video.height, video.width, CV_8UC3, const_cast<std::uint8_t*>(video.frame(f)));
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    writer.write(bgr);
  }
  writer.release();
}

void write_video(const Video& video, const std::string& path, double fps) {
  AtomicFile out(path, true);
  encode_video(video, out.temp_path(), fps);
  out.commit();
}

void encode_contact_sheet(const std::vector<Video>& videos, const std::string& path, int max_frames, int scale,
                          const std::vector<std::string>& row_labels) {
  if (videos.empty()) throw Error("write_contact_sheet: no videos");
  if (!row_labels.empty() && row_labels.size() != videos.size())
    throw Error("write_contact_sheet: " + std::to_string(row_labels.size()) + " row labels for " +
                std::to_string(videos.size()) + " videos");
  const int h = videos[0].height * scale, w = videos[0].width * scale, gap = 2;
  const int columns = std::min(videos[0].frames, max_frames);
  // The label band: wide enough for the longest label at a scale that fits the row height.
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  const double font_scale = std::clamp(h / 40.0, 0.35, 0.8);
  int label_width = 0;
  for (const auto& label : row_labels) {
    int baseline = 0;
    label_width = std::max(label_width, cv::getTextSize(label, font, font_scale, 1, &baseline).width + 8);
  }
  cv::Mat sheet(int(videos.size()) * (h + gap) + gap, label_width + columns * (w + gap) + gap, CV_8UC3,
                cv::Scalar(255, 255, 255));
  for (std::size_t r = 0; r < videos.size(); ++r) {
    const Video& v = videos[r];
    const int top = gap + int(r) * (h + gap);
    if (!row_labels.empty()) {
      int baseline = 0;
      const cv::Size text = cv::getTextSize(row_labels[r], font, font_scale, 1, &baseline);
      cv::putText(sheet, row_labels[r], cv::Point(4, top + (h + text.height) / 2), font, font_scale,
                  cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    }
    for (int c = 0; c < columns; ++c) {
      const int f = columns == 1 ? 0 : int(std::lround(double(c) * (v.frames - 1) / (columns - 1)));
      cv::Mat rgb(v.height, v.width, CV_8UC3, const_cast<std::uint8_t*>(v.frame(f))), bgr, big;
      cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
      cv::resize(bgr, big, cv::Size(w, h), 0, 0, cv::INTER_NEAREST);
      big.copyTo(sheet(cv::Rect(label_width + gap + c * (w + gap), top, w, h)));
    }
  }
  if (!cv::imwrite(path, sheet)) throw IoError(path + ": cannot write image");
}

void write_contact_sheet(const std::vector<Video>& videos, const std::string& path, int max_frames, int scale,
                         const std::vector<std::string>& row_labels) {
  AtomicFile out(path, true);
  encode_contact_sheet(videos, out.temp_path(), max_frames, scale, row_labels);
  out.commit();
}

}  // namespace vdlab
