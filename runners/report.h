#pragma once
// What a finished run shows a person: a Markdown table (mean and standard deviation over seeds per
// variant, every metric, NFE, time), a CSV of every cell, sample videos (mp4) and a PNG grid of frames
// (four real clips of the split, then four samples of each variant, one row each).
#include <string>
#include <vector>

#include "runners/cell_runner.h"

namespace vdlab {

struct ReportFiles {
  std::string table_md, table_csv, grid_png;
  std::vector<std::string> videos;
};

// Reads the finished cell files of `cells` under options.out_dir and writes the report there.
ReportFiles write_report(const Experiment& experiment, const std::vector<CellSpec>& cells, const RunOptions& options);

}  // namespace vdlab
