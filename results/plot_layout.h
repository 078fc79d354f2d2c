#pragma once
// The geometry of a line plot, shared by every renderer (SVG text in svg_plot.h, PNG and PDF through
// cairo in cairo_plot.h), so the same series look the same in each: data ranges padded to fit error
// bars, rounded ticks, and the data-to-pixel mapping.
#include <string>
#include <vector>

#include "results/svg_plot.h"

namespace vdlab {

struct PlotLayout {
  double width = 640, height = 400, left = 70, right = 170, top = 40, bottom = 55;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;  // data range shown
  std::vector<double> x_ticks, y_ticks;
  double plot_width() const { return width - left - right; }
  double plot_height() const { return height - top - bottom; }
  double px(double x) const { return left + (x - x0) / (x1 - x0) * plot_width(); }
  double py(double y) const { return top + (1 - (y - y0) / (y1 - y0)) * plot_height(); }
};

PlotLayout line_plot_layout(const std::vector<PlotSeries>& series);

// About five ticks at 1, 2 or 5 times a power of ten covering [lo, hi].
std::vector<double> plot_ticks(double lo, double hi);
std::string tick_text(double v);
// The colour of the k-th series ("#1f77b4", ...).
const char* series_colour(std::size_t k);

}  // namespace vdlab
