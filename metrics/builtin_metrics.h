#pragma once
// The built-in metrics' registry entries (registered by register_builtin_metrics) and the helpers they
// share, exposed for tests and for the `vdlab metrics` command.
#include <string>

#include "metrics/metric.h"

namespace vdlab {

void register_frechet_metrics(MetricRegistry& registry);  // fid, fvd
void register_clip_metrics(MetricRegistry& registry);     // clip_sim, fc
void register_pixel_metrics(MetricRegistry& registry);    // mm, flow_motion, stability
void register_smoothness_metric(MetricRegistry& registry); // smoothness (metrics/smoothness_metric.cpp)
void register_frame_range_metric(MetricRegistry& registry); // frames: a metric on a frame range or windows
void register_source_fidelity_metrics(MetricRegistry& registry);  // motion_fidelity, appearance_change

// The identity of a video set for caching: its content_hash when set, else the SHA-256 of every video's
// shape and pixels.
std::string video_set_hash(const VideoSet& set);

// The file a standard extractor is looked for in a weights folder ("" when none of its names exists).
std::string find_standard_extractor(const std::string& weights_dir, const std::string& name);

}  // namespace vdlab
