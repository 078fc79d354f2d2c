#include "metrics/motion.h"

#include <cmath>
#include <cstdlib>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "core/error.h"

namespace vdlab {

double motion_magnitude(const Video& v) {
  if (v.frames < 2) return 0.0;
  const std::size_t n = v.frame_size();
  double total = 0.0;
  for (int f = 0; f + 1 < v.frames; ++f) {
    const std::uint8_t* a = v.frame(f);
    const std::uint8_t* b = v.frame(f + 1);
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += std::uint64_t(std::abs(int(b[i]) - int(a[i])));
    total += double(sum);
  }
  return total / (255.0 * double(n) * double(v.frames - 1));
}

Json FarnebackParams::to_json() const {
  return Json{{"pyr_scale", pyr_scale}, {"levels", levels},   {"winsize", winsize},
              {"iterations", iterations}, {"poly_n", poly_n}, {"poly_sigma", poly_sigma}};
}

namespace {

cv::Mat grey(const Video& v, int f) {
  cv::Mat rgb(v.height, v.width, CV_8UC3, const_cast<std::uint8_t*>(v.frame(f)));
  cv::Mat g;
  cv::cvtColor(rgb, g, cv::COLOR_RGB2GRAY);
  return g;
}

cv::Mat flow_mat(const Video& v, int f, const FarnebackParams& p) {
  if (f < 0 || f + 1 >= v.frames)
    throw ConfigError("optical flow: frame pair " + std::to_string(f) + " is outside a video of " +
                      std::to_string(v.frames) + " frames");
  cv::Mat flow;
  cv::calcOpticalFlowFarneback(grey(v, f), grey(v, f + 1), flow, p.pyr_scale, p.levels, p.winsize, p.iterations,
                               p.poly_n, p.poly_sigma, 0);
  return flow;
}

}  // namespace

std::vector<float> farneback_flow(const Video& v, int f, const FarnebackParams& p) {
  cv::Mat flow = flow_mat(v, f, p);
  std::vector<float> out(std::size_t(v.height) * v.width * 2);
  for (int y = 0; y < v.height; ++y) {
    const cv::Point2f* row = flow.ptr<cv::Point2f>(y);
    for (int x = 0; x < v.width; ++x) {
      out[(std::size_t(y) * v.width + x) * 2] = row[x].x;
      out[(std::size_t(y) * v.width + x) * 2 + 1] = row[x].y;
    }
  }
  return out;
}

double flow_motion(const Video& v, const FarnebackParams& p) {
  if (v.frames < 2) return 0.0;
  double total = 0.0;
  for (int f = 0; f + 1 < v.frames; ++f) {
    cv::Mat flow = flow_mat(v, f, p);
    double sum = 0.0;
    for (int y = 0; y < flow.rows; ++y) {
      const cv::Point2f* row = flow.ptr<cv::Point2f>(y);
      for (int x = 0; x < flow.cols; ++x) sum += std::hypot(double(row[x].x), double(row[x].y));
    }
    total += sum / double(flow.rows * flow.cols);
  }
  return total / double(v.frames - 1);
}

double motion_dynamics(const std::vector<double>& variant, const std::vector<double>& baseline) {
  if (variant.empty() || baseline.empty()) throw ConfigError("motion dynamics: empty variant or baseline");
  double a = 0, b = 0;
  for (double x : variant) a += x;
  for (double x : baseline) b += x;
  a /= double(variant.size());
  b /= double(baseline.size());
  if (b == 0.0) throw NumericError("motion dynamics: the baseline's mean flow motion is 0");
  return (a - b) / b;
}

Json StabilityThresholds::to_json() const {
  return Json{{"saturated_fraction", saturated_fraction}, {"collapse_std", collapse_std}};
}

StabilityReport video_stability(const Video& v, const StabilityThresholds& t) {
  StabilityReport r;
  const std::size_t n = v.frame_size();
  for (int f = 0; f < v.frames; ++f) {
    const std::uint8_t* p = v.frame(f);
    std::size_t clipped = 0;
    double sum = 0, sum2 = 0;
    for (std::size_t i = 0; i < n; ++i) {
      clipped += (p[i] == 0 || p[i] == 255);
      sum += p[i];
      sum2 += double(p[i]) * p[i];
    }
    const double mean = sum / double(n);
    const double var = std::max(0.0, sum2 / double(n) - mean * mean);
    if (double(clipped) > t.saturated_fraction * double(n)) ++r.saturated_frames;
    if (std::sqrt(var) < t.collapse_std) ++r.collapsed_frames;
  }
  r.stable = r.saturated_frames == 0 && r.collapsed_frames == 0;
  return r;
}

}  // namespace vdlab
