#pragma once
// A seed paper's reproduction report (`results/paper/<name>/`): the paper's tables with our values and
// the published ones beside them, figures, and a verdict per claim, built from an experiment's `paper:`
// section and its finished cells. Records in, text out: the `paper-report` command reads the cell files
// and writes what this returns.
//
// The `paper:` section (every field but `tables` optional):
//   title, source, setup              text for the report's head
//   tables: [{name, rows: [{label, variant}], columns: [COLUMN], published: {ROW: {COLUMN TITLE: v}},
//             published_note}]
//   figures: [{name, column: COLUMN, x_label, y_label, series: [{label, points: [{x, variant}]} |
//             {label, variant, x: STAT.PATH, y: STAT.PATH}]}]   (the second form: a per-step curve stored as
//             arrays in each cell's stats, mean ± sd element-wise over seeds; `column` may then be left out)
//   claims: [{claim, table, column, increasing: [ROW...] | decreasing: [ROW...] |
//             best: {among: [ROW...], expected: [ROW...], better: lower|higher}} | {claim, untestable: why}]
//             (each may add `theirs:` what the source reports, and `note:`); with `across: ROW` instead of
//             `column`, increasing/decreasing list column titles, ordered within that one row
// COLUMN: {title, metric: KEY or NAME | stat: DOTTED.PATH | timing: KEY, relative_to: VARIANT, percent, speedup}.
// A value is the mean (± standard deviation) over seeds of the cells planned under the row's variant
// label; with `relative_to`, per seed (v - b) / b against the baseline variant's cell of the same seed, or
// with `speedup: true` b / v (how many times faster than the baseline, for seconds or NFE).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/params.h"
#include "results/cell_file.h"

namespace vdlab {

struct PaperCell {
  std::string label;  // the variant label it was planned under
  std::uint64_t seed = 0;
  CellRecord record;
};

struct PaperReportInput {
  Json paper;                        // the experiment's `paper:` section
  std::vector<PaperCell> cells;      // finished cells (one per label a cell was planned under)
  std::vector<std::string> missing;  // ids of planned cells that are not finished
  // {vdlab_version, git_commit, host, cores, date, command, experiment, run_dir}
  Json provenance = Json::object();
};

struct PaperFigure {
  std::string file;  // file name (no folder), ".svg"
  std::string svg;
};

struct PaperReport {
  std::string markdown;  // report.md
  std::string csv;       // tables.csv: one line per cell value behind every number, with its provenance
  std::vector<PaperFigure> figures;
};

// Throws ConfigError naming the field (`paper.tables[0].columns[1].metric: ...`) when a column or claim
// cannot be computed from the records: a metric name several keys share, a claim naming an unknown row.
PaperReport build_paper_report(const PaperReportInput& input);

// Checks the shape of a `paper:` section (field names and types) before anything runs.
void validate_paper_section(const Json& paper, const std::string& where = "paper");

}  // namespace vdlab
