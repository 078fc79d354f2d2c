#include "results/cairo_plot.h"

#include <cairo-pdf.h>
#include <cairo.h>

#include <cmath>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "results/plot_layout.h"

namespace vdlab {

namespace {

// PNGs are drawn at twice the layout's size so that text stays sharp on high-density screens.
constexpr double kPngScale = 2.0;

void set_colour(cairo_t* cr, const std::string& hex) {
  const unsigned long rgb = std::stoul(hex.substr(1), nullptr, 16);
  cairo_set_source_rgb(cr, double((rgb >> 16) & 0xff) / 255, double((rgb >> 8) & 0xff) / 255, double(rgb & 0xff) / 255);
}

enum class Anchor { start, middle, end };

void text(cairo_t* cr, double x, double y, const std::string& s, Anchor anchor, double size = 12) {
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  const double dx = anchor == Anchor::start ? 0 : anchor == Anchor::middle ? -e.x_advance / 2 : -e.x_advance;
  cairo_move_to(cr, x + dx, y);
  cairo_show_text(cr, s.c_str());
}

void line(cairo_t* cr, double x1, double y1, double x2, double y2, double width = 1) {
  cairo_set_line_width(cr, width);
  cairo_move_to(cr, x1, y1);
  cairo_line_to(cr, x2, y2);
  cairo_stroke(cr);
}

void draw(cairo_t* cr, const PlotLayout& l, const std::string& title, const std::string& x_label,
          const std::string& y_label, const std::vector<PlotSeries>& series) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  text(cr, l.width / 2, 22, title, Anchor::middle, 14);
  const double pw = l.plot_width(), ph = l.plot_height();
  for (double t : l.x_ticks) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    line(cr, l.px(t), l.top + ph, l.px(t), l.top + ph + 5);
    text(cr, l.px(t), l.top + ph + 18, tick_text(t), Anchor::middle);
  }
  for (double t : l.y_ticks) {
    set_colour(cr, "#e6e6e6");
    line(cr, l.left, l.py(t), l.left + pw, l.py(t));
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, l.left - 6, l.py(t) + 4, tick_text(t), Anchor::end);
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, l.left, l.top, pw, ph);
  cairo_stroke(cr);
  text(cr, l.left + pw / 2, l.height - 12, x_label, Anchor::middle);
  cairo_save(cr);
  cairo_translate(cr, 16, l.top + ph / 2);
  cairo_rotate(cr, -M_PI / 2);
  text(cr, 0, 0, y_label, Anchor::middle);
  cairo_restore(cr);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const std::string colour = series_colour(k);
    set_colour(cr, colour);
    bool started = false;
    cairo_set_line_width(cr, 2);
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      if (!started) cairo_move_to(cr, l.px(s.x[i]), l.py(s.y[i]));
      else cairo_line_to(cr, l.px(s.x[i]), l.py(s.y[i]));
      started = true;
    }
    cairo_stroke(cr);
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      if (i < s.error.size() && std::isfinite(s.error[i]) && s.error[i] > 0) {
        const double x = l.px(s.x[i]), lo = l.py(s.y[i] - s.error[i]), hi = l.py(s.y[i] + s.error[i]);
        line(cr, x, lo, x, hi);
        line(cr, x - 4, lo, x + 4, lo);  // caps, so an interval reads as one
        line(cr, x - 4, hi, x + 4, hi);
      }
      cairo_arc(cr, l.px(s.x[i]), l.py(s.y[i]), 3, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    const double ly = l.top + 10 + 18 * double(k);
    line(cr, l.left + pw + 12, ly, l.left + pw + 32, ly, 2);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, l.left + pw + 38, ly + 4, s.label, Anchor::start);
  }
}

void check(cairo_status_t status, const std::string& path) {
  if (status != CAIRO_STATUS_SUCCESS) throw IoError(path + ": cannot write plot (" + cairo_status_to_string(status) + ")");
}

}  // namespace

void write_line_plot(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<PlotSeries>& series) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext != ".png" && ext != ".pdf") throw ConfigError(path + ": a plot is written as .png or .pdf");
  const PlotLayout layout = line_plot_layout(series);
  AtomicFile out(path);
  cairo_surface_t* surface =
      ext == ".png" ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, int(layout.width * kPngScale), int(layout.height * kPngScale))
                    : cairo_pdf_surface_create(out.temp_path().c_str(), layout.width, layout.height);
  cairo_t* cr = cairo_create(surface);
  if (ext == ".png") cairo_scale(cr, kPngScale, kPngScale);
  draw(cr, layout, title, x_label, y_label, series);
  cairo_status_t status = cairo_status(cr);
  cairo_destroy(cr);
  if (status == CAIRO_STATUS_SUCCESS) {
    if (ext == ".png") status = cairo_surface_write_to_png(surface, out.temp_path().c_str());
    else cairo_surface_finish(surface);
  }
  if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface);
  cairo_surface_destroy(surface);
  check(status, path);
  out.commit();
}

}  // namespace vdlab
