#pragma once
// One metric's outcome for one cell, as results files store it. A value is meaningful only with its
// protocol: the extractor's SHA-256, counts, frames and resolution travel with it (METRICS.md).
#include <limits>
#include <string>
#include <vector>

#include "core/params.h"

namespace vdlab {

struct MetricValue {
  std::string key;  // the column name: "fvd[tiny-i3d]", "fid[inception-2015-12-05]", "mm", "clip_sim"
  double value = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> per_sample;  // one value per generated video when the metric has one
  bool higher_is_better = false;
  bool skipped = false;
  std::string skip_reason;         // why, when skipped (a missing extractor file, ...)
  Json protocol = Json::object();  // protocol name, extractor path and sha256, sample counts, frames, size
};

}  // namespace vdlab
