#pragma once
// "Resize the shorter side to S, centre crop S" exactly as torchvision's Resize(S) and CenterCrop(S) do
// it (CLIP's preprocessing; the center-crop FVD protocol): the longer side is int(S * long / short),
// truncated, not rounded (320 x 240 -> 298 x 224, not 299), and the crop starts at
// int(round((side - S) / 2)) with Python's round (halves to even). Checked against torchvision by
// scripts/reference/metrics_clip_resize.py.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace vdlab {

struct ResizeCrop {
  std::int64_t resized_height = 0, resized_width = 0;  // after the resize
  std::int64_t top = 0, left = 0;                       // of the S x S crop in the resized image
};

inline ResizeCrop shorter_side_resize_crop(std::int64_t height, std::int64_t width, std::int64_t size) {
  const std::int64_t shorter = std::min(height, width), longer = std::max(height, width);
  // Python's int(a * b / c) on ints: a correctly rounded double quotient, truncated toward zero.
  const auto longer_resized = std::int64_t(double(size * longer) / double(shorter));
  ResizeCrop r;
  r.resized_height = height <= width ? size : longer_resized;
  r.resized_width = height <= width ? longer_resized : size;
  if (width == height) r.resized_height = r.resized_width = size;
  // std::nearbyint rounds halves to even in the default rounding mode, as Python's round does.
  r.top = std::int64_t(std::nearbyint(double(r.resized_height - size) / 2.0));
  r.left = std::int64_t(std::nearbyint(double(r.resized_width - size) / 2.0));
  return r;
}

}  // namespace vdlab
