#pragma once
// Seed 002's motion score per clip (METHODS.md 4): the mean absolute difference of consecutive frames in
// [0, 1] pixels, normalised by the 5th and 95th percentiles of the training split and clipped to [0, 1].
#include <ATen/core/Tensor.h>

namespace vdlab {

// The raw score per clip of uint8 videos [N, F, H, W, C]: mean |frame_{f+1} - frame_f| / 255 (0 for F = 1).
at::Tensor raw_motion(const at::Tensor& videos);
// (raw - p5) / (p95 - p5) clipped to [0, 1], with the percentiles of `raw` itself (linear interpolation,
// as numpy.percentile); all zeros when p95 == p5.
at::Tensor normalised_motion(const at::Tensor& raw);

}  // namespace vdlab
