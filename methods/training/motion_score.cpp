#include "methods/training/motion_score.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace vdlab {

at::Tensor raw_motion(const at::Tensor& videos) {
  const int64_t n = videos.size(0), frames = videos.size(1);
  if (frames < 2) return at::zeros({n}, at::kDouble);
  const at::Tensor v = videos.to(at::kDouble);
  return (v.slice(1, 1) - v.slice(1, 0, frames - 1)).abs().reshape({n, -1}).mean(1) / 255.0;
}

namespace {
// numpy.percentile's default (linear) on sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q / 100.0 * double(sorted.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}
}  // namespace

at::Tensor normalised_motion(const at::Tensor& raw) {
  const at::Tensor r = raw.to(at::kDouble).contiguous();
  if (r.numel() == 0) return r;
  std::vector<double> sorted(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
  std::sort(sorted.begin(), sorted.end());
  const double p5 = percentile(sorted, 5), p95 = percentile(sorted, 95);
  if (!(p95 > p5)) return at::zeros_like(r);
  return ((r - p5) / (p95 - p5)).clamp(0.0, 1.0);
}

}  // namespace vdlab
