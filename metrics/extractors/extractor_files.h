#pragma once
// Where an extractor metric's file is, and the `sha256` pin that names the one file it may load (a
// TorchScript file is code). Shared by the Frechet and CLIP metrics and by the runners' check of pinned
// files before any cell runs.
#include <string>

#include "core/params.h"
#include "metrics/metric.h"

namespace vdlab {

struct TinyTrainConfig;
struct TinyClipConfig;

// Where a tiny extractor's trained file lives in the cache (it may not exist yet); defined beside the
// training in tiny_extractors.cpp and tiny_clip.cpp.
std::string cached_tiny_extractor_path(const TinyTrainConfig& config, const std::string& cache_dir);
std::string cached_tiny_clip_path(const TinyClipConfig& config, const std::string& cache_dir);

// Where the extractor a metric names is now, without loading or training anything: a standard one in
// the weights folder, a tiny one trained earlier into the cache; "" when it is not there (yet).
std::string extractor_file(const std::string& name, const Json& tiny_train, const MetricContext& ctx);

// A metric's pin ("" for none) and its field path, for Extractor::load.
struct ExtractorPin {
  std::string sha256;
  std::string where;
};
// The parameter checked: all 64 hex digits or nothing (a ConfigError naming the field otherwise).
ExtractorPin extractor_pin(const Params& p);

// `entry` with an optional `sha256` parameter (listed by `vdlab list metrics`). It stays out of the
// resolved config unless given, so a metric config, and the scored configs of finished cells, are the
// same as before for every experiment that pins nothing.
MetricRegistry::Entry with_extractor_pin(MetricRegistry::Entry entry);

}  // namespace vdlab
