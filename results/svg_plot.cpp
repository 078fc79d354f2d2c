#include "results/svg_plot.h"

#include <cmath>
#include <sstream>

#include "results/plot_layout.h"

namespace vdlab {

namespace {

std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

}  // namespace

std::string svg_line_plot(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<PlotSeries>& series) {
  const PlotLayout layout = line_plot_layout(series);
  const double width = layout.width, height = layout.height, left = layout.left, top = layout.top;
  const double pw = layout.plot_width(), ph = layout.plot_height();
  auto px = [&](double x) { return layout.px(x); };
  auto py = [&](double y) { return layout.py(y); };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" << escaped(title) << "</text>\n";
  for (double t : layout.x_ticks)
    o << "<line x1=\"" << px(t) << "\" y1=\"" << top + ph << "\" x2=\"" << px(t) << "\" y2=\"" << top + ph + 5
      << "\" stroke=\"black\"/><text x=\"" << px(t) << "\" y=\"" << top + ph + 18 << "\" text-anchor=\"middle\">"
      << tick_text(t) << "</text>\n";
  for (double t : layout.y_ticks)
    o << "<line x1=\"" << left << "\" y1=\"" << py(t) << "\" x2=\"" << left + pw << "\" y2=\"" << py(t)
      << "\" stroke=\"#e6e6e6\"/><text x=\"" << left - 6 << "\" y=\"" << py(t) + 4 << "\" text-anchor=\"end\">"
      << tick_text(t) << "</text>\n";
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"black\"/>\n"
    << "<text x=\"" << left + pw / 2 << "\" y=\"" << height - 12 << "\" text-anchor=\"middle\">" << escaped(x_label) << "</text>\n"
    << "<text transform=\"translate(16," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">" << escaped(y_label)
    << "</text>\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* colour = series_colour(k);
    std::ostringstream line;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      line << px(s.x[i]) << "," << py(s.y[i]) << " ";
      if (i < s.error.size() && std::isfinite(s.error[i]) && s.error[i] > 0)
        o << "<line x1=\"" << px(s.x[i]) << "\" y1=\"" << py(s.y[i] - s.error[i]) << "\" x2=\"" << px(s.x[i])
          << "\" y2=\"" << py(s.y[i] + s.error[i]) << "\" stroke=\"" << colour << "\"/>\n";
      o << "<circle cx=\"" << px(s.x[i]) << "\" cy=\"" << py(s.y[i]) << "\" r=\"3\" fill=\"" << colour << "\"/>\n";
    }
    o << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"" << line.str() << "\"/>\n";
    const double ly = top + 10 + 18 * double(k);
    o << "<line x1=\"" << left + pw + 12 << "\" y1=\"" << ly << "\" x2=\"" << left + pw + 32 << "\" y2=\"" << ly
      << "\" stroke=\"" << colour << "\" stroke-width=\"2\"/><text x=\"" << left + pw + 38 << "\" y=\"" << ly + 4
      << "\">" << escaped(s.label) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace vdlab
