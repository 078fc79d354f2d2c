#pragma once
// `vdlab metrics --real SRC --fake SRC --metrics fvd,fid,...`: scores two sets of videos without an
// experiment file (DESIGN.md, CLI).
#include <string>
#include <vector>

#include "results/metric_value.h"
#include "runners/cli.h"

namespace vdlab {

Command metrics_command();

// The table `vdlab metrics` prints: metric, value, notes, each column as wide as its widest cell.
std::string format_metrics_table(const std::vector<MetricValue>& values);

}  // namespace vdlab
