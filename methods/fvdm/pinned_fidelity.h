#pragma once
// How exactly a generated video keeps the frames it was given (FVDM's image-to-video, interpolation and
// progressive tasks pin reference frames at t = 0): per pinned frame, compared with the reference clip's
// frame both as the sampler returned it (float) and as stored (uint8 after quantisation).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "core/params.h"
#include "datasets/video.h"

namespace vdlab {

struct PinnedFidelity {
  std::vector<int64_t> frames;  // the pinned frame indices
  double max_abs_diff = 0;      // largest |generated - reference| over pinned frames, float, [-1, 1] scale
  double float_equal_share = 1; // share of (video, pinned frame) pairs bitwise equal as floats
  double uint8_equal_share = 1; // the same after quantising to the stored uint8 pixels
  int64_t pairs = 0;
  Json to_json() const;
};

// videos [N, 3, F, H, W] in [-1, 1]; references one per video, F frames each; pinned [F] (1 = pinned).
PinnedFidelity pinned_fidelity(const at::Tensor& videos, const std::vector<Clip>& references,
                               const std::vector<uint8_t>& pinned);

}  // namespace vdlab
