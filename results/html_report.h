#pragma once
// report.html, written by `vdlab collect`: one static page (no server, no network, nothing fetched) that
// shows a sweep so a researcher looks rather than reads: the summary tables, the plots, and for each
// split, seed and sample index one row of every variant's video of that sample side by side, under the
// caption they were generated for (same seed, same caption: only the variant differs along a row).
//
// The page checks itself: an inline script records whether every image and video element loaded
// (data-load="ok" or "error" on each element, a summary in #media-status with data-total, data-loaded,
// data-failed and data-done) and counts script errors, so a headless browser, or a person, sees a broken
// file at once.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/params.h"
#include "results/sweep_summary.h"

namespace vdlab {

struct HtmlSampleRow {
  std::string split;
  std::uint64_t seed = 0;
  std::size_t index = 0;    // sample index within the cell (clip index of the split)
  std::string caption;      // what the samples were generated for ("" when unconditional)
  std::vector<std::pair<std::string, std::string>> videos;  // (variant label, file relative to the page); "" for none
};

struct HtmlPlot {
  std::string title, png, pdf;  // files relative to the page
};

struct HtmlReportInput {
  std::string title;
  std::vector<SummaryRow> summary;  // summarise_sweep
  double confidence = 0.95;
  std::vector<std::string> variants;  // column order of the sample rows
  std::vector<HtmlSampleRow> samples;
  std::vector<HtmlPlot> plots;
  std::string grid_png;  // a labelled contact sheet, relative to the page ("" for none)
  std::vector<std::pair<std::string, std::string>> files;  // (what, file relative to the page): tables, sweep.h5
  std::vector<std::string> notes;  // skipped metrics, warnings
  Json provenance = Json::object();
};

std::string html_report(const HtmlReportInput& input);

// Text safe inside HTML elements and attribute values.
std::string html_escape(const std::string& text);

}  // namespace vdlab
