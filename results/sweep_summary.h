#pragma once
// What `vdlab collect` shows of a sweep: values grouped by (variant, dataset split, metric key,
// protocol, extractor file), never pooled across any of them, each group summarised over seeds (mean,
// standard deviation and a Student-t confidence interval of the mean), as Markdown, CSV and LaTeX
// (booktabs); and the data of plots of a metric against each swept numeric parameter.
#include <string>
#include <vector>

#include "results/svg_plot.h"
#include "results/sweep.h"

namespace vdlab {

struct SummaryRow {
  std::string label, split, split_hash, metric, protocol, extractor_sha256;
  bool higher_is_better = false;
  bool derived = false;  // a relative metric collect computed
  std::vector<double> values;  // one per seed (finite values only)
  double mean = 0, sd = 0, ci_low = 0, ci_high = 0;  // ci: NaN with fewer than two seeds
};

// Mean and Student-t interval of the mean: mean ± t_{(1+c)/2, n-1} sd / sqrt(n); NaN bounds for n < 2.
void t_interval(const std::vector<double>& values, double confidence, double& mean, double& sd, double& low, double& high);

// Groups in first-seen order of splits, then labels, then metric columns.
std::vector<SummaryRow> summarise_sweep(const Sweep& sweep, double confidence = 0.95);

struct SweepTables {
  std::string markdown, csv, latex;
};
SweepTables sweep_tables(const std::vector<SummaryRow>& rows, const std::string& title, double confidence);

// A plot of one metric column on one split against one swept numeric parameter: a series per
// combination of the other swept parameters, a point per value of the parameter (mean over seeds),
// error bars the half-width of the confidence interval.
struct SweepPlot {
  std::string file_stem;  // file-name safe, unique within a sweep
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;
};
std::vector<SweepPlot> sweep_plots(const Sweep& sweep, double confidence = 0.95);

// LaTeX text with its special characters escaped.
std::string latex_escape(const std::string& text);

}  // namespace vdlab
