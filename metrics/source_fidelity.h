#pragma once
// Paired measures of a generated video against the source clip it renders (VMC, METHODS.md 5): how well it
// keeps the source's motion and how far it moved away from the source's appearance. Pixels only.
#include "datasets/video.h"

namespace vdlab {

// Pearson correlation of the two videos' Farneback flow fields, every (frame pair, pixel, dx/dy) one
// observation; 0 when either field is constant (no motion). In [-1, 1].
double flow_field_correlation(const Video& source, const Video& generated);

// Per frame pair, the cosine between the mean flow vectors of the moving pixels (flow magnitude above
// `moving_px`) of each video, 0 for a pair where either has none; the mean over frame pairs. In [-1, 1].
double flow_direction_agreement(const Video& source, const Video& generated, double moving_px = 0.1);

// Total-variation distance between the videos' colour histograms (4 bins per channel over every frame's
// pixels): where objects are does not count, their colours do. In [0, 1].
double colour_histogram_distance(const Video& source, const Video& generated);

}  // namespace vdlab
