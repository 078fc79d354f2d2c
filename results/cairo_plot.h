#pragma once
// Line plots as PNG (for pages and reports) and PDF (vector, for papers), drawn with cairo from the
// same layout as the SVG plots (results/plot_layout.h): one line per series with point markers and
// error bars, rounded ticks, a legend.
#include <string>
#include <vector>

#include "results/svg_plot.h"

namespace vdlab {

// The format follows the extension of `path` (.png or .pdf). Written atomically; throws IoError naming
// the file when cairo cannot write it, ConfigError for another extension.
void write_line_plot(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<PlotSeries>& series);

}  // namespace vdlab
