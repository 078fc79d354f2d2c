#pragma once
// Scoring two sets of videos given as sources on disk, the work behind `vdlab metrics --real SRC --fake SRC`:
// a source is a folder of video files (read with OpenCV; a caption may sit beside a video as
// <name>.txt) or an HDF5 clip store (.h5, read through the "hdf5" dataset).
#include <string>
#include <utility>
#include <vector>

#include "datasets/video_io.h"
#include "metrics/metric.h"

namespace vdlab {

struct VideoSourceOptions {
  ReadOptions read;       // frames, stride, start, size for video files
  std::size_t limit = 0;  // at most this many videos (0 = all), taken in sorted file order
};

// Throws IoError naming the source when it is missing, empty or unreadable.
VideoSet load_video_set(const std::string& source, const VideoSourceOptions& options);

// "fvd[tiny-i3d/center-crop]" -> ("fvd", {extractor: tiny-i3d, protocol: center-crop}). Bracket parts:
// an extractor name, a protocol (stylegan-v, center-crop), an estimator (biased, unbiased), f<N> frames,
// x<S> scale, clamped. Parts the named metric does not take are a ConfigError.
std::pair<std::string, Json> parse_metric_spec(const std::string& spec);

// Every spec's values, in order; each metric built through the registry (unknown names are errors).
std::vector<MetricValue> score_video_sets(const VideoSet& real, const VideoSet& fake,
                                          const std::vector<std::string>& specs, MetricContext& ctx);

Json metric_value_json(const MetricValue& v);

}  // namespace vdlab
