#pragma once
// The metric interface: a metric scores a set of generated videos against a set of real ones.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/params.h"
#include "core/registry.h"
#include "datasets/video.h"
#include "results/metric_value.h"

namespace vdlab {

// A set of videos to score. Small sets are held in `videos`; a set too large to hold (2048 clips of
// 16 x 256 x 256 are 6.4 GB of pixels) is streamed: videos are read on demand by index, one batch at a
// time, so a metric's memory is bounded by its batch and not by the clip count. Metrics read a set only
// through size() and for_each_batch(), whichever way it is held.
class VideoSet {
 public:
  using Reader = std::function<Video(std::size_t index)>;
  using BatchFn = std::function<void(std::size_t first, const std::vector<const Video*>& batch)>;

  std::vector<Video> videos;          // an in-memory set (empty for a streamed one)
  std::vector<std::string> captions;  // per video, may be empty
  std::string content_hash;           // identifies the set (a split's hash); keys cached statistics
  Json source = Json::object();       // what the set is, for provenance
  // Per video, or empty: the raw generated values held NaN or Inf. Pixels are finite by construction
  // (uint8), so whoever quantises a model's output records this for the metrics that judge it (stability).
  std::vector<bool> non_finite;

  VideoSet() = default;
  // `count` videos, video i read by reader(i) whenever a metric needs it (the same i gives the same video).
  static VideoSet streamed(std::size_t count, Reader reader);

  std::size_t size() const { return reader_ ? count_ : videos.size(); }
  bool empty() const { return size() == 0; }
  bool is_streamed() const { return bool(reader_); }
  // Calls fn with consecutive batches of at most `batch` videos, in index order. A streamed set reads each
  // batch just before the call and frees it after.
  void for_each_batch(std::size_t batch, const BatchFn& fn) const;
  // Video by video (a batch of one).
  void for_each(const std::function<void(std::size_t index, const Video&)>& fn) const;
  // Every video's frames, height and width as the metrics read them ([{frames, height, width}, ...],
  // null for a video no metric has read yet): what provenance records of a streamed set, which is
  // never held whole. Copies of a set share this log.
  Json video_shapes() const;

 private:
  std::size_t count_ = 0;
  Reader reader_;
  std::shared_ptr<std::map<std::size_t, std::tuple<int, int, int>>> shapes_ =
      std::make_shared<std::map<std::size_t, std::tuple<int, int, int>>>();
};

// The shapes of the videos a metric saw, as (frames, height, width) -> count: what a protocol records
// about a set (every video's size and length, not the first's).
class ShapeTally {
 public:
  void add(const Video& v) { ++counts_[{v.frames, v.height, v.width}]; }
  std::size_t videos() const;
  Json to_json() const;  // {videos, frames_total, shapes: [{frames, height, width, count}, ...]}

 private:
  std::map<std::tuple<int, int, int>, std::size_t> counts_;
};

// A metric's key, the one name it has in the report, the CSV, the cell file's HDF5 group and the metrics
// JSON: name[part,part,...] ("fvd[tiny-i3d,f8]"), or the bare name without parts. Parts are separated by
// ',' (never '/', which HDF5 reads as a path separator).
constexpr char kMetricKeySeparator = ',';
std::string metric_key(const std::string& name, const std::vector<std::string>& parts);

struct MetricContext {
  std::string weights_dir;  // extractor files (inception-2015-12-05.pt, i3d_torchscript.pt, clip)
  std::string cache_dir;    // vdlab's cache folder: reference statistics and tiny extractors (see below)
  std::string device = "cpu";
  uint64_t seed = 0;        // for protocols that draw (random clip offsets)
  std::string features_dir; // when set, extractor metrics store the generated set's features here (per cell)
};

// Where metrics keep what they cache under vdlab's cache folder: one place for `vdlab run`, `vdlab cell`
// and `vdlab metrics`, so a tiny extractor trained by one is reused by the others.
std::string reference_stats_dir(const std::string& cache_dir);  // <cache>/stats
std::string tiny_extractor_dir(const std::string& cache_dir);   // <cache>/extractors

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
