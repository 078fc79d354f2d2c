#pragma once
// Pixel-space motion and sanity measures of videos (METRICS.md): motion magnitude (MM), dense
// Farneback optical-flow motion, motion dynamics against a named baseline, and stability.
#include <string>
#include <vector>

#include "core/params.h"
#include "datasets/video.h"

namespace vdlab {

// Mean |I_{f+1} - I_f| over pixels, channels and frame pairs, pixels in [0, 1]. 0 for a single frame.
double motion_magnitude(const Video& video);

// Farneback's parameters, fixed so values are comparable (OpenCV's documented example settings).
struct FarnebackParams {
  double pyr_scale = 0.5;
  int levels = 3;
  int winsize = 15;
  int iterations = 3;
  int poly_n = 5;
  double poly_sigma = 1.2;
  Json to_json() const;
};

// Dense flow from frame f to frame f + 1 of a video (grey frames), as [H, W, 2] row-major (dx, dy).
std::vector<float> farneback_flow(const Video& video, int f, const FarnebackParams& params = {});
// Mean flow magnitude in pixels over pixels and consecutive frame pairs. 0 for a single frame.
double flow_motion(const Video& video, const FarnebackParams& params = {});

// Relative change of a variant's mean flow motion against the baseline's on the same seeds:
// (mean(variant) - mean(baseline)) / mean(baseline). Throws NumericError when the baseline is 0.
double motion_dynamics(const std::vector<double>& variant, const std::vector<double>& baseline);

// Stability thresholds (documented in METRICS.md's terms): a frame is saturated when more than
// `saturated_fraction` of its values are exactly 0 or 255, collapsed when the standard deviation of
// its values (0..255 scale) is below `collapse_std`. Videos are uint8, so non-finite values cannot
// reach here: whoever quantises a model's output records them (VideoSet::non_finite), and the
// stability metric counts such a video as unstable.
struct StabilityThresholds {
  double saturated_fraction = 0.98;
  double collapse_std = 1.0;
  Json to_json() const;
};

struct StabilityReport {
  bool stable = true;
  int saturated_frames = 0;
  int collapsed_frames = 0;
};
StabilityReport video_stability(const Video& video, const StabilityThresholds& thresholds = {});

}  // namespace vdlab
