#pragma once
// What a finished run shows a person: a Markdown table (mean and standard deviation over seeds per
// variant and split, every metric, NFE, time), a CSV of every cell, sample videos (mp4) and a PNG grid
// of frames with a label on every row (four real clips of each split, then four samples of each
// variant on it).
//
// Nothing that must stay apart is pooled: a row is a (variant, split) pair, each split has its own
// reference row (the noise floor: its real training clips scored against it), and a column is a metric key together with the
// extractor file behind it (the same key computed with two different extractor files is two columns).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "results/cell_file.h"
#include "runners/cell_runner.h"

namespace vdlab {

struct ReportFiles {
  std::string table_md, table_csv, grid_png;
  std::vector<std::string> videos;
};

// Reads the finished cell files of `cells` under options.out_dir and writes the report there.
ReportFiles write_report(const Experiment& experiment, const std::vector<CellSpec>& cells, const RunOptions& options);

// The split a cell was evaluated on: a display name ("moving-shapes:test", with the config hash's start
// when two configs share it) and its identity (the dataset config's hash).
struct SplitName {
  std::string key;      // config_hash of the dataset config
  std::string display;  // for people
};

// The report's tables from records alone (no files): `cells` are finished cells with their records, in
// plan order; `references` holds each split's real-vs-real values by split key.
struct ReportTables {
  std::string markdown;
  std::string csv;
  std::vector<std::pair<std::string, SplitName>> rows;  // (variant label, split) in table order
};
ReportTables build_report_tables(const std::string& title, std::size_t seeds,
                                 const std::vector<std::pair<CellSpec, CellRecord>>& cells,
                                 const std::map<std::string, std::vector<MetricValue>>& references);

// The real clips a split's reference row scores against it: the same dataset config with split train
// (the noise floor), or the split itself when it has no split field or is the training split.
Json noise_floor_split(const Json& dataset);

// Display names of every distinct dataset config among the cells (plan order).
std::vector<std::pair<Json, SplitName>> split_names(const std::vector<CellSpec>& cells);

}  // namespace vdlab
