#pragma once
// `vdlab paper-report EXPERIMENT.yaml --out RUN --to results/paper/<name>`: a seed paper's reproduction
// report from the experiment's `paper:` section and the finished cells of a run (results/paper_report.h).
#include "results/paper_report.h"
#include "runners/cli.h"
#include "runners/experiment.h"

namespace vdlab {

Command paper_report_command();

// The report's inputs as read from `run_dir`: every planned cell whose file is finished with the planned
// hash (once per label it was planned under), the ids of the others, and the provenance of the run.
PaperReportInput read_paper_report_input(const Experiment& experiment, const std::string& run_dir);

}  // namespace vdlab
