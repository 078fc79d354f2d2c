#pragma once
// `vdlab collect DIR`: gathers the finished cells of a run or a cluster sweep into sweep.h5 and
// cells.csv (one long table, results/sweep.h), summary tables grouped by variant, split and metric key
// (Markdown, CSV, LaTeX), plots of each metric against each swept numeric parameter with confidence
// intervals over seeds (PNG, PDF, SVG), optional relative metrics against a baseline variant, and
// report.html with every variant's samples side by side (results/html_report.h).
#include <string>
#include <vector>

#include "results/sweep.h"
#include "runners/cli.h"

namespace vdlab {

Command collect_command();

// The finished cells of an output folder as a sweep. With DIR/experiment.json the cells are those of its
// plan whose file has the planned hash, each under every label it was planned under; without it, every
// cell file, labelled from its id. Cells it leaves out (unreadable, not in the plan) are named in
// `warnings`. Throws ConfigError when DIR has no cells/ folder or no finished cell.
Sweep collect_sweep(const std::string& dir, std::vector<std::string>& warnings);

}  // namespace vdlab
