#pragma once
// Line plots as standalone SVG text: readable in a browser and in a Markdown viewer, diffable in git,
// and written without a plotting library.
#include <string>
#include <vector>

namespace vdlab {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;
  std::vector<double> error;  // half-length of an error bar per point; empty for none
};

// One line (with point markers and optional error bars) per series, linear axes with rounded ticks, a
// legend. Points with a non-finite y are left out.
std::string svg_line_plot(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<PlotSeries>& series);

}  // namespace vdlab
