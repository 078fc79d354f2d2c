#pragma once
// The metric interface: a metric scores a set of generated videos against a set of real ones.
#include <memory>
#include <string>
#include <vector>

#include "core/params.h"
#include "core/registry.h"
#include "datasets/video.h"
#include "results/metric_value.h"

namespace vdlab {

struct VideoSet {
  std::vector<Video> videos;
  std::vector<std::string> captions;  // per video, may be empty
  std::string content_hash;           // identifies the set (a split's hash); keys cached statistics
  Json source = Json::object();       // what the set is, for provenance
};

struct MetricContext {
  std::string weights_dir;  // extractor files (inception-2015-12-05.pt, i3d_torchscript.pt, clip)
  std::string cache_dir;    // reference statistics cache (HDF5)
  std::string device = "cpu";
  uint64_t seed = 0;        // for protocols that draw (random clip offsets)
  std::string features_dir; // when set, extractor metrics store the generated set's features here (per cell)
};

class Metric {
 public:
  virtual ~Metric() = default;
  // One or more values (a metric may report its per-sample values and variants of its key).
  virtual std::vector<MetricValue> compute(const VideoSet& real, const VideoSet& fake, MetricContext& ctx) = 0;
};

using MetricPtr = std::shared_ptr<Metric>;
using MetricRegistry = Registry<MetricPtr>;

MetricRegistry& metric_registry();
void register_builtin_metrics();

}  // namespace vdlab
