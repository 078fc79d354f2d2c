#pragma once
// Reference statistics cached in HDF5 (METRICS.md, Caching): one file per key under
// <cache_dir>/reference-stats/, keyed by the real split's content hash, the protocol (JSON) and the
// extractor file's SHA-256. A file is reused only when every stored key equals the asked one; any
// mismatch or a missing file recomputes. Files are written to a temp name and renamed, and open in h5py:
// attributes split_hash, protocol (JSON text), extractor_sha256, count; datasets mean [D] and scatter [D, D].
//
// Generated-sample features are written per cell with write_features (a dataset "features" [N, D],
// float32, with the metric key, protocol and extractor as attributes).
#include <optional>
#include <string>

#include "core/params.h"
#include "metrics/extractors/extractor.h"
#include "metrics/feature_stats.h"

namespace vdlab {

struct StatsKey {
  std::string split_hash;
  Json protocol = Json::object();
  std::string extractor_sha256;
  Json to_json() const;
  std::string id() const;  // config hash of to_json()
};

class StatsCache {
 public:
  explicit StatsCache(std::string dir) : dir_(std::move(dir)) {}
  bool enabled() const { return !dir_.empty(); }
  std::string path(const StatsKey& key) const;
  // The stored statistics when a file with exactly this key exists; nullopt otherwise.
  std::optional<FeatureStats> load(const StatsKey& key) const;
  // Returns the file written.
  std::string store(const StatsKey& key, const FeatureStats& stats) const;

 private:
  std::string dir_;
};

void write_features(const std::string& path, const std::string& metric_key, const Features& features,
                    const Json& protocol);
// `protocol`, when given, receives the protocol stored with the features.
Features read_features(const std::string& path, Json* protocol = nullptr);

}  // namespace vdlab
