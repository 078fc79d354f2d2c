#pragma once
// One HDF5 file per cell (DESIGN.md, Results). Layout, readable with h5py and no vdlab:
//   /                 attrs: format ("vdlab-cell/1"), id, hash, config (canonical JSON), provenance (JSON),
//                            stats (JSON: NFE, method measurements), timings (JSON, seconds),
//                            inputs (JSON: what the videos were made from: the split's content hash and
//                            the SHA-256 of every weights file loaded),
//                            scored (JSON list: each metric config scored, the keys it gave and the files
//                            it loaded, with their SHA-256)
//   /metrics/<key>    group per metric; attrs value, higher_is_better, skipped, skip_reason, protocol (JSON);
//                     dataset per_sample (float64) when the metric has per-sample values
//   /samples          uint8 [N, F, H, W, 3] (optional), chunked per video, shuffled, deflated
//   /captions         the captions the samples were generated for (optional)
// Files are written under a temporary name and renamed when complete (core/atomic_file.h).
//
// A samples file (write_samples_file) holds only /samples and /captions: where a cell keeps its videos
// when they are not saved in the cell file, so that metrics can be added later without generating.
#include <string>
#include <vector>

#include "core/params.h"
#include "datasets/video.h"
#include "results/metric_value.h"

namespace vdlab {

struct CellRecord {
  std::string id;
  std::string hash;
  Json config = Json::object();      // the resolved cell config; `hash` is its config_hash
  Json provenance = Json::object();  // code version, library versions, device, host, threads, seed, ...
  Json stats = Json::object();
  Json timings = Json::object();
  // {"dataset": {"content_hash": ...}, "files": {ROLE: {"path": ..., "sha256": ...}}}
  Json inputs = Json::object();
  // [{"config": resolved metric config, "keys": [metric keys], "files": [{"path", "sha256"}]}]
  Json scored = Json::array();
  std::vector<MetricValue> metrics;
  std::vector<Video> samples;        // may be empty
  std::vector<std::string> captions;
};

inline constexpr const char* kCellFormat = "vdlab-cell/1";

// Atomic: the file at `path` appears complete or not at all.
void write_cell(const CellRecord& cell, const std::string& path);
// Throws IoError naming the file when it is missing, corrupt or not a cell file.
CellRecord read_cell(const std::string& path, bool with_samples = false);
// Only the generated videos and their captions, atomically (the same layout as in a cell file).
void write_samples_file(const std::vector<Video>& samples, const std::vector<std::string>& captions,
                        const std::string& path);
// Throws IoError naming the file when it is missing or unreadable.
void read_samples_file(const std::string& path, std::vector<Video>& samples, std::vector<std::string>& captions);

// The stored hash, or "" when the file is missing or unreadable (a finished-cell check; never throws).
std::string read_cell_hash(const std::string& path);

}  // namespace vdlab
