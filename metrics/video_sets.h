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

// What to do with a video file that cannot be read as a clip (corrupt, truncated, too short).
enum class OnError { fail, skip };
OnError on_error_from_string(const std::string& name);  // "fail" or "skip"; throws ConfigError

struct VideoSourceOptions {
  ReadOptions read;       // frames, stride, start, size for video files
  std::size_t limit = 0;  // at most this many videos (0 = all), taken in sorted file order
  OnError on_error = OnError::fail;
};

// A source as a streamed set: videos are decoded when a metric reads them, a batch at a time, so memory
// does not grow with the number of files. Throws IoError naming the source when it is missing, empty or
// unreadable. With OnError::fail an unreadable file is an IoError naming it (when it is read); with
// OnError::skip every file is decoded once up front, each unreadable one is left out with a warning that
// names it, and source["skipped"] lists them ({file, reason}) with source["skipped_count"].
VideoSet load_video_set(const std::string& source, const VideoSourceOptions& options);

// "fvd[tiny-i3d,center-crop]" -> ("fvd", {extractor: tiny-i3d, protocol: center-crop}): a metric key
// (metric_key) read back; '/' is accepted between parts too. Bracket parts:
// an extractor name, a protocol (stylegan-v, center-crop), an estimator (biased, unbiased), f<N> frames,
// x<S> scale, clamped. Parts the named metric does not take are a ConfigError.
std::pair<std::string, Json> parse_metric_spec(const std::string& spec);

// Every spec's values, in order; each metric built through the registry (unknown names are errors).
std::vector<MetricValue> score_video_sets(const VideoSet& real, const VideoSet& fake,
                                          const std::vector<std::string>& specs, MetricContext& ctx);

Json metric_value_json(const MetricValue& v);

}  // namespace vdlab
